/**
 * Sequential round-robin over the allowlisted clinics (docs/design/faults_and_resume.md):
 * one clinic trains at a time for one pass over its data (its turn); an
 * epoch ends when every clinic in the order had its turn or was skipped. A clinic whose
 * turn it is but that sends nothing for `timeoutMs` (no TURN_REQUEST, no step) is skipped
 * ("clinic X offline, skipped") the next time anyone asks whose turn it is.
 *
 * Pure bookkeeping: the caller passes the clock and persists {@linkcode ScheduleState}.
 *
 * @example
 * ```ts
 * import { TurnSchedule } from "./turn_schedule.ts";
 * const s = new TurnSchedule(["a", "b"], { timeoutMs: 1000 }, 0);
 * console.log(s.poll("b", 10).turn); // "a"
 * console.log(s.poll("b", 2000).turn); // "b" (a was skipped)
 * ```
 * @module
 */

/**
 * The persisted part of a schedule.
 *
 * @example
 * ```ts
 * import type { ScheduleState } from "./turn_schedule.ts";
 * const s: ScheduleState = { epoch: 0, index: 0 };
 * ```
 */
export interface ScheduleState {
  /** Current epoch (0-based). */
  epoch: number;
  /** Index into the order of the clinic whose turn it is. */
  index: number;
  /** Parallel schedules: the clinics done with (or dropped from) the current round. */
  done?: string[];
  /** Parallel schedules: the clinics dropped from the current round. */
  dropped?: string[];
}

/** What changed in one call. */
export interface ScheduleEvent {
  /** Clinics skipped as offline. */
  skipped: string[];
  /** Epochs that ended. */
  epochsEnded: number[];
}

/**
 * Round-robin turn state.
 *
 * @example
 * ```ts
 * import { TurnSchedule } from "./turn_schedule.ts";
 * const s = new TurnSchedule(["a"], { timeoutMs: 10, epochs: 1 }, 0);
 * s.finishTurn("a", 0);
 * console.log(s.finished); // true
 * ```
 */
export class TurnSchedule {
  readonly kind = "sequential" as const;
  readonly order: readonly string[];
  readonly timeoutMs: number;
  readonly epochs: number | undefined;
  #epoch = 0;
  #index = 0;
  /** When the holder last showed a sign of life (or its turn began). */
  #holderSeen: number;

  /**
   * @param order clinic names in turn order (non-empty, distinct)
   * @param options `timeoutMs`: silence after which the holder is skipped; `epochs`: stop after this many
   * @param now the clock (ms)
   */
  constructor(order: readonly string[], options: { timeoutMs: number; epochs?: number }, now: number) {
    if (order.length === 0) throw new RangeError("turn order is empty: the allowlist names no clinic");
    if (new Set(order).size !== order.length) throw new RangeError(`turn order [${order}] repeats a clinic`);
    if (!(options.timeoutMs > 0)) throw new RangeError(`turn timeout ${options.timeoutMs} ms: expected > 0`);
    if (options.epochs !== undefined && !(Number.isInteger(options.epochs) && options.epochs >= 1)) {
      throw new RangeError(`epochs ${options.epochs}: expected a positive integer`);
    }
    this.order = [...order];
    this.timeoutMs = options.timeoutMs;
    this.epochs = options.epochs;
    this.#holderSeen = now;
  }

  /** Current epoch. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Whether every configured epoch is done. */
  get finished(): boolean {
    return this.epochs !== undefined && this.#epoch >= this.epochs;
  }

  /** The clinic whose turn it is (null when finished). */
  get holder(): string | null {
    return this.finished ? null : this.order[this.#index];
  }

  /** Whether it is `clinic`'s turn. */
  holds(clinic: string): boolean {
    return this.holder === clinic;
  }

  /** The persisted state. */
  get state(): ScheduleState {
    return { epoch: this.#epoch, index: this.#index };
  }

  /**
   * Restores persisted state; the holder's silence is counted from `now`.
   *
   * @throws {RangeError} for a state that does not fit this order.
   */
  restore(state: ScheduleState, now: number): void {
    if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.index) ||
      state.index < 0 || state.index >= this.order.length) {
      throw new RangeError(`schedule state ${JSON.stringify(state)} does not fit ${this.order.length} clinics`);
    }
    this.#epoch = state.epoch;
    this.#index = state.index;
    this.#holderSeen = now;
  }

  /** Records a sign of life of `clinic` (resets the holder's timeout). */
  seen(clinic: string, now: number): void {
    if (clinic === this.holder) this.#holderSeen = Math.max(this.#holderSeen, now);
  }

  /**
   * `clinic` asks whose turn it is: a silent holder is skipped first.
   *
   * @example
   * ```ts
   * import { TurnSchedule } from "./turn_schedule.ts";
   * const s = new TurnSchedule(["a", "b"], { timeoutMs: 5 }, 0);
   * console.log(s.poll("a", 1)); // { turn: "a", skipped: [], epochsEnded: [] }
   * ```
   */
  poll(clinic: string, now: number): ScheduleEvent & { turn: string | null } {
    this.seen(clinic, now);
    const ev: ScheduleEvent = { skipped: [], epochsEnded: [] };
    const holder = this.holder;
    if (holder !== null && holder !== clinic && now - this.#holderSeen > this.timeoutMs) {
      ev.skipped.push(holder);
      this.#advance(now, ev);
    }
    return { turn: this.holder, ...ev };
  }

  /**
   * Ends `clinic`'s turn of `epoch`; the next clinic's turn starts at `now`.
   *
   * @throws {Error} when it is not `clinic`'s turn of `epoch` (callers check first).
   */
  finishTurn(clinic: string, now: number): ScheduleEvent {
    if (clinic !== this.holder) throw new Error(`finishTurn: it is ${this.holder}'s turn, not ${clinic}'s`);
    const ev: ScheduleEvent = { skipped: [], epochsEnded: [] };
    this.#advance(now, ev);
    return ev;
  }

  #advance(now: number, ev: ScheduleEvent): void {
    this.#index++;
    if (this.#index === this.order.length) {
      ev.epochsEnded.push(this.#epoch);
      this.#epoch++;
      this.#index = 0;
    }
    this.#holderSeen = now;
  }
}
