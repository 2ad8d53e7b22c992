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
import { RoundBook, type RoundOptions } from "./round_book.ts";
import type { RoundSchedule } from "./round_schedule.ts";
import type { ScheduleEvent } from "./turn_schedule.ts";

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
export class ParallelRound extends RoundBook implements RoundSchedule {
  readonly kind: "parallel" | "splitfed";

  /**
   * @param kind `parallel` or `splitfed`
   * @param order the clinics (non-empty, distinct)
   * @param options `timeoutMs`: silence after which a stepping clinic is dropped; `epochs`: rounds to run
   * @param now the clock (ms)
   * @throws {RangeError} for an empty or repeating order, a bad timeout or epoch count
   */
  constructor(kind: "parallel" | "splitfed", order: readonly string[], options: RoundOptions, now: number) {
    super(order, options, now);
    this.kind = kind;
  }

  /** The first clinic still stepping in this round (null when finished). */
  get holder(): string | null {
    if (this.finished) return null;
    return this.order.find((c) => !this.through(c)) ?? null;
  }

  /** The clinics that finished the current round (not those dropped), in order. */
  get completed(): string[] {
    return this.order.filter((c) => this.through(c) && !this.wasDropped(c));
  }

  /** Whether `clinic` may still step in the current round. */
  holds(clinic: string): boolean {
    return !this.finished && this.order.includes(clinic) && !this.through(clinic);
  }

  /**
   * `clinic` asks where the round stands: clinics silent past the timeout are dropped first
   * (which may end the round).
   */
  poll(clinic: string, now: number): ScheduleEvent & { turn: string | null } {
    this.seen(clinic, now);
    const ev: ScheduleEvent = { skipped: [], epochsEnded: [] };
    if (!this.finished) {
      ev.skipped.push(...this.dropSilent(this.order, clinic, now));
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
      throw new Error(`finishTurn: ${clinic} is not stepping in round ${this.epoch}`);
    }
    this.seen(clinic, now);
    this.markDone(clinic);
    const ev: ScheduleEvent = { skipped: [], epochsEnded: [] };
    this.#maybeEnd(now, ev);
    return ev;
  }

  #maybeEnd(now: number, ev: ScheduleEvent): void {
    if (this.order.every((c) => this.through(c))) ev.epochsEnded.push(this.nextRound(now));
  }
}
