/**
 * `deno task bench:paper [--quick] [--out <dir>] [--engine native|wasm|webgpu]
 *  [--seeds 0,1,2] [--clinics 2,4] [--datasets pneumoniamnist,diabetes130]`
 *
 * Reproduces the comparison of central training, FedAvg and split learning
 * (vanilla, U-shaped, and vanilla at the zoo model's alternate cut) on PneumoniaMNIST (zoo CNN) and
 * Diabetes 130 (zoo EHR network), with 2 and 4 clinics, IID and label-skewed
 * (Dirichlet α = 0.5) partitions of the *training* split; validation and test stay pooled.
 *
 * Same hyper-parameters for every method (printed and stored in results.json): Adam,
 * lr 1e-3, batch 64 (images) / 256 (EHR), 10 / 4 epochs (2 / 2 with --quick), random
 * shifts of up to 2 pixels on images for every method. FedAvg: one local epoch per round,
 * rounds = epochs. Split learning: sequential round-robin (runtime/train/split_sim.ts).
 * Every run re-initialises the model from the seed, so all methods of one seed start
 * from the same weights. `--quick`: one seed, 2 epochs, 2 clinics.
 *
 * Output in `--out` (default out/paper): results.json (every run, raw, written after
 * each run), results.md (tables computed from results.json) and SVG figures.
 *
 * @example
 * ```sh
 * deno task bench:paper --quick --out out/paper-quick
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import type { Model } from "../models/graph/ir.ts";
import { zooModel } from "../models/zoo/mod.ts";
import type { OptimizerConfig } from "../models/train/optimizer.ts";
import { loadDataset, type LoadedDataset } from "../runtime/data/load_dataset.ts";
import { partition } from "../runtime/data/partition.ts";
import { randomShift } from "../runtime/data/augment.ts";
import { Rng } from "../runtime/data/rng.ts";
import type { Batch } from "../runtime/data/tensor_dataset.ts";
import { createEngine, type EngineName } from "../runtime/engine/mod.ts";
import { type SimResult, trainSplitSim } from "../runtime/train/split_sim.ts";
import { trainFedAvg } from "../runtime/train/fedavg.ts";
import { writeReport } from "./paper_report.ts";

/** The wire codec of every run: lossless float32, no deflate, Padmé padding. */
const CODEC = { dtype: "float32", level: 0 } as const;
/** Batches per split-learning turn (see runtime/train/split_sim.ts `turnBatches`). */
const TURN_BATCHES = 4;

/** One run as stored in results.json. */
export interface PaperRun {
  dataset: string;
  /** `split-alternate`: vanilla at the zoo model's alternate cut (CNN: deeper; EHR: shallower). */
  /** `sequential-nocut`: the unsplit model trained on the split runs' clinic-by-clinic batch stream. */
  method: "central" | "fedavg" | "split-vanilla" | "split-ushaped" | "split-alternate" | "sequential-nocut";
  clinics: number;
  partition: "pooled" | "iid" | "dirichlet-0.5";
  seed: number;
  cuts: string[];
  epochs: number;
  batchSize: number;
  result: SimResult;
}

/** The whole file. */
export interface PaperResults {
  command: string[];
  quick: boolean;
  engine: string;
  machine: { os: string; arch: string; cpus: number; loadavg: number[] };
  hyper: Record<string, unknown>;
  startedAt: string;
  seconds: number;
  runs: PaperRun[];
}

const DATASETS = {
  pneumoniamnist: { file: "data/pneumoniamnist.npz", zoo: "cnn", batch: 64, epochs: 6, quickEpochs: 2 },
  diabetes130: { file: "data/diabetes130.zip", zoo: "ehr", batch: 256, epochs: 3, quickEpochs: 2 },
} as const;

