/**
 * Hijacking detection at the clinic, after SplitGuard (Erdoğan, Küpçü & Çiçek, "SplitGuard:
 * Detecting and Mitigating Training-Hijacking Attacks in Split Learning", WPES 2022): now and
 * then (once in each block of `every` steps, at a random step of the block) the clinic sends a
 * *fake* batch — the inputs of a regular batch with `flips` of its labels flipped — and
 * compares, on the flipped samples, the gradients the server returns for the two. An honest server
 * computes them from the labels, so for each sample the gradient of the flipped label points
 * against that of the true one (for a logistic loss the per-sample cut gradient is
 * (σ(z) − y)·∂z/∂a, and σ(z) − y changes sign when y flips). A server hijacking the clinic's
 * features (FSHA, Pasquini et al. CCS 2021) trains them against its own discriminator and
 * ignores the labels: the two gradients agree.
 *
 * Score of one fake batch: −(mean over the flipped samples of cos(g_regular, g_fake)) ∈ [−1, 1];
 * an honest server scores near +1 (not exactly: BatchNorm in its segment couples the samples),
 * a label-blind one near −1. The alarm rises when the mean score of the last `window` fake
 * batches falls below `threshold`. The clinic discards the fake batch's gradient (its own
 * weights never learn from flipped labels); an honest server does train on it, which is the
 * defence's utility cost — hence few flipped labels per fake batch and few fake batches (with
 * every label flipped in one batch in ten, the honest run lost 0.048 test AUC on seed 1).
 *
 * Differences from the paper: SplitGuard compares *different* fake and regular batches through
 * the angles of the clinic's parameter gradients; comparing the same inputs sample by sample
 * gives a score without calibration, but a server that recognises repeated inputs could answer
 * fake batches honestly and evade it. Vanilla mode only (the server must hold the labels).
 *
 * @example
 * ```ts
 * import { SplitGuard } from "./split_guard.ts";
 * import { Rng } from "../data/rng.ts";
 * const guard = new SplitGuard({}, new Rng(1));
 * guard.config.every; // 20
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { tensor } from "../../models/tensor.ts";

/** Settings of the detector (`defence.hijackGuard`). */
export interface HijackGuardConfig {
  /** One fake batch in each block of `every` steps, at a random step of it (default 20). */
  every?: number;
  /** Labels flipped in a fake batch (default 8; all of them when the batch is smaller). */
  flips?: number;
  /** Fake batches averaged before an alarm can rise (default 3). */
  window?: number;
  /** Alarm when the window's mean score is below this (default 0). */
  threshold?: number;
}

/** Raised by {@linkcode SplitGuard.observe} when the server looks like a hijacker. */
export class HijackAlarm extends Error {
  /** Always `HIJACK_SUSPECTED`. */
  readonly code = "HIJACK_SUSPECTED";
  constructor(message: string, readonly step: number, readonly score: number) {
    super(message);
    this.name = "HijackAlarm";
  }
}

/**
 * Checks an untrusted `hijackGuard` value.
 *
 * @throws {TypeError} naming the field and what was expected
 * @example
 * ```ts
 * import { parseHijackGuard } from "./split_guard.ts";
 * parseHijackGuard({ every: 20 }).every; // 20
 * ```
 */
export function parseHijackGuard(v: unknown): HijackGuardConfig {
  const bad = () =>
    new TypeError(`defence.hijackGuard: expected {every?: integer >= 2, flips?: integer >= 1, window?: integer >= 1, threshold?: number in [-1, 1]}, got ${JSON.stringify(v)}`);
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad();
  const o = v as Record<string, unknown>;
  if (Object.keys(o).some((k) => !["every", "flips", "window", "threshold"].includes(k))) throw bad();
  const int = (x: unknown, min: number) => x === undefined || (Number.isInteger(x) && (x as number) >= min);
  if (!int(o.every, 2) || !int(o.window, 1) || !int(o.flips, 1)) throw bad();
  if (o.threshold !== undefined && !(typeof o.threshold === "number" && o.threshold >= -1 && o.threshold <= 1)) throw bad();
  return { ...o } as HijackGuardConfig;
}

