/**
 * A sliding anti-replay window over 64-bit counters (the bitmap scheme of
 * RFC 4303 §3.4.3 / RFC 6479), as Noise rev 34 §11.4 suggests for
 * transports that may reorder or replay messages.
 *
 * @module
 */
import { NoiseError } from "../errors.ts";

/**
 * Anti-replay window: accepts each counter at most once, and only counters
 * greater than `highest - size`. `check` never changes state; `commit` is
 * called only after the frame authenticated, so a forged frame cannot move
 * the window.
 *
 * @example
 * ```ts
 * import { ReplayWindow } from "./replay_window.ts";
 * const w = new ReplayWindow(64);
 * w.check(5n); w.commit(5n);
 * try { w.check(5n); } catch (e) { console.assert((e as { code: string }).code === "REPLAY"); }
 * ```
 */
export class ReplayWindow {
  /** Window size in counters. */
  readonly size: number;
  readonly #mask: bigint;
  #highest = -1n;
  // Bit i set <=> counter (highest - i) was accepted.
  #bitmap = 0n;

  /**
   * Creates an empty window.
   *
   * @param size window size, 1..4096 counters
   */
  constructor(size = 64) {
    if (!Number.isInteger(size) || size < 1 || size > 4096) {
      throw new RangeError(`replay window size must be an integer in [1, 4096], got ${size}`);
    }
    this.size = size;
    this.#mask = (1n << BigInt(size)) - 1n;
  }

  /**
   * The highest accepted counter, or -1n when none yet.
   *
   * @example
   * ```ts
   * import { ReplayWindow } from "./replay_window.ts";
   * console.assert(new ReplayWindow().highest === -1n);
   * ```
   */
  get highest(): bigint {
    return this.#highest;
  }

  /**
   * Throws if `counter` must be rejected; changes nothing.
   *
   * @throws {NoiseError} `REPLAY` (seen before) or `OUTSIDE_WINDOW` (too old).
   * @example
   * ```ts
   * import { ReplayWindow } from "./replay_window.ts";
   * const w = new ReplayWindow(4);
   * w.commit(10n);
   * try { w.check(6n); } catch (e) { console.assert((e as { code: string }).code === "OUTSIDE_WINDOW"); }
   * ```
   */
  check(counter: bigint): void {
    if (counter > this.#highest) return;
    const diff = this.#highest - counter;
    if (diff >= BigInt(this.size)) {
      throw new NoiseError(
        "OUTSIDE_WINDOW",
        `frame counter ${counter} is older than the replay window (highest ${this.#highest}, size ${this.size})`,
      );
    }
    if ((this.#bitmap >> diff) & 1n) {
      throw new NoiseError("REPLAY", `frame counter ${counter} was already received`);
    }
  }

  /**
   * Records `counter` as received. Call only after {@link ReplayWindow.check} passed
   * and the frame authenticated.
   *
   * @example
   * ```ts
   * import { ReplayWindow } from "./replay_window.ts";
   * const w = new ReplayWindow();
   * w.commit(3n);
   * console.assert(w.highest === 3n);
   * ```
   */
  commit(counter: bigint): void {
    if (counter > this.#highest) {
      const shift = counter - this.#highest;
      this.#bitmap = shift >= BigInt(this.size) ? 1n : ((this.#bitmap << shift) | 1n) & this.#mask;
      this.#highest = counter;
    } else {
      this.#bitmap |= 1n << (this.#highest - counter);
    }
  }
}
