/**
 * Federated averaging (FedAvg; McMahan et al., "Communication-Efficient Learning of Deep
 * Networks from Decentralized Data", AISTATS 2017, Algorithm 1) as the honest baseline of
 * split learning: the same engine, the same compiled step graph of the whole model, the
 * same optimizer kind and learning rate, the same partitions and the same total epochs.
 *
 * Each round, every clinic (in turn, in one process) starts from the global weights,
 * trains the whole model on its own samples for `localEpochs` epochs with a *fresh*
 * optimizer (FedAvg sends weights only; Adam moments stay local and are not carried to
 * the next round, the usual choice in FL libraries such as Flower's FedAvg with a client
 * optimizer re-created per fit), and sends its weights back. The server averages them
 * weighted by sample count — the parameters *and* the BatchNorm running statistics.
 * Rounds × local epochs = epochs; the global model is validated after every round and the
 * round with the best validation AUC is kept.
 *
 * Traffic is measured like the split runs ({@linkcode WireLink}): per round each clinic
 * receives the global weights (down) and sends its weights (up), encoded with the wire
 * codec and sealed on a real Noise channel.
 *
 * @example
 * ```ts
 * import { trainFedAvg } from "./fedavg.ts";
 * // const r = await trainFedAvg({ engine, model, loss: "bce", data, clinics: [a, b], rounds: 4,
 * //   localEpochs: 1, batchSize: 64, optimizer: { kind: "adam", lr: 1e-3 }, seed: 0 });
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { Model } from "../../models/graph/ir.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { compileModel } from "../../models/train/compile.ts";
import { createOptimizer, type OptimizerConfig } from "../../models/train/optimizer.ts";
import type { BundleOptions } from "../codec/mod.ts";
import { batches } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import type { Batch } from "../data/tensor_dataset.ts";
import type { Engine } from "../engine/mod.ts";
import { type DataSplits, evaluate, snapshot } from "./central.ts";
import type { Metrics } from "./metrics.ts";
import { Pipeline } from "./pipeline.ts";
import {
  batchSizes,
  type ClinicReport,
  segmentStepFlops,
  type SimEpoch,
  type SimResult,
  WireLink,
  workingSetBytes,
} from "./split_sim.ts";

/**
 * The sample-weighted mean of float32 weight maps (FedAvg's aggregation): Σ_k w_k·x_k / Σ_k w_k,
 * accumulated in float64. Every map must hold the same names and shapes.
 *
 * @throws {RangeError} for mismatched maps, no maps, or weights that are not positive
 * @example
 * ```ts
 * import { averageWeights } from "./fedavg.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const a = new Map([["w", tensor("float32", [2], new Float32Array([0, 4]))]]);
 * const b = new Map([["w", tensor("float32", [2], new Float32Array([4, 0]))]]);
 * averageWeights([a, b], [3, 1]).get("w")!.data; // Float32Array [1, 3]
 * ```
 */
export function averageWeights(models: readonly ReadonlyMap<string, Tensor>[], weights: readonly number[]): Map<string, Tensor> {
  if (models.length === 0 || models.length !== weights.length) {
    throw new RangeError(`averageWeights needs one weight per model, got ${models.length} models and ${weights.length} weights`);
  }
  if (weights.some((w) => !(w > 0) || !Number.isFinite(w))) throw new RangeError(`weights must be finite and > 0, got [${weights}]`);
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Map<string, Tensor>();
  for (const [name, t0] of models[0]) {
    const acc = new Float64Array(t0.data.length);
    models.forEach((m, k) => {
      const t = m.get(name);
      if (!t || t.data.length !== acc.length || t.dtype !== "float32") {
        throw new RangeError(`model ${k}: weight ${JSON.stringify(name)} is missing or not float32 [${t0.dims}]`);
      }
      const d = t.data as Float32Array, w = weights[k] / total;
      for (let i = 0; i < acc.length; i++) acc[i] += w * d[i];
    });
    out.set(name, { dtype: "float32", dims: [...t0.dims], data: Float32Array.from(acc) });
  }
  for (const [k, m] of models.entries()) {
    if (m.size !== models[0].size) throw new RangeError(`model ${k} has ${m.size} weights, model 0 has ${models[0].size}`);
  }
  return out;
}

/** Options of {@linkcode trainFedAvg}. */
export interface FedAvgOptions {
  engine: Engine;
  model: Model;
  loss: LossKind;
  data: DataSplits;
  /** Training-sample indices of each clinic (into `data.train`). */
  clinics: readonly ArrayLike<number>[];
  rounds: number;
  /** Local epochs per round (E); total epochs = rounds × E. */
  localEpochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  seed: number;
  augment?: (batch: Batch, rng: Rng) => Batch;
  codec?: BundleOptions;
  evalBatchSize?: number;
  onEpoch?: (e: SimEpoch) => void;
}

