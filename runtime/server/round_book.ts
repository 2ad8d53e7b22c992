/**
 * The bookkeeping of a round in which clinics step at once (docs/design/parallel_schedules.md):
 * the round number, who is through it (done or dropped), when each clinic was last heard from,
 * and the dropping of clinics silent past the timeout. The parallel schedules' round
 * (`parallel_round.ts`) and a trainer's round over its own clinics
 * (`runtime/cluster/trainer_round.ts`) extend it with who may step and when a round ends.
 *
 * Pure bookkeeping: the caller passes the clock and persists {@linkcode RoundBook.state}.
 *
 * @example
 * ```ts
 * import { RoundBook } from "./round_book.ts";
 * const book = new RoundBook(["a", "b"], { timeoutMs: 1000, epochs: 2 }, 0);
 * console.log(book.epoch, book.finished, book.state.done); // 0 false []
 * ```
 * @module
 */
import type { ScheduleState } from "./turn_schedule.ts";

/** A round's clock settings: `timeoutMs` of silence drops a clinic; `epochs` rounds are run. */
export interface RoundOptions {
  timeoutMs: number;
  epochs?: number;
}

/**
 * Round number, presence and silence of the clinics of one study's rounds.
 *
 * @example
 * ```ts
 * import { RoundBook } from "./round_book.ts";
 * const book = new RoundBook(["a"], { timeoutMs: 10, epochs: 1 }, 0);
 * book.restore({ epoch: 1, index: 0 }, 5);
 * console.log(book.finished); // true
 * ```
 */
export class RoundBook {
  /** Every clinic of the study, in order. */
  readonly order: readonly string[];
  /** Silence after which a clinic still stepping is dropped from the round. */
  readonly timeoutMs: number;
  /** Rounds to run (undefined: no end). */
  readonly epochs: number | undefined;
  #epoch = 0;
  /** Clinics through with the current round: done, or dropped. */
  #done = new Set<string>();
  #dropped = new Set<string>();
  /** When the current round began (silence counts from here at the earliest). */
  #roundStart: number;
  readonly #lastSeen = new Map<string, number>();

  /**
   * @param order the clinics (non-empty, distinct)
   * @param options `timeoutMs` > 0; `epochs` a positive integer when given
   * @param now the clock (ms)
   * @throws {RangeError} for an empty or repeating order, a timeout that is not positive, or an
   *   epoch count that is not a positive integer
   */
  constructor(order: readonly string[], options: RoundOptions, now: number) {
    if (order.length === 0) {
      throw new RangeError("clinic order is empty: the allowlist names no clinic");
    }
    if (new Set(order).size !== order.length) {
      throw new RangeError(`clinic order [${order}] repeats a clinic`);
    }
    if (!(options.timeoutMs > 0)) {
      throw new RangeError(`turn timeout ${options.timeoutMs} ms: expected > 0`);
    }
    if (
      options.epochs !== undefined && !(Number.isInteger(options.epochs) && options.epochs >= 1)
    ) {
      throw new RangeError(`epochs ${options.epochs}: expected a positive integer`);
    }
    this.order = [...order];
    this.timeoutMs = options.timeoutMs;
    this.epochs = options.epochs;
    this.#roundStart = now;
  }

  /** Current round. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Whether every configured round is done. */
  get finished(): boolean {
    return this.epochs !== undefined && this.#epoch >= this.epochs;
  }

  /** The persisted state. */
  get state(): ScheduleState {
    return { epoch: this.#epoch, index: 0, done: [...this.#done], dropped: [...this.#dropped] };
  }

  /**
   * Restores persisted state; silence is counted from `now`.
   *
   * @throws {RangeError} for a negative or fractional round, or a state naming clinics not in
   *   the order
   */
  restore(state: ScheduleState, now: number): void {
    const names = [...(state.done ?? []), ...(state.dropped ?? [])];
    if (
      !Number.isInteger(state.epoch) || state.epoch < 0 ||
      names.some((n) => !this.order.includes(n))
    ) {
      throw new RangeError(
        `schedule state ${JSON.stringify(state)} does not fit clinics [${this.order}]`,
      );
    }
    this.#epoch = state.epoch;
    this.#done = new Set(state.done ?? []);
    this.#dropped = new Set(state.dropped ?? []);
    this.#roundStart = now;
    this.#lastSeen.clear();
  }

  /** Records a sign of life of `clinic`. */
  seen(clinic: string, now: number): void {
    this.#lastSeen.set(clinic, Math.max(this.#lastSeen.get(clinic) ?? now, now));
  }

  /** Whether `clinic` is through the current round (done or dropped). */
  protected through(clinic: string): boolean {
    return this.#done.has(clinic);
  }

  /** Whether `clinic` was dropped from the current round. */
  protected wasDropped(clinic: string): boolean {
    return this.#dropped.has(clinic);
  }

  /** Marks `clinic` through the current round. */
  protected markDone(clinic: string): void {
    this.#done.add(clinic);
  }

  /** Puts `clinic` back to stepping in the current round; its silence counts from `now`. */
  protected reopen(clinic: string, now: number): void {
    this.#done.delete(clinic);
    this.#dropped.delete(clinic);
    this.#lastSeen.set(clinic, now);
  }

  /**
   * Drops the clinics of `candidates` (other than `asker`, who is plainly alive) that are still
   * stepping and were silent past the timeout (counted from the round's start at the
   * earliest): marks them through and dropped, and returns them in order.
   */
  protected dropSilent(candidates: Iterable<string>, asker: string, now: number): string[] {
    const dropped: string[] = [];
    for (const c of candidates) {
      if (this.#done.has(c) || c === asker) continue;
      const since = Math.max(this.#roundStart, this.#lastSeen.get(c) ?? this.#roundStart);
      if (now - since > this.timeoutMs) {
        dropped.push(c);
        this.#done.add(c);
        this.#dropped.add(c);
      }
    }
    return dropped;
  }

  /** Starts the next round at `now`; returns the round that ended. */
  protected nextRound(now: number): number {
    const ended = this.#epoch++;
    this.#done.clear();
    this.#dropped.clear();
    this.#roundStart = now;
    return ended;
  }
}
