/**
 * A trainer's round of the `splitfed` schedule across replicas (docs/design/scale_out.md,
 * "Rounds across replicas"): the study's clinics all step at once, as in
 * `runtime/server/parallel_round.ts`, but a trainer serves only the clinics assigned to it
 * (its *local* set), so its round waits only for those; the round's `order` stays the whole
 * clinic list (the `TURN` replies name it, and fronts are sealed to every clinic).
 *
 * The round does not end by itself: when every local clinic is through or dropped
 * ({@linkcode TrainerRound.localComplete}) the trainer writes its round partial and waits
 * for the others' (`replica_rounds.ts`), then calls {@linkcode TrainerRound.endRound} once
 * the partials cover the study. Meanwhile the local clinics are told to wait (`yours`: false).
 *
 * @example
 * ```ts
 * import { TrainerRound } from "./trainer_round.ts";
 * const r = new TrainerRound(["a", "b", "c"], { timeoutMs: 1000, epochs: 2 }, 0, ["a"]);
 * console.log(r.holds("a"), r.holds("b")); // true false
 * r.finishTurn("a", 10);
 * console.log(r.localComplete, r.epoch); // true 0
 * r.endRound(20);
 * console.log(r.epoch, r.holds("a")); // 1 true
 * ```
 * @module
 */
import { RoundBook, type RoundOptions } from "../server/round_book.ts";
import type { RoundSchedule } from "../server/round_schedule.ts";
import type { ScheduleEvent } from "../server/turn_schedule.ts";

/**
 * A trainer's view of the study's round.
 *
 * @example
 * ```ts
 * import { TrainerRound } from "./trainer_round.ts";
 * const r = new TrainerRound(["a", "b"], { timeoutMs: 10 }, 0, ["a", "b"]);
 * console.log(r.kind, r.holder); // splitfed a
 * ```
 */
export class TrainerRound extends RoundBook implements RoundSchedule {
  readonly kind = "splitfed" as const;
  #local: Set<string>;

  /**
   * @param order every clinic of the study (non-empty, distinct)
   * @param options `timeoutMs`: silence after which a stepping clinic is dropped; `epochs`: rounds to run
   * @param now the clock (ms)
   * @param local the clinics this trainer serves (a subset of `order`)
   * @throws {RangeError} for an empty or repeating order, a bad timeout or epoch count, or a
   *   local clinic outside the order
   */
  constructor(order: readonly string[], options: RoundOptions, now: number, local: Iterable<string>) {
    super(order, options, now);
    this.#local = this.#checkLocal(local);
  }

  #checkLocal(local: Iterable<string>): Set<string> {
    const s = new Set(local);
    for (const c of s) {
      if (!this.order.includes(c)) throw new RangeError(`local clinic ${JSON.stringify(c)}: expected a clinic of [${this.order}]`);
    }
    return s;
  }

  /** The first local clinic still stepping (null when none is, or when finished). */
  get holder(): string | null {
    if (this.finished) return null;
    return this.order.find((c) => this.#local.has(c) && !this.through(c)) ?? null;
  }

  /** The clinics this trainer serves, in order. */
  get local(): string[] {
    return this.order.filter((c) => this.#local.has(c));
  }

  /** Whether every local clinic is through the current round here (and the study is not finished). */
  get localComplete(): boolean {
    return !this.finished && this.local.every((c) => this.through(c));
  }

  /** The local clinics through the round (done, not dropped), in order. */
  get completed(): string[] {
    return this.local.filter((c) => this.through(c) && !this.wasDropped(c));
  }

  /** The local clinics dropped from the round, in order. */
  get dropped(): string[] {
    return this.local.filter((c) => this.wasDropped(c));
  }

  holds(clinic: string): boolean {
    return !this.finished && this.#local.has(clinic) && !this.through(clinic);
  }

  /** `clinic` asks where the round stands: local clinics silent past the timeout are dropped first. */
  poll(clinic: string, now: number): ScheduleEvent & { turn: string | null } {
    this.seen(clinic, now);
    const ev: ScheduleEvent = { skipped: [], epochsEnded: [] };
    if (!this.finished) ev.skipped.push(...this.dropSilent(this.local, clinic, now));
    return { turn: this.holder, ...ev };
  }

  /**
   * `clinic` is through its share of the round (the round itself ends by {@linkcode endRound}).
   *
   * @throws {Error} when `clinic` may not step in this round here (callers check first)
   */
  finishTurn(clinic: string, now: number): ScheduleEvent {
    if (!this.holds(clinic)) throw new Error(`finishTurn: ${clinic} is not stepping in round ${this.epoch} on this trainer`);
    this.seen(clinic, now);
    this.markDone(clinic);
    return { skipped: [], epochsEnded: [] };
  }

  /**
   * Takes over a new local set (the shard ring changed): clinics that join step from the
   * round's start (their silence counted from `now`, the takeover), unless `covered` says
   * another trainer's partial already holds their round.
   */
  setLocal(local: Iterable<string>, covered: Iterable<string> = [], now: number): void {
    const next = this.#checkLocal(local);
    for (const c of next) if (!this.#local.has(c)) this.reopen(c, now);
    for (const c of covered) if (next.has(c)) this.markDone(c);
    this.#local = next;
  }

  /** Puts local clinics back to stepping in the current round (their steps here were undone). */
  restart(clinics: Iterable<string>, now: number): void {
    for (const c of clinics) if (this.#local.has(c)) this.reopen(c, now);
  }

  /** Ends the current round (every clinic of the study is covered by a partial). */
  endRound(now: number): void {
    this.nextRound(now);
  }
}
