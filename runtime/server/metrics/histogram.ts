/**
 * A Prometheus histogram: cumulative bucket counts over fixed upper bounds, a sum and a
 * count (Prometheus exposition format, "Histograms and summaries": each `_bucket{le=…}`
 * counts the observations <= its bound, the last is `le="+Inf"` and equals `_count`).
 *
 * @example
 * ```ts
 * import { Histogram } from "./histogram.ts";
 * const h = new Histogram([0.1, 1]);
 * h.observe(0.05);
 * h.observe(0.5);
 * console.log(h.cumulative(), h.count, h.sum); // [1, 2, 2] 2 0.55
 * ```
 * @module
 */

/**
 * Default bounds of `splitgate_step_seconds`, in seconds: a step of a small model on a CPU
 * takes milliseconds, one of a large model on a slow engine seconds.
 */
export const STEP_SECONDS_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Counts observations into buckets.
 *
 * @example
 * ```ts
 * import { Histogram } from "./histogram.ts";
 * try { new Histogram([1, 0.5]); } catch (e) { console.log((e as RangeError).message); }
 * // histogram bounds [1,0.5]: expected finite numbers in increasing order
 * ```
 */
export class Histogram {
  /** Upper bounds, increasing; `+Inf` is implied. */
  readonly bounds: readonly number[];
  readonly #counts: number[];
  /** Sum of the observed values. */
  sum = 0;
  /** Number of observations. */
  count = 0;

  constructor(bounds: readonly number[]) {
    if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]))) {
      throw new RangeError(`histogram bounds ${JSON.stringify(bounds)}: expected finite numbers in increasing order`);
    }
    this.bounds = [...bounds];
    this.#counts = new Array(bounds.length + 1).fill(0);
  }

  /** Counts `v` in the first bucket whose bound is >= v (`+Inf` when none). */
  observe(v: number): void {
    let i = this.bounds.findIndex((b) => v <= b);
    if (i < 0) i = this.bounds.length;
    this.#counts[i]++;
    this.sum += v;
    this.count++;
  }

  /** Cumulative counts, one per bound and the last for `+Inf`. */
  cumulative(): number[] {
    let run = 0;
    return this.#counts.map((n) => (run += n));
  }
}
