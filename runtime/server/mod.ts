/**
 * The split-learning server (`deno task server`): a Hono app hosting the server segment,
 * per-clinic Noise sessions, round-robin turns, relayed sealed weights and checkpoints.
 *
 * @example
 * ```ts
 * import { createServerApp } from "./mod.ts";
 * // const server = await createServerApp(config, { keyPair, allowlist });
 * // Deno.serve({ port: 8443, hostname: "0.0.0.0" }, server.app.fetch);
 * ```
 * @module
 */
export {
  type ClinicStatus,
  createServerApp,
  type ServerConfig,
  type ServerDeps,
  type ServerHandle,
  type ServerStatus,
} from "./app.ts";
export { CHECKPOINT_FILE, type CheckpointData, readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
export { frameError, handshakeError, httpError, protocolError, toHttpError } from "./http_error.ts";
export { ServerModel } from "./server_model.ts";
export { buildSplitModel, type ModelSpec, type SplitMode, type SplitModel } from "./split_model.ts";
export { type ScheduleEvent, type ScheduleState, TurnSchedule } from "./turn_schedule.ts";
