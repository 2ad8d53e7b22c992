/**
 * The round of the parallel schedules (`parallel`, `splitfed`; docs/design/parallel_schedules.md):
 * every clinic of the order steps at once against the server during a round; a clinic's
 * `TURN_DONE` says it is through its share of the round; the round ends when every clinic is
 * done or dropped. A clinic that is still stepping but sends nothing for `timeoutMs` (counted
 * from the round's start or its last request, whichever is later) is dropped from the round
 * the next time anyone asks where the round stands ("clinic X offline, dropped from round r"):
 * its steps already applied to the server segment stay applied, its front is not averaged
 * this round, and it rejoins at the next round from the average of the others.
 *
 * Pure bookkeeping, like {@linkcode TurnSchedule}: the caller passes the clock and persists
 * the state (a checkpoint is written at each round's end only, so a restarted server stands
 * at the start of a round and every clinic redoes that round: no step is applied twice).
 *
 * @example
 * ```ts
 * import { ParallelRound } from "./parallel_round.ts";
 * const r = new ParallelRound("parallel", ["a", "b"], { timeoutMs: 1000, epochs: 2 }, 0);
 * console.log(r.holds("a"), r.holds("b")); // true true
 * r.finishTurn("a", 10);
 * console.log(r.holds("a"), r.finishTurn("b", 20).epochsEnded); // false [0]
 * ```
 * @module
 */
import type { RoundSchedule } from "./round_schedule.ts";
import type { ScheduleEvent, ScheduleState } from "./turn_schedule.ts";

/**
 * Parallel round state.
 *
 * @example
 * ```ts
 * import { ParallelRound } from "./parallel_round.ts";
 * const r = new ParallelRound("splitfed", ["a"], { timeoutMs: 10, epochs: 1 }, 0);
 * r.finishTurn("a", 0);
 * console.log(r.finished); // true
 * ```
 */
export class ParallelRound implements RoundSchedule {
  readonly kind: "parallel" | "splitfed";
  readonly order: readonly string[];
  readonly timeoutMs: number;
  readonly epochs: number | undefined;
  #epoch = 0;
  /** Clinics through with the current round: done, or dropped. */
  #done = new Set<string>();
  #dropped = new Set<string>();
  /** When the current round began (silence counts from here at the earliest). */
  #roundStart: number;
  readonly #lastSeen = new Map<string, number>();

