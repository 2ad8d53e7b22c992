/**
 * The body of `GET /v1/status`: each allowlisted clinic (online, steps, traffic), the
 * schedule's position and the recent throughput.
 *
 * @example
 * ```ts
 * import type { ServerStatus } from "./server_status.ts";
 * const s: ServerStatus = { clinics: [], epoch: 0, step: 0, turn: "a", finished: false, samplesPerSec: 0 };
 * console.log(s.turn); // "a"
 * ```
 * @module
 */
import type { ServerState } from "./server_state.ts";
import type { SessionTable } from "./session_table.ts";

/**
 * A clinic's line in `GET /v1/status`.
 *
 * @example
 * ```ts
 * import type { ClinicStatus } from "./server_status.ts";
 * const s: ClinicStatus = { name: "a", online: true, steps: 3, bytesIn: 10, bytesOut: 20 };
 * ```
 */
export interface ClinicStatus {
  name: string;
  online: boolean;
  steps: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The body of `GET /v1/status`.
 *
 * @example
 * ```ts
 * import type { ServerStatus } from "./server_status.ts";
 * function turn(s: ServerStatus) { return s.turn; }
 * ```
 */
export interface ServerStatus {
  clinics: ClinicStatus[];
  /** The schedule's round (a data epoch when clinics take one turn per epoch). */
  epoch: number;
  /** Training steps applied, all clinics. */
  step: number;
  turn: string | null;
  finished: boolean;
  samplesPerSec: number;
}

/**
 * The status at time `now`: a clinic is online when it has a live session and was heard
 * from within the turn timeout.
 *
 * @example
 * ```ts
 * import { serverStatus } from "./server_status.ts";
 * // const body = serverStatus(state, sessions, Date.now());
 * ```
 * (tests/runtime/server/bad_input_test.ts, "status", shows the body.)
 */
export function serverStatus(state: ServerState, sessions: SessionTable, now: number): ServerStatus {
  const { schedule } = state;
  return {
    clinics: [...state.clinics.values()].map((c) => ({
      name: c.name,
      online: c.lastSeen !== null && now - c.lastSeen <= schedule.timeoutMs && sessions.hasClinic(c.name),
      steps: c.steps,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
    })),
    epoch: schedule.epoch,
    step: state.totalSteps,
    turn: schedule.holder,
    finished: schedule.finished,
    samplesPerSec: state.samplesPerSec(),
  };
}
