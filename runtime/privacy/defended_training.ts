/**
 * Training a cut model with one clinic's defences, in one process (the defended
 * counterpart of `trainCentral` with `cuts`): mini-batches in a seeded order, validation
 * after each epoch, the best epoch by validation AUC kept, test metrics of that epoch.
 * Evaluation runs as deployed: the noise defence applies to what is sent at inference too
 * (a fixed evaluation seed, so the numbers are reproducible).
 *
 * @example
 * ```ts
 * import { trainDefended } from "./defended_training.ts";
 * // const r = await trainDefended({ engine, model, cuts, loss: "bce", data, epochs: 3, batchSize: 64,
 * //   optimizer: { kind: "adam", lr: 1e-3 }, seed: 1, defence: { nopeek: { weight: 1 } } });
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
import { type DataSplits, evaluate, snapshot } from "../train/central.ts";
import type { Metrics } from "../train/metrics.ts";
import type { DefenceConfig } from "./defence_config.ts";
import { applyInputNorm } from "./input_norm.ts";
import { DefendedPipeline } from "./defended_pipeline.ts";

/** Options of {@linkcode trainDefended}. */
export interface DefendedTrainingOptions {
  engine: Engine;
  model: Model;
  /** One cut (vanilla) or two (U-shaped). */
  cuts: readonly string[];
  loss: LossKind;
  data: DataSplits;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  seed: number;
  defence: DefenceConfig;
  augment?: (batch: Batch, rng: Rng) => Batch;
  /** Called after each epoch. */
  onEpoch?: (e: DefendedEpoch) => void;
}

/** One epoch's record. */
export interface DefendedEpoch {
  epoch: number;
  trainLoss: number;
  /** Mean batch dCor(X, Z) seen by NoPeek (NaN without NoPeek). */
  trainDcor: number;
  val: Metrics;
  seconds: number;
  best: boolean;
}

/** The outcome of {@linkcode trainDefended}. */
export interface DefendedTrainingResult {
  history: DefendedEpoch[];
  bestEpoch: number;
  test: Metrics;
  /** Parameters and buffers of the best epoch. */
  weights: Map<string, Tensor>;
  seconds: number;
}

/** The evaluation seed, fixed so that validation and test of a run are reproducible. */
export const EVAL_SEED = 0x65766c;

/**
 * Metrics of a defended pipeline on `ds`, as deployed (noise drawn from a fresh
 * {@linkcode EVAL_SEED} generator).
 *
 * @example
 * ```ts
 * // (await evaluateDefended(pipe, data.test, "bce")).auc
 * ```
 */
export async function evaluateDefended(pipe: DefendedPipeline, ds: TensorDataset, loss: LossKind, batchSize = 512): Promise<Metrics> {
  const rng = new Rng(EVAL_SEED);
  const m = await evaluate((x) => pipe.infer(x, rng), ds, loss, batchSize);
  return { loss: m.loss, auc: m.auc, accuracy: m.accuracy, samples: m.samples };
}

/**
 * Trains `model` cut at `cuts` with `defence`.
 *
 * @throws {RangeError} for epochs < 1 or a cut count other than 1 or 2
 * @example
 * ```ts
 * import { trainDefended } from "./defended_training.ts";
 * // (await trainDefended(opts)).test.auc
 * ```
 */
export async function trainDefended(o: DefendedTrainingOptions): Promise<DefendedTrainingResult> {
  if (!(Number.isInteger(o.epochs) && o.epochs >= 1)) throw new RangeError(`epochs must be an integer >= 1, got ${o.epochs}`);
  const segments = compileModel(applyInputNorm(o.model, o.defence), { loss: o.loss, seed: o.seed, cuts: o.cuts });
  const pipe = await DefendedPipeline.create(o.engine, segments, o.defence, o.seed);
  try {
    const opts = segments.map(() => createOptimizer(o.optimizer));
    const rng = new Rng(o.seed);
    const history: DefendedEpoch[] = [];
    let best: { epoch: number; score: number; weights: Map<string, Tensor> } | undefined;
    const t0 = performance.now();
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const e0 = performance.now();
      let lossSum = 0, dcorSum = 0, dcorN = 0, seen = 0;
      for (const idx of batches(Uint32Array.from({ length: o.data.train.size }, (_, i) => i), o.batchSize, rng)) {
        // A batch of one has no pairwise distances (and U-centring needs four rows): drop
        // such a batch when NoPeek is on.
        if (o.defence.nopeek && idx.length < (o.defence.nopeek.estimator === "u" ? 4 : 2)) continue;
        const b = o.augment ? o.augment(o.data.train.take(idx), rng) : o.data.train.take(idx);
        const r = await pipe.trainStep(b.inputs, b.target, opts);
        lossSum += r.loss * idx.length;
        seen += idx.length;
        if (r.dcor !== undefined) (dcorSum += r.dcor), dcorN++;
      }
      const val = await evaluateDefended(pipe, o.data.val, o.loss);
      const score = o.loss === "mse" || Number.isNaN(val.auc) ? -val.loss : val.auc;
      const isBest = !best || score > best.score;
      if (isBest) best = { epoch, score, weights: snapshot(pipe.weights()) };
      const rec: DefendedEpoch = {
        epoch,
        trainLoss: lossSum / seen,
        trainDcor: dcorN ? dcorSum / dcorN : NaN,
        val,
        seconds: (performance.now() - e0) / 1000,
        best: isBest,
      };
      history.push(rec);
      o.onEpoch?.(rec);
    }
    pipe.load(best!.weights);
    const test = await evaluateDefended(pipe, o.data.test, o.loss);
    return { history, bestEpoch: best!.epoch, test, weights: best!.weights, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await pipe.release();
  }
}
