/**
 * What replicas can run (docs/design/scale_out.md, "Rounds across replicas"), checked by the
 * trainer and, before anything starts, by `deno task server --role front|trainer` (a config
 * error: exit 2). Kept apart from the trainer so the command line can check a config without
 * loading a model.
 *
 * @module
 */
import type { ServerConfig } from "../server/server_config.ts";
import { ClusterError } from "./cluster_error.ts";

/**
 * Refuses a config that replicas cannot run: a schedule other than `splitfed`, or secure
 * aggregation of the fronts.
 *
 * @throws {ClusterError} `BAD_SCHEDULE`, naming the setting and what replicas need
 * @example
 * ```ts
 * import { checkReplicaSchedule } from "./replica_schedule.ts";
 * try { checkReplicaSchedule({ schedule: "parallel" }); } catch (e) { console.log((e as Error).message); }
 * // schedule "parallel": replicas need schedule "splitfed" (each trainer's replica is averaged with the others' at round ends)
 * ```
 */
export function checkReplicaSchedule(c: Pick<ServerConfig, "schedule" | "frontAggregation">): void {
  const schedule = c.schedule ?? "sequential";
  if (schedule !== "splitfed") {
    throw new ClusterError(
      "BAD_SCHEDULE",
      `schedule ${JSON.stringify(schedule)}: replicas need schedule "splitfed" (each trainer's replica is averaged with the others' at round ends)`,
    );
  }
  if (c.frontAggregation === "secagg") {
    throw new ClusterError(
      "BAD_SCHEDULE",
      `frontAggregation "secagg" is not supported with replicas (its rounds are driven by one server); use "relay" or clinicWeights "private"`,
    );
  }
}
