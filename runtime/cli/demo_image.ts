/**
 * The image demo's run (`deno task demo`, flags parsed in `demo.ts`): two clinics, each the
 * real client holding a non-IID share of PneumoniaMNIST's training split (`--partition`,
 * seeded; the validation and test splits are shared out IID), train one model with the server
 * in sequential round-robin turns with the cut traffic Noise-encrypted, then each evaluates its
 * test share through the cut; finally the same model is trained centrally on the pooled data
 * and `demo_report.ts` prints the comparison. The clinic and server settings and the central
 * run here are shared with the schedule demo (`demo_schedules.ts`), which adds N clinics and a
 * schedule.
 *
 * @example
 * ```ts
 * import { runImageDemo } from "./demo_image.ts";
 * // await runImageDemo({ epochs: 1, batchSize: 64, turnsPerEpoch: 4, ... });
 * ```
 * @module
 */
import { zooModel } from "../../models/zoo/mod.ts";
import type { OptimizerConfig } from "../../models/train/optimizer.ts";
import type { LoadedDataset } from "../data/load_dataset.ts";
import { partition } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import type { Engine } from "../engine/mod.ts";
import type { ServerConfig } from "../server/mod.ts";
import type { CentralResult } from "../train/central.ts";
import type { ClinicResult } from "../client/clinic.ts";
import { compareWithCentral, trainDemoCentral } from "./demo_central.ts";
import {
  closeDemoServer,
  demoClinicBase,
  type DemoKeys,
  demoServerEngine,
  launchDemoClinics,
  serveDemo,
  writeDemoKeys,
} from "./demo_launch.ts";

/**
 * What `demo.ts` parsed for an image demo (the schedule demo's options extend these).
 *
 * @example
 * ```ts
 * import type { ImageDemoOptions } from "./demo_image.ts";
 * function n(o: ImageDemoOptions) { return o.epochs; }
 * ```
 */
export interface ImageDemoOptions {
  epochs: number;
  batchSize: number;
  turnsPerEpoch: number;
  seed: number;
  mode: "vanilla" | "ushaped";
  scheme: "iid" | "label-dirichlet" | "size-dirichlet";
  alpha: number;
  codec: { dtype: "float32" | "float16" | "int8"; level: number };
  dataPath: string;
  data: LoadedDataset;
  /** `native` or `wasm` (default: native when it loads). */
  engine?: string;
  central: boolean;
  lingerSeconds: number;
}

/** Adam, lr 0.001: the image demos' optimizer, on the server, the clinics and the central run. */
export const IMAGE_DEMO_OPTIMIZER: OptimizerConfig = { kind: "adam", lr: 1e-3 };

/**
 * The server's config: the zoo CNN, bce, replies in the clinics' codec, checkpoints in
 * `root/server`, `epochs × turnsPerEpoch` rounds.
 *
 * @example
 * ```ts
 * import { imageServerConfig } from "./demo_image.ts";
 * // const config = { ...imageServerConfig(o, root), schedule: "parallel" };
 * ```
 */
export function imageServerConfig(o: ImageDemoOptions, root: string): ServerConfig {
  return {
    mode: o.mode,
    codec: o.codec, // replies (gradients, U-shaped head inputs) in the clinics' codec
    model: { zoo: "cnn", data: o.data, seed: o.seed },
    loss: "bce",
    optimizer: IMAGE_DEMO_OPTIMIZER,
    checkpointDir: `${root}/server`,
    limits: { maxBatch: Math.max(256, o.batchSize) },
    turnTimeoutMs: 120_000,
    epochs: o.epochs,
    turnsPerEpoch: o.turnsPerEpoch, // the server runs epochs × turns rounds and logs "epoch 3/3 done"
  };
}

/**
 * Clinic `index` of `clinics`: its share of the training rows under `o.scheme`, an IID share of
 * validation and test rows, the zoo CNN.
 *
 * @example
 * ```ts
 * import { imageClinicConfig } from "./demo_image.ts";
 * // launchDemoClinics(root, names, (c, i) => imageClinicConfig(o, demoClinicBase(root, keys, port, c), i, names.length));
 * ```
 */
export function imageClinicConfig(
  o: ImageDemoOptions,
  base: Record<string, unknown>,
  index: number,
  clinics: number,
): Record<string, unknown> {
  return {
    ...base,
    data: o.dataPath,
    rows: {
      train: { partition: { scheme: o.scheme, clinics, index, alpha: o.alpha, seed: o.seed } },
      val: { partition: { scheme: "iid", clinics, index, seed: o.seed } },
      test: { partition: { scheme: "iid", clinics, index, seed: o.seed } },
    },
    model: "cnn",
    mode: o.mode,
    codec: o.codec,
    optimizer: IMAGE_DEMO_OPTIMIZER,
    seed: o.seed,
    batchSize: o.batchSize,
    turnsPerEpoch: o.turnsPerEpoch,
  };
}

