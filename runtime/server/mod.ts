/**
 * The split-learning server (`deno task server`): a Hono app hosting the server segment,
 * per-clinic Noise sessions, round-robin turns, relayed sealed weights and checkpoints.
 *
 * The room, one concept per file: `app.ts` mounts the routers (`routes/`) with their
 * middleware (`middleware/`: phase timing, session lookup, streaming body limit,
 * loopback-only) over the state (`server_state.ts`, checkpointed with
 * `snapshot()`/`restore()`), the session table (`session_table.ts`) and the handler table
 * (`handler_table.ts`, one handler per request type in `handlers/`). The shared model is
 * guarded by `finite_state.ts` (no step applies a non-finite tensor; checkpoints are checked
 * on load) and watched by `activation_drift.ts` (per-clinic warnings on activation scale).
 * Handshakes pass the per-address and per-key token buckets (`token_buckets.ts`) and the
 * replay check of `handshake_timestamps.ts`; refusals are logged through `log_throttle.ts`.
 *
 * @example
 * ```ts
 * import { createServerApp } from "./mod.ts";
 * import { Allowlist } from "../../crypto/keys/allowlist.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/key_pair.ts";
 * const server = await createServerApp(
 *   { mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 }, engine: "wasm",
 *     model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } } },
 *   { keyPair: generateStaticKeyPair(), allowlist: new Allowlist([{ name: "a", publicKey: generateStaticKeyPair().publicKey }]) },
 * );
 * // Deno.serve({ port: 8443, hostname: "0.0.0.0" }, server.app.fetch);
 * console.log(server.status().turn); // "a"
 * await server.close();
 * ```
 * @module
 */
export { createServerApp, resumedAt, type ServerHandle } from "./app.ts";
export { type CoreOptions, createServerCore, type ServerCore } from "./server_core.ts";
export { epochsDone, roundEndLine, roundLabel, type RoundNaming } from "./round_label.ts";
export { type ResolvedServerConfig, resolveServerConfig, type ServerConfig, type ServerDeps } from "./server_config.ts";
export { type ClinicStatus, type ServerStatus, serverStatus } from "./server_status.ts";
export { CHECKPOINT_VERSION, type ClinicRecord, type Relay, ServerState } from "./server_state.ts";
export { type QueueTurn, type Session, SessionTable } from "./session_table.ts";
export { SerialLock } from "./serial_lock.ts";
export { HANDSHAKE_TIMESTAMPS_FILE, HandshakeTimestamps } from "./handshake_timestamps.ts";
export { type TokenBucketOptions, TokenBuckets } from "./token_buckets.ts";
export { LogThrottle } from "./log_throttle.ts";
export { gateBeforeDecode } from "./handlers/request_gates.ts";
export { handleRequest, HANDLERS } from "./handler_table.ts";
export type { Handler, HandlerContext, RequestOf } from "./handlers/handler_context.ts";
export { isLoopback, loopbackOnly } from "./middleware/loopback_only.ts";
export { countingStream, streamingBodyLimit } from "./middleware/streaming_body_limit.ts";
export { phaseTiming, type PhaseTimingEnv, RequestTimer } from "./middleware/phase_timing.ts";
export { type SessionEnv, sessionLookup } from "./middleware/session_lookup.ts";
export { CHECKPOINT_FILE, type CheckpointData, readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
export { frameError, handshakeError, httpError, protocolError, toHttpError } from "./http_error.ts";
export { DEFAULT_MAX_ACTIVATION, ServerModel, type ServerModelOptions, type StepTag } from "./server_model.ts";
export { describeNonFinite, FiniteUpdate, firstNonFiniteTensor, type NonFiniteTensor, requireFinite } from "./finite_state.ts";
export { ActivationDrift, type DriftOptions } from "./activation_drift.ts";
export { buildSplitModel, type ModelSpec, type SplitMode, type SplitModel } from "./split_model.ts";
export { type ScheduleEvent, type ScheduleState, TurnSchedule } from "./turn_schedule.ts";
