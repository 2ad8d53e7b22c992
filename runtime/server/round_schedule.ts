/**
 * What the server's handlers ask of a schedule, whichever it is (docs/design/parallel_schedules.md):
 * `sequential` is {@linkcode TurnSchedule} (one clinic at a time, round-robin), `parallel` and
 * `splitfed` are {@linkcode ParallelRound} (every clinic of the round at once). The step
 * itself is the same code in all of them; a schedule only says who may step when, and when a
 * round ends.
 *
 * @example
 * ```ts
 * import type { RoundSchedule } from "./round_schedule.ts";
 * function mayStep(s: RoundSchedule, clinic: string) { return s.holds(clinic); }
 * ```
 * @module
 */
import type { ScheduleEvent, ScheduleState } from "./turn_schedule.ts";

/**
 * The server config's `schedule`.
 *
 * @example
 * ```ts
 * import { SCHEDULE_KINDS } from "./round_schedule.ts";
 * console.log(SCHEDULE_KINDS.join(" ")); // sequential parallel splitfed
 * ```
 */
export const SCHEDULE_KINDS = ["sequential", "parallel", "splitfed"] as const;

/**
 * A schedule kind.
 *
 * @example
 * ```ts
 * import type { ScheduleKind } from "./round_schedule.ts";
 * const k: ScheduleKind = "splitfed";
 * ```
 */
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/**
 * A schedule as the handlers use it.
 *
 * @example
 * ```ts
 * import type { RoundSchedule } from "./round_schedule.ts";
 * function where(s: RoundSchedule) { return `${s.kind} round ${s.epoch}`; }
 * ```
 */
export interface RoundSchedule {
  readonly kind: ScheduleKind;
  /** Every clinic of the training, in turn order. */
  readonly order: readonly string[];
  /** Silence after which a clinic holding a turn (or a round) is skipped (dropped). */
  readonly timeoutMs: number;
  /** Rounds to run (undefined: never finishes). */
  readonly epochs: number | undefined;
  /** The current round. */
  readonly epoch: number;
  readonly finished: boolean;
  /** Sequential: whose turn it is; parallel: the first clinic still stepping (null when finished). */
  readonly holder: string | null;
  /** The persisted part. */
  readonly state: ScheduleState;
  /** Whether `clinic` may step in the current round now. */
  holds(clinic: string): boolean;
  restore(state: ScheduleState, now: number): void;
  seen(clinic: string, now: number): void;
  poll(clinic: string, now: number): ScheduleEvent & { turn: string | null };
  finishTurn(clinic: string, now: number): ScheduleEvent;
}
