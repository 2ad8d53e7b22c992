/**
 * A per-clinic watch on the scale of the cut activations it sends (docs/design/security_model.md): the
 * root-mean-square of each training batch against the clinic's running baseline, an
 * exponential moving average of the same statistic. A batch far from the baseline (by
 * default over 10× or under 1/10 of it) is logged as a warning, at most once a minute per
 * clinic, with the number of warnings held back since. It refuses nothing (the hard bound
 * is `limits.maxActivation`): it tells the operator that a clinic's data changed scale,
 * e.g. a site that stopped normalising its records, or a clinic probing the shared model.
 *
 * The log line names the clinic, the step and two aggregate numbers; never a record, a
 * value of a single sample, or a tensor.
 *
 * @example
 * ```ts
 * import { ActivationDrift } from "./activation_drift.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const drift = new ActivationDrift({ warmup: 1 });
 * const x = (v: number) => tensor("float32", [2], Float32Array.of(v, -v));
 * drift.observe("a", "0:0", x(1), 0);
 * console.log(drift.observe("a", "0:1", x(50), 1)?.startsWith("clinic a: cut activation RMS 50")); // true
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { int8Rms } from "../codec/int8_rms.ts";
import { quantizedOf } from "../codec/quantized_view.ts";

/**
 * Settings of {@linkcode ActivationDrift}.
 *
 * @example
 * ```ts
 * import type { DriftOptions } from "./activation_drift.ts";
 * const o: DriftOptions = { factor: 10, alpha: 0.1, warmup: 5, intervalMs: 60_000 };
 * ```
 */
export interface DriftOptions {
  /** How far from the baseline (ratio, both ways) a batch must be to warn (default 10). */
  factor?: number;
  /** Weight of the newest batch in the moving average (default 0.1: about 10 batches). */
  alpha?: number;
  /** Batches of a clinic observed before it can be warned about (default 5). */
  warmup?: number;
  /** Least time between two warnings about one clinic, in ms (default 60 000). */
  intervalMs?: number;
}

/** One clinic's baseline and warning state. */
interface Baseline {
  ema: number;
  batches: number;
  lastWarned: number | null;
  heldBack: number;
}

/** Root-mean-square of a float tensor's elements. */
function rms(t: Tensor): number {
  // An int8 activation on its way into a quantised graph: from its codes, not dequantised.
  const qt = quantizedOf(t);
  if (qt) return int8Rms(qt);
  const d = t.data as ArrayLike<number>;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  return d.length > 0 ? Math.sqrt(s / d.length) : 0;
}

/**
 * Per-clinic running baselines of the cut activations' RMS, and rate-limited warnings.
 *
 * @example
 * ```ts
 * import { ActivationDrift } from "./activation_drift.ts";
 * const d = new ActivationDrift();
 * console.log(d.baseline("a")); // null
 * ```
 */
export class ActivationDrift {
  readonly #factor: number;
  readonly #alpha: number;
  readonly #warmup: number;
  readonly #intervalMs: number;
  readonly #clinics = new Map<string, Baseline>();

  constructor(o: DriftOptions = {}) {
    this.#factor = o.factor ?? 10;
    this.#alpha = o.alpha ?? 0.1;
    this.#warmup = o.warmup ?? 5;
    this.#intervalMs = o.intervalMs ?? 60_000;
    if (!(this.#factor > 1)) {
      throw new RangeError(`drift factor ${this.#factor}: expected a number > 1`);
    }
    if (!(this.#alpha > 0 && this.#alpha <= 1)) {
      throw new RangeError(`drift alpha ${this.#alpha}: expected a number in (0, 1]`);
    }
  }

  /** The running RMS baseline of `clinic`, or null before its first batch. */
  baseline(clinic: string): number | null {
    return this.#clinics.get(clinic)?.ema ?? null;
  }

  /**
   * Folds training batch `activation` of step `stepId` into `clinic`'s baseline; returns a
   * warning line when the batch is far from the baseline and the clinic was not warned
   * about within the interval, else null.
   *
   * @example
   * ```ts
   * import { ActivationDrift } from "./activation_drift.ts";
   * import { tensor } from "../../models/tensor.ts";
   * const d = new ActivationDrift({ warmup: 0 });
   * console.log(d.observe("a", "0:0", tensor("float32", [1], Float32Array.of(3)), 0)); // null
   * ```
   */
  observe(clinic: string, stepId: string, activation: Tensor, now: number): string | null {
    const x = rms(activation);
    const b = this.#clinics.get(clinic);
    if (!b) {
      this.#clinics.set(clinic, { ema: x, batches: 1, lastWarned: null, heldBack: 0 });
      return null;
    }
    const before = b.ema;
    b.ema = (1 - this.#alpha) * b.ema + this.#alpha * x;
    b.batches++;
    if (b.batches <= this.#warmup || !this.#far(x, before)) return null;
    if (b.lastWarned !== null && now - b.lastWarned < this.#intervalMs) {
      b.heldBack++;
      return null;
    }
    const held = b.heldBack > 0 ? `; ${b.heldBack} more such batches since the last warning` : "";
    b.lastWarned = now;
    b.heldBack = 0;
    const ratio = before > 0 ? `${(x / before).toPrecision(3)}×` : "far from";
    return `clinic ${clinic}: cut activation RMS ${
      x.toPrecision(3)
    } at step ${stepId} is ${ratio} its running ` +
      `baseline ${before.toPrecision(3)}${held}; check that clinic's input normalisation ` +
      `(next warning about it in ${Math.round(this.#intervalMs / 1000)} s at the earliest)`;
  }

  /** Whether `x` lies more than the factor away from `base`, either way. */
  #far(x: number, base: number): boolean {
    if (base === 0) return x > 0;
    return x > base * this.#factor || x < base / this.#factor;
  }
}
