/**
 * Central training: the whole model on pooled data in one process — the yardstick every
 * split and federated run is compared with. Mini-batch training with validation after
 * each epoch, best-epoch selection (highest validation AUC; lowest loss for `mse`), and
 * test metrics of the best epoch.
 *
 * @example
 * ```ts
 * import { trainCentral } from "./central.ts";
 * // const result = await trainCentral({ engine, model, loss: "bce", data, epochs: 5, batchSize: 64,
 * //   optimizer: { kind: "adam", lr: 1e-3 }, seed: 0 });
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { Model } from "../../models/graph/ir.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { compileModel } from "../../models/train/compile.ts";
import { createOptimizer, type OptimizerConfig } from "../../models/train/optimizer.ts";
import type { Engine } from "../engine/mod.ts";
import { batches } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import type { Batch, TensorDataset } from "../data/tensor_dataset.ts";
import { concatRows, evaluateLogits, type Metrics } from "./metrics.ts";
import { Pipeline } from "./pipeline.ts";
import { SteadyRate } from "./steady_rate.ts";

/** Train, validation and test sets. */
export interface DataSplits {
  train: TensorDataset;
  val: TensorDataset;
  test: TensorDataset;
}

/** One epoch's record. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  val: Metrics;
  /** Training samples per second in this epoch (steps only, evaluation excluded). */
  samplesPerSec: number;
  seconds: number;
}

/** Progress events for a display. */
export type Progress =
  | { kind: "step"; epoch: number; epochs: number; step: number; steps: number; loss: number; samplesPerSec: number; etaSeconds: number }
  | { kind: "epoch"; record: EpochRecord; epochs: number; best: boolean };

/** Options of {@linkcode trainCentral}. */
export interface CentralOptions {
  engine: Engine;
  model: Model;
  loss: LossKind;
  data: DataSplits;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  seed: number;
  onProgress?: (p: Progress) => void;
  /**
   * Cut tensors: train the model as segments in this process (the split runtime's
   * arithmetic, without a network). None: the whole model as one graph.
   */
  cuts?: readonly string[];
  /** Batch size for evaluation (default 512). */
  evalBatchSize?: number;
  /** Applied to each training batch (e.g. image augmentation), with the run's generator. */
  augment?: (batch: Batch, rng: Rng) => Batch;
}

/** The outcome of a run. */
export interface CentralResult {
  history: EpochRecord[];
  bestEpoch: number;
  test: Metrics;
  /** Parameters and buffers of the best epoch, by initializer name. */
  weights: Map<string, Tensor>;
  /** Training throughput over all epochs (samples/s, steps only). */
  samplesPerSec: number;
  /**
   * The same after the run's first five steps (engine warm-up, {@linkcode SteadyRate}); null
   * for a run of no more steps than that.
   */
  steadySamplesPerSec: number | null;
  seconds: number;
}

/**
 * Runs a forward function over a dataset in batches and returns the metrics and the
 * concatenated outputs.
 */
export async function evaluate(
  forward: (inputs: Record<string, Tensor>) => Promise<Tensor>,
  ds: TensorDataset,
  loss: LossKind,
  batchSize = 512,
): Promise<Metrics & { logits: Tensor }> {
  const outs: Tensor[] = [];
  for (let i = 0; i < ds.size; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, ds.size - i) }, (_, k) => i + k);
    outs.push(await forward(ds.take(idx).inputs));
  }
  const logits = concatRows(outs);
  return { ...evaluateLogits(loss, logits, ds.target), logits };
}

/** A deep copy of named tensors. */
export function snapshot(weights: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of weights) out.set(k, { dtype: v.dtype, dims: [...v.dims], data: v.data.slice() } as Tensor);
  return out;
}

/**
 * Trains `model` on pooled data.
 *
 * @example
 * ```ts
 * import { trainCentral } from "./central.ts";
 * // (await trainCentral(opts)).test.auc
 * ```
 */
export async function trainCentral(o: CentralOptions): Promise<CentralResult> {
  if (!(Number.isInteger(o.epochs) && o.epochs >= 1)) throw new RangeError(`epochs must be an integer >= 1, got ${o.epochs}`);
  const segments = compileModel(o.model, { loss: o.loss, seed: o.seed, cuts: o.cuts ?? [] });
  const pipe = await Pipeline.create(o.engine, segments);
  const opts = segments.map(() => createOptimizer(o.optimizer));
  const forward = (x: Record<string, Tensor>) => pipe.infer(x);
  const rng = new Rng(o.seed);
  const steps = Math.ceil(o.data.train.size / o.batchSize);
  const history: EpochRecord[] = [];
  let best: { epoch: number; score: number; weights: Map<string, Tensor> } | undefined;
  let trainTime = 0, trainSamples = 0;
  const steady = new SteadyRate();
  const t0 = performance.now();
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const e0 = performance.now();
    let lossSum = 0, seen = 0, step = 0, stepTime = 0;
    for (const idx of batches(Uint32Array.from({ length: o.data.train.size }, (_, i) => i), o.batchSize, rng)) {
      const s0 = performance.now();
      const b = o.augment ? o.augment(o.data.train.take(idx), rng) : o.data.train.take(idx);
      const loss = await pipe.trainStep(b.inputs, b.target, opts);
      const ms = performance.now() - s0;
      stepTime += ms;
      steady.add(idx.length, ms);
      lossSum += loss * idx.length;
      seen += idx.length;
      step++;
      if (o.onProgress) {
        const sps = seen / (stepTime / 1000);
        const left = (o.epochs - epoch) * o.data.train.size + (o.data.train.size - seen);
        o.onProgress({ kind: "step", epoch, epochs: o.epochs, step, steps, loss: lossSum / seen, samplesPerSec: sps, etaSeconds: left / sps });
      }
    }
    trainTime += stepTime;
    trainSamples += seen;
    const val = await evaluate(forward, o.data.val, o.loss, o.evalBatchSize);
    const record: EpochRecord = {
      epoch,
      trainLoss: lossSum / seen,
      val: { loss: val.loss, auc: val.auc, accuracy: val.accuracy, samples: val.samples },
      samplesPerSec: seen / (stepTime / 1000),
      seconds: (performance.now() - e0) / 1000,
    };
    history.push(record);
    const score = o.loss === "mse" || Number.isNaN(val.auc) ? -val.loss : val.auc;
    const isBest = !best || score > best.score;
    if (isBest) best = { epoch, score, weights: snapshot(pipe.weights()) };
    o.onProgress?.({ kind: "epoch", record, epochs: o.epochs, best: isBest });
  }
  pipe.load(best!.weights);
  const test = await evaluate(forward, o.data.test, o.loss, o.evalBatchSize);
  await pipe.release();
  return {
    history,
    bestEpoch: best!.epoch,
    test: { loss: test.loss, auc: test.auc, accuracy: test.accuracy, samples: test.samples },
    weights: best!.weights,
    samplesPerSec: trainSamples / (trainTime / 1000),
    steadySamplesPerSec: steady.samplesPerSec,
    seconds: (performance.now() - t0) / 1000,
  };
}