/**
 * Per-sample cosine similarity of two [N, ...] gradients, averaged over `rows` (default all;
 * rows of norm 0 skipped).
 *
 * @example
 * ```ts
 * import { meanRowCosine } from "./split_guard.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const a = tensor("float32", [1, 2], new Float32Array([1, 0]));
 * meanRowCosine(a, tensor("float32", [1, 2], new Float32Array([-2, 0]))); // -1
 * ```
 */
export function meanRowCosine(a: Tensor, b: Tensor, rows?: readonly number[]): number {
  const x = a.data as Float32Array, y = b.data as Float32Array;
  if (x.length !== y.length) throw new RangeError(`split guard: gradients of ${x.length} and ${y.length} values`);
  const n = a.dims[0], d = n ? x.length / n : 0;
  let sum = 0, used = 0;
  for (const i of rows ?? Array.from({ length: n }, (_, r) => r)) {
    let xy = 0, xx = 0, yy = 0;
    for (let k = i * d; k < (i + 1) * d; k++) (xy += x[k] * y[k]), (xx += x[k] * x[k]), (yy += y[k] * y[k]);
    if (xx > 0 && yy > 0) (sum += xy / Math.sqrt(xx * yy)), used++;
  }
  return used ? sum / used : 0;
}

/** The detector's state for one clinic. */
export class SplitGuard {
  /** The settings with defaults filled in. */
  readonly config: Required<HijackGuardConfig>;
  readonly #scores: number[] = [];
  #step = 0;
  #fakeAt = -1;
  #flipped: number[] = [];
  /** Every fake batch's score, in order (for reports). */
  readonly history: { step: number; score: number }[] = [];

  constructor(config: HijackGuardConfig, readonly rng: { float(): number }) {
    this.config = { every: config.every ?? 20, flips: config.flips ?? 8, window: config.window ?? 3, threshold: config.threshold ?? 0 };
  }

  /** Whether this step also sends a fake batch (one at a random step of each block of `every`). */
  fakeThisStep(): boolean {
    const { every } = this.config, at = this.#step++ % every;
    if (at === 0) this.#fakeAt = Math.floor(this.rng.float() * every);
    return at === this.#fakeAt;
  }

  /**
   * The fake batch's labels: `flips` binary labels, at random rows, flipped (remembered for
   * {@linkcode observe}).
   *
   * @example
   * ```ts
   * import { SplitGuard } from "./split_guard.ts";
   * import { Rng } from "../data/rng.ts";
   * import { tensor } from "../../models/tensor.ts";
   * new SplitGuard({ flips: 2 }, new Rng(1)).fakeLabels(tensor("float32", [2, 1], new Float32Array([0, 1]))).data; // [1, 0]
   * ```
   */
  fakeLabels(target: Tensor): Tensor<"float32"> {
    const y = Float32Array.from(target.data as Float32Array);
    const order = Array.from({ length: y.length }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng.float() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    this.#flipped = order.slice(0, Math.min(this.config.flips, y.length)).sort((a, b) => a - b);
    for (const i of this.#flipped) y[i] = 1 - y[i];
    return tensor("float32", [...target.dims], y);
  }

  /**
   * Scores the server's gradients for the regular and the fake batch of `step`.
   *
   * @throws {HijackAlarm} when the window's mean score falls below the threshold
   */
  observe(step: number, regular: Tensor, fake: Tensor): number {
    const score = -meanRowCosine(regular, fake, this.#flipped.length ? this.#flipped : undefined);
    this.history.push({ step, score });
    this.#scores.push(score);
    if (this.#scores.length > this.config.window) this.#scores.shift();
    const mean = this.#scores.reduce((a, b) => a + b, 0) / this.#scores.length;
    if (this.#scores.length === this.config.window && mean < this.config.threshold) {
      throw new HijackAlarm(
        `hijack suspected at step ${step}: the server's gradients do not depend on the labels (mean fake-batch score ${mean.toFixed(3)} over ${this.config.window} fake batches, threshold ${this.config.threshold}; an honest server scores near +1)`,
        step,
        mean,
      );
    }
    return score;
  }
}
