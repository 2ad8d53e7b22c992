/**
 * Steady-state training throughput: samples per second over the steps after a run's first
 * few, which pay for compiling and tiering up the engine (onnxruntime-web's wasm, the first
 * run of each session). On this project's development VM the first four steps of a fresh
 * process take 275, 209, 96 and 83 ms where later ones take 49 ms (central wasm, batch 64),
 * so a run of 32 steps spent a fifth of its time warming up; a throughput that counts those
 * steps depends on the run's length and flatters whichever side warmed up more. V8 goes on
 * tiering up the wasm for a few dozen steps more (the clinic front of that model: about
 * 30 ms per forward and backward at step 5, 20 ms from step 27 on), which five steps do not
 * cover; over a few hundred steps that tail no longer matters.
 *
 * @example
 * ```ts
 * import { SteadyRate } from "./steady_rate.ts";
 * const r = new SteadyRate(1);
 * r.add(64, 250); // warm-up, not counted
 * r.add(64, 50);
 * r.add(64, 50);
 * r.samplesPerSec; // 1280
 * ```
 * @module
 */

/** Steps of a run that {@linkcode SteadyRate} leaves out by default. */
export const WARMUP_STEPS = 5;

/**
 * Accumulates step durations and counts, leaving out the first `warmup` steps.
 *
 * @example
 * ```ts
 * import { SteadyRate } from "./steady_rate.ts";
 * const r = new SteadyRate();
 * for (let i = 0; i < 10; i++) r.add(64, 50);
 * r.steps; // 5: the first five were warm-up
 * ```
 */
export class SteadyRate {
  readonly warmup: number;
  #seen = 0;
  #samples = 0;
  #ms = 0;

  /**
   * @throws {RangeError} when `warmup` is not a non-negative integer
   */
  constructor(warmup = WARMUP_STEPS) {
    if (!Number.isInteger(warmup) || warmup < 0) {
      throw new RangeError(`warmup ${warmup} is invalid: expected a non-negative integer`);
    }
    this.warmup = warmup;
  }

  /**
   * Records one step of `samples` rows that took `ms` milliseconds.
   *
   * @throws {RangeError} when either is negative or not finite
   */
  add(samples: number, ms: number): void {
    if (!(Number.isFinite(samples) && samples >= 0) || !(Number.isFinite(ms) && ms >= 0)) {
      throw new RangeError(`step of ${samples} samples in ${ms} ms: expected finite, non-negative numbers`);
    }
    if (this.#seen++ < this.warmup) return;
    this.#samples += samples;
    this.#ms += ms;
  }

  /** Steps counted (after the warm-up). */
  get steps(): number {
    return Math.max(0, this.#seen - this.warmup);
  }

  /** Samples per second over the counted steps; null while none was counted. */
  get samplesPerSec(): number | null {
    return this.#ms > 0 ? this.#samples / (this.#ms / 1000) : null;
  }
}