  /**
   * @param kind `parallel` or `splitfed`
   * @param order the clinics (non-empty, distinct)
   * @param options `timeoutMs`: silence after which a stepping clinic is dropped; `epochs`: rounds to run
   * @param now the clock (ms)
   */
  constructor(
    kind: "parallel" | "splitfed",
    order: readonly string[],
    options: { timeoutMs: number; epochs?: number },
    now: number,
  ) {
    checkRoundOptions(order, options);
    this.kind = kind;
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

  /** The first clinic still stepping in this round (null when finished). */
  get holder(): string | null {
    if (this.finished) return null;
    return this.order.find((c) => !this.#done.has(c)) ?? null;
  }

  /** The clinics that finished the current round (not those dropped), in order. */
  get completed(): string[] {
    return this.order.filter((c) => this.#done.has(c) && !this.#dropped.has(c));
  }

  /** Whether `clinic` may still step in the current round. */
  holds(clinic: string): boolean {
    return !this.finished && this.order.includes(clinic) && !this.#done.has(clinic);
  }

  /** The persisted state. */
  get state(): ScheduleState {
    return { epoch: this.#epoch, index: 0, done: [...this.#done], dropped: [...this.#dropped] };
  }

  /**
   * Restores persisted state; silence is counted from `now`.
   *
   * @throws {RangeError} for a state that names clinics not in the order
   */
  restore(state: ScheduleState, now: number): void {
    checkRoundState(state, this.order);
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

  /**
   * `clinic` asks where the round stands: clinics silent past the timeout are dropped first
   * (which may end the round).
   */
  poll(clinic: string, now: number): ScheduleEvent & { turn: string | null } {
    this.seen(clinic, now);
    const ev: ScheduleEvent = { skipped: [], epochsEnded: [] };
    if (!this.finished) {
      ev.skipped.push(...dropSilent(this.order, clinic, this.#presence(), now));
      this.#maybeEnd(now, ev);
    }
    return { turn: this.holder, ...ev };
  }

  /**
   * `clinic` is through its share of the round; ends the round when it was the last.
   *
   * @throws {Error} when `clinic` may not step in this round (callers check first)
   */
  finishTurn(clinic: string, now: number): ScheduleEvent {
    if (!this.holds(clinic)) {
      throw new Error(`finishTurn: ${clinic} is not stepping in round ${this.#epoch}`);
    }
    this.seen(clinic, now);
    this.#done.add(clinic);
    const ev: ScheduleEvent = { skipped: [], epochsEnded: [] };
    this.#maybeEnd(now, ev);
    return ev;
  }

  #presence(): RoundPresence {
    return { done: this.#done, dropped: this.#dropped, lastSeen: this.#lastSeen, roundStart: this.#roundStart, timeoutMs: this.timeoutMs };
  }

  #maybeEnd(now: number, ev: ScheduleEvent): void {
    if (this.#done.size < this.order.length) return;
    ev.epochsEnded.push(this.#epoch);
    this.#epoch++;
    this.#done.clear();
    this.#dropped.clear();
    this.#roundStart = now;
  }
}

/**
 * Who is through a round so far and when each clinic was last heard from: what a parallel
 * round (this file, and a trainer's round over its own clinics, `runtime/cluster/trainer_round.ts`)
 * drops silent clinics by.
 *
 * @example
 * ```ts
 * import type { RoundPresence } from "./parallel_round.ts";
 * const p: RoundPresence = { done: new Set(), dropped: new Set(), lastSeen: new Map(), roundStart: 0, timeoutMs: 1000 };
 * ```
 */
export interface RoundPresence {
  done: Set<string>;
  dropped: Set<string>;
  lastSeen: Map<string, number>;
  roundStart: number;
  timeoutMs: number;
}

/**
 * Drops the clinics of `candidates` (other than `asker`, who is plainly alive) that are still
 * stepping and were silent past the timeout (counted from the round's start at the earliest):
 * marks them done and dropped, and returns them in order.
 *
 * @example
 * ```ts
 * import { dropSilent } from "./parallel_round.ts";
 * const p = { done: new Set<string>(), dropped: new Set<string>(), lastSeen: new Map([["b", 900]]), roundStart: 0, timeoutMs: 500 };
 * console.log(dropSilent(["a", "b", "c"], "a", p, 1000)); // ["c"]
 * ```
 */
export function dropSilent(candidates: Iterable<string>, asker: string, p: RoundPresence, now: number): string[] {
  const dropped: string[] = [];
  for (const c of candidates) {
    if (p.done.has(c) || c === asker) continue;
    const since = Math.max(p.roundStart, p.lastSeen.get(c) ?? p.roundStart);
    if (now - since > p.timeoutMs) {
      dropped.push(c);
      p.done.add(c);
      p.dropped.add(c);
    }
  }
  return dropped;
}

/**
 * Refuses a persisted round state that cannot belong to `order`.
 *
 * @throws {RangeError} for a negative or fractional round, or a state naming clinics not in `order`
 * @example
 * ```ts
 * import { checkRoundState } from "./parallel_round.ts";
 * checkRoundState({ epoch: 1, index: 0, done: ["a"] }, ["a", "b"]); // fits
 * ```
 */
export function checkRoundState(state: ScheduleState, order: readonly string[]): void {
  const names = [...(state.done ?? []), ...(state.dropped ?? [])];
  if (!Number.isInteger(state.epoch) || state.epoch < 0 || names.some((n) => !order.includes(n))) {
    throw new RangeError(`schedule state ${JSON.stringify(state)} does not fit clinics [${order}]`);
  }
}

/**
 * Refuses a round's clinic order and options that cannot work (the parallel round's and a
 * trainer's round's constructors).
 *
 * @throws {RangeError} for an empty or repeating order, a timeout that is not positive, or an
 *   epoch count that is not a positive integer
 * @example
 * ```ts
 * import { checkRoundOptions } from "./parallel_round.ts";
 * try { checkRoundOptions([], { timeoutMs: 1 }); } catch (e) { console.log((e as Error).message); }
 * // clinic order is empty: the allowlist names no clinic
 * ```
 */
export function checkRoundOptions(order: readonly string[], options: { timeoutMs: number; epochs?: number }): void {
  if (order.length === 0) throw new RangeError("clinic order is empty: the allowlist names no clinic");
  if (new Set(order).size !== order.length) throw new RangeError(`clinic order [${order}] repeats a clinic`);
  if (!(options.timeoutMs > 0)) throw new RangeError(`turn timeout ${options.timeoutMs} ms: expected > 0`);
  if (options.epochs !== undefined && !(Number.isInteger(options.epochs) && options.epochs >= 1)) {
    throw new RangeError(`epochs ${options.epochs}: expected a positive integer`);
  }
}