/**
 * `name n training images (p% pneumonia)` per clinic, joined by commas: each clinic's
 * training share under `o.scheme` and its positive fraction.
 *
 * @example
 * ```ts
 * import { describeImageShares } from "./demo_image.ts";
 * // describeImageShares(o, ["clinic-a", "clinic-b"]);
 * ```
 */
export function describeImageShares(o: ImageDemoOptions, names: readonly string[]): string {
  const labels = Array.from(o.data.train.target.data as ArrayLike<number>, Number);
  const shares = partition({
    scheme: o.scheme,
    count: o.data.train.size,
    labels,
    clinics: names.length,
    alpha: o.alpha,
    seed: o.seed,
  });
  return names.map((c, i) => {
    const pos = shares[i].reduce((a, r) => a + labels[r], 0);
    return `${c} ${shares[i].length} training images (${
      ((100 * pos) / Math.max(1, shares[i].length)).toFixed(0)
    }% pneumonia)`;
  }).join(", ");
}

/**
 * The central baseline of the image demos (announced, epochs logged; with `withRate` the
 * epoch lines also give samples/s), on `reuse` when it is a wasm engine.
 *
 * @example
 * ```ts
 * import { imageCentral } from "./demo_image.ts";
 * // const { result, seconds } = await imageCentral(o, true);
 * ```
 */
export function imageCentral(
  o: ImageDemoOptions,
  withRate: boolean,
  reuse?: { engine: Engine; isWasm: boolean },
): Promise<{ result: CentralResult; seconds: number }> {
  console.log(
    `central run: the same model, seed, epochs and batch size on the pooled data (wasm engine)`,
  );
  const rng = new Rng(o.seed);
  return trainDemoCentral({
    model: zooModel("cnn", o.data, () => rng.float()).model,
    loss: "bce",
    data: o.data,
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: IMAGE_DEMO_OPTIMIZER,
    seed: o.seed,
    onProgress: (p) => {
      if (p.kind !== "epoch") return;
      console.log(
        `[central] epoch ${p.record.epoch}/${o.epochs}  train loss ${
          p.record.trainLoss.toFixed(4)
        }  ` +
          `val AUC ${p.record.val.auc.toFixed(4)}` +
          (withRate ? `  ${p.record.samplesPerSec.toFixed(0)} samples/s` : ""),
      );
    },
  }, reuse);
}

/**
 * Waits `seconds` (`--linger`) so the dashboard can still be looked at, saying so when `say`.
 *
 * @example
 * ```ts
 * import { linger } from "./demo_image.ts";
 * // await linger(30, true);
 * ```
 */
export async function linger(seconds: number, say: boolean): Promise<void> {
  if (!(seconds > 0)) return;
  if (say) console.log(`the server and its dashboard stay up ${seconds} s (--linger)`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
}

/** Serves, runs the two clinics, lingers, stops the server; returns their results and seconds. */
async function trainSplit(
  o: ImageDemoOptions,
  root: string,
  keys: DemoKeys,
  server: { engine: Engine; name: string },
  names: readonly string[],
): Promise<{ results: ClinicResult[]; seconds: number }> {
  const s = await serveDemo(imageServerConfig(o, root), keys, server.engine);
  console.log(`dashboard: http://127.0.0.1:${s.port}/dashboard`);
  console.log(
    `splitgate demo: ${o.data.description}\n` +
      `server on 127.0.0.1:${s.port} (${o.mode}, ${server.name} engine); clinics: ` +
      describeImageShares(o, names) +
      `\n${o.epochs} epochs, batch ${o.batchSize}, ${o.turnsPerEpoch} turns per clinic per epoch, adam lr 0.001, seed ${o.seed}, ` +
      `${o.codec.dtype} codec${
        o.codec.level ? ` + deflate ${o.codec.level}` : ""
      }, Noise-encrypted`,
  );
  const split0 = performance.now();
  try {
    const results = await launchDemoClinics(
      root,
      names,
      (c, i) => imageClinicConfig(o, demoClinicBase(root, keys, s.port, c), i, names.length),
    );
    return { results, seconds: (performance.now() - split0) / 1000 };
  } finally {
    await linger(o.lingerSeconds, true);
    await closeDemoServer(s);
  }
}

/**
 * Runs the image demo (see the module doc); `t0` is when the demo started, for the wall time.
 *
 * @example
 * ```ts
 * import { runImageDemo } from "./demo_image.ts";
 * // await runImageDemo(options, performance.now());
 * ```
 */
export async function runImageDemo(o: ImageDemoOptions, t0: number): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "splitgate_demo_" });
  const names = ["clinic-a", "clinic-b"];
  try {
    const keys = await writeDemoKeys(`${root}/keys`, names);
    const server = await demoServerEngine(o.engine);
    const split = await trainSplit(o, root, keys, server, names);
    const reuse = { engine: server.engine, isWasm: server.name === "wasm" };
    await compareWithCentral(
      split,
      server.engine,
      o.central ? () => imageCentral(o, true, reuse) : undefined,
      t0,
    );
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
