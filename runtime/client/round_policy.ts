/**
 * What a clinic learns of the server's schedule from its first `TURN` reply: the clinic
 * follows the server and has no schedule setting of its own (docs/design/parallel_schedules.md).
 * A reply without the `schedule` field is a sequential server.
 *
 * @example
 * ```ts
 * import { roundPolicy } from "./round_policy.ts";
 * console.log(roundPolicy({ schedule: "splitfed", clinicWeights: "private" })); // { kind: "splitfed", parallel: true, shareFronts: false }
 * ```
 * @module
 */
import { ClinicError } from "./clinic_error.ts";

/**
 * How this clinic's rounds go.
 *
 * @example
 * ```ts
 * import type { RoundPolicy } from "./round_policy.ts";
 * const p: RoundPolicy = { kind: "parallel", parallel: true, shareFronts: true };
 * ```
 */
export interface RoundPolicy {
  kind: "sequential" | "parallel" | "splitfed";
  /** Whether every clinic steps at once (fronts averaged at round ends) rather than in turns. */
  parallel: boolean;
  /** Whether this clinic seals its front to the others (sequential: always; parallel: unless private). */
  shareFronts: boolean;
  /**
   * `frontAggregation: "secagg"`: fronts are averaged by secure aggregation, never sealed to
   * anyone (`secure_front_average.ts`); absent: relayed.
   */
  secureFronts?: true;
}

/**
 * The sequential policy (before the first `TURN`).
 *
 * @example
 * ```ts
 * import { SEQUENTIAL } from "./round_policy.ts";
 * console.log(SEQUENTIAL.parallel); // false
 * ```
 */
export const SEQUENTIAL: RoundPolicy = Object.freeze({
  kind: "sequential",
  parallel: false,
  shareFronts: true,
});

/**
 * The policy a `TURN` reply announces.
 *
 * @throws {ClinicError} `CONFIG_MISMATCH` for a schedule or clinicWeights this clinic does not know
 * @example
 * ```ts
 * import { roundPolicy } from "./round_policy.ts";
 * console.log(roundPolicy({}).kind); // sequential
 * ```
 */
export function roundPolicy(
  turn: { schedule?: string; clinicWeights?: string; frontAggregation?: string },
): RoundPolicy {
  const kind = turn.schedule ?? "sequential";
  if (kind !== "sequential" && kind !== "parallel" && kind !== "splitfed") {
    throw new ClinicError(
      "CONFIG_MISMATCH",
      `the server's schedule ${
        JSON.stringify(kind)
      }: this clinic knows sequential, parallel and splitfed`,
    );
  }
  const weights = turn.clinicWeights ?? "averaged";
  if (weights !== "averaged" && weights !== "private") {
    throw new ClinicError(
      "CONFIG_MISMATCH",
      `the server's clinicWeights ${JSON.stringify(weights)}: expected "averaged" or "private"`,
    );
  }
  const aggregation = turn.frontAggregation ?? "relay";
  if (aggregation !== "relay" && aggregation !== "secagg") {
    throw new ClinicError(
      "CONFIG_MISMATCH",
      `the server's frontAggregation ${JSON.stringify(aggregation)}: expected "relay" or "secagg"`,
    );
  }
  if (kind === "sequential") return SEQUENTIAL;
  const shareFronts = weights === "averaged";
  return aggregation === "secagg" && shareFronts
    ? { kind, parallel: true, shareFronts, secureFronts: true }
    : { kind, parallel: true, shareFronts };
}
