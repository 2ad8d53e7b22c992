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
import { type CutServer, DefendedPipeline } from "./defended_pipeline.ts";
import { checkLabelDefenceMode } from "./label_defence.ts";
import { RandomisedLabels } from "./randomised_response.ts";
import { HijackAlarm, SplitGuard } from "./split_guard.ts";
import { checkBudget, type PrivacyAccount, privacyAccount } from "./privacy_budget.ts";
import { PrivacyBudgetError } from "./rdp_accountant.ts";

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
  /** Replaces the honest server (vanilla; the test harness's malicious server). */
  server?: CutServer;
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
  /** The privacy spent after this epoch. */
  privacy: PrivacyAccount;
}

/** The outcome of {@linkcode trainDefended}. */
export interface DefendedTrainingResult {
  history: DefendedEpoch[];
  bestEpoch: number;
  test: Metrics;
  /** Parameters and buffers of the best epoch. */
  weights: Map<string, Tensor>;
  seconds: number;
  /** The privacy spent by the epochs trained. */
  privacy: PrivacyAccount;
  /**
   * Why training stopped early: `BUDGET_SPENT` (the next epoch would exceed `defence.budget`)
   * or `HIJACK_SUSPECTED` (the hijack guard's alarm; `step` is the training step).
   */
  stopped?: { code: "BUDGET_SPENT" | "HIJACK_SUSPECTED"; message: string; epoch: number; step?: number };
  /** The hijack guard's scores of its fake batches (when `defence.hijackGuard` is set). */
  guardScores?: { step: number; score: number }[];
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
  const mode = o.cuts.length === 2 ? "ushaped" : "vanilla";
  checkLabelDefenceMode(o.defence.labelDefence, mode);
  const segments = compileModel(applyInputNorm(o.model, o.defence), { loss: o.loss, seed: o.seed, cuts: o.cuts });
  const guard = o.defence.hijackGuard ? new SplitGuard(o.defence.hijackGuard, new Rng(o.seed + 0x7367)) : undefined;
  const pipe = await DefendedPipeline.create(o.engine, segments, o.defence, o.seed, { guard, server: o.server });
  // Randomised response: each training label drawn once, reused every epoch (ε-label-DP).
  const ld = o.defence.labelDefence;
  const rr = ld?.kind === "rr" ? new RandomisedLabels(o.data.train.target.data as Float32Array, ld.epsilon, new Rng(o.seed + 0x7272)) : undefined;
  try {
    const opts = segments.map(() => createOptimizer(o.optimizer));
    const rng = new Rng(o.seed);
    const history: DefendedEpoch[] = [];
    let best: { epoch: number; score: number; weights: Map<string, Tensor> } | undefined;
    let stopped: DefendedTrainingResult["stopped"];
    const t0 = performance.now();
    for (let epoch = 1; epoch <= o.epochs && !stopped; epoch++) {
      try {
        checkBudget(o.defence, epoch);
        const rec = await trainEpoch(o, pipe, opts, rng, rr, epoch);
        const score = o.loss === "mse" || Number.isNaN(rec.val.auc) ? -rec.val.loss : rec.val.auc;
        rec.best = !best || score > best.score;
        if (rec.best) best = { epoch, score, weights: snapshot(pipe.weights()) };
        history.push(rec);
        o.onEpoch?.(rec);
      } catch (e) {
        if (e instanceof PrivacyBudgetError && e.code === "BUDGET_SPENT") stopped = { code: "BUDGET_SPENT", message: e.message, epoch };
        else if (e instanceof HijackAlarm) stopped = { code: "HIJACK_SUSPECTED", message: e.message, epoch, step: e.step };
        else throw e;
      }
    }
    const privacy = privacyAccount(o.defence, history.length);
    const extra = { privacy, ...(stopped ? { stopped } : {}), ...(guard ? { guardScores: guard.history } : {}) };
    if (!best) {
      // Stopped before any epoch finished: nothing to keep but the initial weights.
      const test = await evaluateDefended(pipe, o.data.test, o.loss);
      return { history, bestEpoch: 0, test, weights: snapshot(pipe.weights()), seconds: (performance.now() - t0) / 1000, ...extra };
    }
    pipe.load(best.weights);
    const test = await evaluateDefended(pipe, o.data.test, o.loss);
    return { history, bestEpoch: best.epoch, test, weights: best.weights, seconds: (performance.now() - t0) / 1000, ...extra };
  } finally {
    await pipe.release();
  }
}

/** One epoch of {@linkcode trainDefended}: the batches, then validation. */
async function trainEpoch(
  o: DefendedTrainingOptions,
  pipe: DefendedPipeline,
  opts: ReturnType<typeof createOptimizer>[],
  rng: Rng,
  rr: RandomisedLabels | undefined,
  epoch: number,
): Promise<DefendedEpoch> {
  const e0 = performance.now();
  let lossSum = 0, dcorSum = 0, dcorN = 0, seen = 0;
  for (const idx of batches(Uint32Array.from({ length: o.data.train.size }, (_, i) => i), o.batchSize, rng)) {
    // A batch of one has no pairwise distances (and U-centring needs four rows): drop
    // such a batch when NoPeek is on.
    if (o.defence.nopeek && idx.length < (o.defence.nopeek.estimator === "u" ? 4 : 2)) continue;
    const taken = o.data.train.take(idx);
    const plain = rr ? { inputs: taken.inputs, target: rr.take(idx, taken.target) } : taken;
    const b = o.augment ? o.augment(plain, rng) : plain;
    const r = await pipe.trainStep(b.inputs, b.target, opts);
    lossSum += r.loss * idx.length;
    seen += idx.length;
    if (r.dcor !== undefined) (dcorSum += r.dcor), dcorN++;
  }
  const val = await evaluateDefended(pipe, o.data.val, o.loss);
  return {
    epoch,
    trainLoss: lossSum / seen,
    trainDcor: dcorN ? dcorSum / dcorN : NaN,
    val,
    seconds: (performance.now() - e0) / 1000,
    best: false,
    privacy: privacyAccount(o.defence, epoch),
  };
}