const list = (v: string | undefined, fallback: number[]) =>
  v === undefined ? fallback : v.split(",").map((s) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`expected a comma-separated list of integers, got ${JSON.stringify(v)}`);
    return n;
  });

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string", default: "out/paper" },
      engine: { type: "string", default: "native" },
      seeds: { type: "string" },
      clinics: { type: "string" },
      datasets: { type: "string" },
    },
    strict: true,
  });
  const quick = values.quick!;
  const engineName = values.engine as EngineName;
  if (!["wasm", "webgpu", "native"].includes(engineName)) throw new TypeError(`--engine ${values.engine}: expected wasm, webgpu or native`);
  const seeds = list(values.seeds, quick ? [0] : [0, 1, 2]);
  const clinicCounts = list(values.clinics, quick ? [2] : [2, 4]);
  const names = (values.datasets ?? "pneumoniamnist,diabetes130").split(",");
  for (const n of names) if (!(n in DATASETS)) throw new TypeError(`--datasets: unknown ${JSON.stringify(n)}; expected ${Object.keys(DATASETS).join(", ")}`);
  const optimizer: OptimizerConfig = { kind: "adam", lr: 1e-3 };
  await Deno.mkdir(values.out!, { recursive: true });
  const results: PaperResults = {
    command: ["bench:paper", ...Deno.args],
    quick,
    engine: engineName,
    machine: { os: Deno.build.os, arch: Deno.build.arch, cpus: navigator.hardwareConcurrency, loadavg: Deno.loadavg() },
    hyper: {
      optimizer,
      datasets: Object.fromEntries(names.map((n) => {
        const d = DATASETS[n as keyof typeof DATASETS];
        return [n, { model: `zoo:${d.zoo}`, batchSize: d.batch, epochs: quick ? d.quickEpochs : d.epochs }];
      })),
      augment: "images: random shift up to 2 px, every method",
      fedavg: "1 local epoch per round, rounds = epochs, fresh optimizer state per round, sample-weighted mean of params and BN buffers",
      split: `sequential round-robin in turns of ${TURN_BATCHES} batches, clinic state (params, BN buffers, Adam state) relayed as a sealed box each turn`,
      partitions: "iid; label-dirichlet alpha 0.5 (training split only; val/test pooled)",
      codec: "float32 lossless, no DEFLATE (float activations barely compress and deflate costs more than it saves here), Padmé padding; Noise transport frames",
      seeds,
      clinics: clinicCounts,
    },
    startedAt: new Date().toISOString(),
    seconds: 0,
    runs: [],
  };
  const t0 = performance.now();
  const engine = await createEngine(engineName);
  const save = async () => {
    results.seconds = (performance.now() - t0) / 1000;
    await Deno.writeTextFile(`${values.out}/results.json`, JSON.stringify(results, null, 1) + "\n");
  };
  try {
    for (const name of names) {
      const d = DATASETS[name as keyof typeof DATASETS];
      const epochs = quick ? d.quickEpochs : d.epochs;
      const data: LoadedDataset = await loadDataset(d.file, { seed: 0 });
      console.log(data.description);
      const augment = data.kind === "image"
        ? (b: Batch, r: Rng): Batch => ({ ...b, inputs: { ...b.inputs, image: randomShift(b.inputs.image, 2, r) } })
        : undefined;
      const labels = data.train.target.data as Float32Array;
      for (const seed of seeds) {
        const fresh = () => {
          const rng = new Rng(seed);
          return zooModel(d.zoo, data, () => rng.float());
        };
        const common = (model: Model) => ({
          engine, model, loss: "bce" as const, data, batchSize: d.batch, optimizer, seed, augment, codec: CODEC,
        });
        const record = async (run: Omit<PaperRun, "result">, go: () => Promise<SimResult>) => {
          const s = performance.now();
          const result = await go();
          results.runs.push({ ...run, result });
          await save();
          const c = result.clinics;
          console.log(
            `${name} ${run.method.padEnd(13)} K=${run.clinics} ${run.partition.padEnd(13)} seed ${seed}: test AUC ${result.test.auc.toFixed(4)} ` +
              `acc ${result.test.accuracy.toFixed(4)}  clinic ${(c[0].flopsPerEpoch / 1e9).toFixed(2)} GFLOP/epoch  ` +
              `up ${(c[0].bytesUpPerEpoch / 1e6).toFixed(2)} MB/epoch  (${((performance.now() - s) / 1000).toFixed(0)} s)`,
          );
        };
        const all = Uint32Array.from({ length: data.train.size }, (_, i) => i);
        {
          const { model } = fresh();
          await record(
            { dataset: name, method: "central", clinics: 1, partition: "pooled", seed, cuts: [], epochs, batchSize: d.batch },
            () => trainSplitSim({ ...common(model), clinics: [all], cuts: [], epochs }),
          );
        }
        for (const K of clinicCounts) {
          for (const scheme of ["iid", "dirichlet-0.5"] as const) {
            const parts = partition({
              scheme: scheme === "iid" ? "iid" : "label-dirichlet",
              clinics: K,
              seed,
              labels: scheme === "iid" ? undefined : labels,
              count: labels.length,
              alpha: 0.5,
              minSize: d.batch,
            });
            const base = { dataset: name, clinics: K, partition: scheme, seed, epochs, batchSize: d.batch };
            {
              const { model } = fresh();
              await record(
                { ...base, method: "fedavg", cuts: [] },
                () => trainFedAvg({ ...common(model), clinics: parts, rounds: epochs, localEpochs: 1 }),
              );
            }
            for (const [method, pick] of [["split-vanilla", "default"], ["split-ushaped", "ushaped"], ["split-alternate", "alternate"]] as const) {
              const { model, cuts } = fresh();
              await record(
                { ...base, method, cuts: [...cuts[pick]] },
                () => trainSplitSim({ ...common(model), clinics: parts, cuts: cuts[pick], epochs, turnBatches: TURN_BATCHES }),
              );
            }
            {
              // Evidence for where a gap comes from: the same clinic-by-clinic batch stream
              // and turns, without any cut (the unsplit model, no wire). Split learning
              // computes exactly this, so a gap shared with this run is the data order's.
              const { model } = fresh();
              await record(
                { ...base, method: "sequential-nocut", cuts: [] },
                () => trainSplitSim({ ...common(model), clinics: parts, cuts: [], epochs, turnBatches: TURN_BATCHES }),
              );
            }
          }
        }
      }
    }
  } finally {
    await engine.dispose();
  }
  await save();
  await writeReport(results, values.out!);
  console.log(`done in ${results.seconds.toFixed(0)} s: ${values.out}/results.json, results.md, *.svg`);
}

if (import.meta.main) await main();