/**
 * Trains with FedAvg (see the module doc). History entries are per round, numbered by
 * the epoch they end (round × E).
 *
 * @throws {RangeError} for bad rounds, local epochs or clinics
 * @example
 * ```ts
 * import { trainFedAvg } from "./fedavg.ts";
 * // (await trainFedAvg(opts)).test.auc
 * ```
 */
export async function trainFedAvg(o: FedAvgOptions): Promise<SimResult> {
  for (const [k, v] of [["rounds", o.rounds], ["localEpochs", o.localEpochs]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`${k} must be an integer >= 1, got ${v}`);
  }
  if (o.clinics.length < 1 || o.clinics.some((c) => c.length === 0)) {
    throw new RangeError(`clinics must be one or more non-empty index lists, got sizes [${o.clinics.map((c) => c.length)}]`);
  }
  const segments = compileModel(o.model, { loss: o.loss, seed: o.seed });
  const pipe = await Pipeline.create(o.engine, segments);
  const links = o.clinics.map(() => new WireLink(o.codec));
  const clinicSeconds = o.clinics.map(() => 0);
  const rng = new Rng(o.seed);
  let global = snapshot(pipe.weights());
  const history: SimEpoch[] = [];
  let best: { epoch: number; score: number; weights: Map<string, Tensor> } | undefined;
  const forward = (x: Record<string, Tensor>) => pipe.infer(x);
  const t0 = performance.now();
  for (let round = 1; round <= o.rounds; round++) {
    const r0 = performance.now();
    const locals: Map<string, Tensor>[] = [];
    let lossSum = 0, seen = 0;
    for (let k = 0; k < o.clinics.length; k++) {
      const received = links[k].down(Object.fromEntries(global));
      pipe.load(new Map(Object.entries(received)));
      const opts = [createOptimizer(o.optimizer)]; // fresh state each round (module doc)
      const s0 = performance.now();
      for (let e = 0; e < o.localEpochs; e++) {
        for (const idx of batches(o.clinics[k], o.batchSize, rng)) {
          const b = o.augment ? o.augment(o.data.train.take(idx), rng) : o.data.train.take(idx);
          const loss = await pipe.trainStep(b.inputs, b.target, opts);
          if (e === o.localEpochs - 1) (lossSum += loss * idx.length), (seen += idx.length);
        }
      }
      clinicSeconds[k] += (performance.now() - s0) / 1000;
      locals.push(new Map(Object.entries(links[k].up(Object.fromEntries(pipe.weights())))));
    }
    global = averageWeights(locals, o.clinics.map((c) => c.length));
    pipe.load(global);
    const val = await evaluate(forward, o.data.val, o.loss, o.evalBatchSize);
    const test = await evaluate(forward, o.data.test, o.loss, o.evalBatchSize);
    const rec: SimEpoch = {
      epoch: round * o.localEpochs,
      trainLoss: lossSum / seen,
      val: strip(val),
      test: strip(test),
      seconds: (performance.now() - r0) / 1000,
    };
    history.push(rec);
    const score = o.loss === "mse" || Number.isNaN(val.auc) ? -val.loss : val.auc;
    if (!best || score > best.score) best = { epoch: rec.epoch, score, weights: snapshot(global) };
    o.onEpoch?.(rec);
  }
  pipe.load(best!.weights);
  const test = await evaluate(forward, o.data.test, o.loss, o.evalBatchSize);
  await pipe.release();
  const E = o.rounds * o.localEpochs;
  const clinics: ClinicReport[] = o.clinics.map((idx, k) => {
    const sizes = batchSizes(idx.length, o.batchSize);
    return {
      clinic: k,
      samples: idx.length,
      batchesPerEpoch: sizes.length,
      bytesUpPerEpoch: links[k].bytesUp / E,
      bytesDownPerEpoch: links[k].bytesDown / E,
      relayUpPerEpoch: links[k].bytesUp / E,
      relayDownPerEpoch: links[k].bytesDown / E,
      flopsPerEpoch: sizes.reduce((a, b) => a + segmentStepFlops(segments[0], b), 0),
      secondsPerEpoch: clinicSeconds[k] / E,
      workingSetBytes: workingSetBytes(segments, Math.min(o.batchSize, idx.length), o.optimizer),
    };
  });
  return {
    history,
    bestEpoch: best!.epoch,
    test: strip(test),
    clinics,
    // The server only averages weights: no graph work (the averaging is ~2 FLOPs per
    // weight per clinic, on the host).
    server: { flopsPerEpoch: 0, secondsPerEpoch: 0 },
    wireSeconds: links.reduce((a, l) => a + l.seconds, 0),
    seconds: (performance.now() - t0) / 1000,
  };
}

function strip(m: Metrics): Metrics {
  return { loss: m.loss, auc: m.auc, accuracy: m.accuracy, samples: m.samples };
}
