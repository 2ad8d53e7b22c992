/**
 * The split-learning server as a Hono app (docs: `runtime/server/mod.ts`): this file only
 * builds the parts and mounts them — the state ({@linkcode ServerState}: model, schedule,
 * clinics, relay; checkpointed with `snapshot()`/`restore()`), the session table, the
 * handler table (one handler per request type) and the routers, each with its middleware.
 *
 * Routes (binary bodies are `application/octet-stream`):
 * - `POST /v1/handshake` (`routes/handshake_routes.ts`): Noise IK message 1 → message 2,
 *   headers `x-splitgate-session` (hex session id) and `x-splitgate-clinic`; a replayed or
 *   stale message 1 is 409 `STALE_HANDSHAKE`, a flood 429 `RATE_LIMITED` with `Retry-After`.
 * - `POST /v1/session/:id/msg` (`routes/session_routes.ts`): the sealed frames of one
 *   request → the sealed frames of its reply, streamed both ways.
 * - `GET /health` → `{ok: true}`; `GET /v1/status` (`routes/status_routes.ts`) → clinics,
 *   epoch, step, turn, samples/s.
 * - `GET /metrics` (`routes/metrics_routes.ts`, Prometheus text) and `GET /dashboard`
 *   (`routes/dashboard_routes.ts`, a live page over Server-Sent Events), for the server's own
 *   host or a bearer token (`middleware/operator_access.ts`). With a checkpoint directory,
 *   every applied step is also appended to its `metrics.jsonl` (`metrics/metrics_log.ts`).
 *
 * Every refusal is a 4xx with `{"error": {"code", "message"}}`; body limits apply before
 * any decryption; one request at a time touches the model (a promise-chain lock), and a
 * refused request changes nothing (frames are checked before the channel commits them,
 * tensors before any graph runs, the optimizer runs last).
 *
 * @example
 * ```ts
 * import { createServerApp } from "./app.ts";
 * import { Allowlist } from "../../crypto/keys/allowlist.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/key_pair.ts";
 * const config = {
 *   mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 }, engine: "wasm",
 *   model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } },
 * } as const;
 * const clinic = generateStaticKeyPair();
 * const server = await createServerApp(config, {
 *   keyPair: generateStaticKeyPair(),
 *   allowlist: new Allowlist([{ name: "a", publicKey: clinic.publicKey }]),
 * });
 * console.log(await (await server.app.request("/health")).json()); // { ok: true }
 * await server.close();
 * ```
 * @module
 */
import { Hono } from "hono";
import { httpError, toHttpError } from "./http_error.ts";
import { loopbackOnly } from "./middleware/loopback_only.ts";
import { HandshakeTimestamps } from "./handshake_timestamps.ts";
import { handshakeRoutes } from "./routes/handshake_routes.ts";
import { sessionRoutes } from "./routes/session_routes.ts";
import { statusRoutes } from "./routes/status_routes.ts";
import type { ServerConfig, ServerDeps } from "./server_config.ts";
import type { ServerModel } from "./server_model.ts";
import { serverStatus, type ServerStatus } from "./server_status.ts";
import { SessionTable } from "./session_table.ts";
import type { StudyEnd } from "./study_end.ts";
import type { RoundSchedule } from "./round_schedule.ts";
import { dashboardSnapshot } from "./dashboard/dashboard_snapshot.ts";
import { prometheusText } from "./metrics/prometheus_text.ts";
import type { StudyMetrics } from "./metrics/study_metrics.ts";
import { operatorAccess } from "./middleware/operator_access.ts";
import { dashboardRoutes } from "./routes/dashboard_routes.ts";
import { metricsRoutes } from "./routes/metrics_routes.ts";
import { createServerCore } from "./server_core.ts";

export { resumedAt } from "./server_core.ts";

/**
 * A running server: the Hono app and a few handles for tests and the CLI.
 *
 * @example
 * ```ts
 * import type { ServerHandle } from "./app.ts";
 * function serve(h: ServerHandle) { return Deno.serve({ port: 0, hostname: "127.0.0.1" }, h.app.fetch); }
 * ```
 */
export interface ServerHandle {
  app: Hono;
  /** The server segment (weights, optimizer). */
  model: ServerModel;
  /** The schedule (round-robin turns, or the rounds of a parallel schedule). */
  schedule: RoundSchedule;
  /** Whether the state was resumed from a checkpoint. */
  resumed: boolean;
  /** The end of the study: whether it is finished, who has left (`LEAVE`). */
  end: StudyEnd;
  status(): ServerStatus;
  /** What `/metrics` and `/dashboard` show of the steps (since this server started). */
  metrics: StudyMetrics;
  /**
   * Ends the dashboard's open event streams (call before a graceful `Deno.serve` shutdown,
   * which waits for open responses; `close()` ends them too).
   */
  endLiveViews(): void;
  /** Writes a checkpoint now (also done after every turn). */
  checkpoint(): Promise<void>;
  /** Releases the engine sessions (and the engine, if the server created it). */
  close(): Promise<void>;
}

/**
 * Builds the server: compiles the model, loads the server segment on the engine, resumes
 * from the checkpoint in `config.checkpointDir` when there is one, and returns the app.
 *
 * @throws {TypeError} / {RangeError} for a config that cannot work (wrong cuts, empty
 *   allowlist, a checkpoint of another model).
 * @example
 * ```ts
 * import { createServerApp } from "./app.ts";
 * import { Allowlist } from "../../crypto/keys/allowlist.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/key_pair.ts";
 * try {
 *   await createServerApp({
 *     mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 },
 *     model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } }, limits: { maxBodyBytes: 10 },
 *   }, { keyPair: generateStaticKeyPair(), allowlist: new Allowlist([]) });
 * } catch (e) {
 *   console.log((e as RangeError).message); // limits.maxBodyBytes 10: expected an integer >= 1024
 * }
 * ```
 */
export async function createServerApp(config: ServerConfig, deps: ServerDeps): Promise<ServerHandle> {
  const core = await createServerCore(config, deps);
  const { state, ctx, model, schedule, end, metrics, study } = core;
  const { now, log } = ctx;
  const { maxBodyBytes, bodyTimeoutMs, handshakeRate } = core.resolved;
  const timestamps = await HandshakeTimestamps.load(config.checkpointDir);
  const sessions = new SessionTable();
  const status = () => serverStatus(state, sessions, now());

  const app = new Hono();
  app.onError((err) => {
    const h = toHttpError(err);
    if (h.status >= 500) log(`internal error: ${(err as Error)?.message ?? err}`);
    return h.getResponse();
  });
  app.notFound(() => httpError(404, "NOT_FOUND", "no such route").getResponse());
  app.get("/health", (c) => c.json({ ok: true }));
  app.route("/v1", statusRoutes(status, loopbackOnly(config.statusFrom ?? "loopback")));
  app.route("/v1", handshakeRoutes({
    keyPair: deps.keyPair,
    allowlist: deps.allowlist,
    psk: deps.psk,
    cipher: config.cipher,
    state,
    sessions,
    timestamps,
    ...handshakeRate,
    now,
    log,
  }));
  app.route("/v1/session", sessionRoutes({
    ctx,
    traffic: state,
    sessions,
    answer: core.answer,
    afterReply: core.afterReply,
    maxBodyBytes,
    bodyTimeoutMs,
  }));
  const operators = operatorAccess({ token: config.metricsToken });
  const liveViews = new AbortController();
  const engineName = config.engine ?? "native";
  app.route("/", metricsRoutes(() => prometheusText({ status: status(), metrics, engine: engineName, mode: config.mode }), operators));
  app.route("/", dashboardRoutes({
    snapshot: () => dashboardSnapshot({ status: status(), metrics, study, lastSeen: (n) => state.clinic(n).lastSeen, now: now() }),
    guard: operators,
    intervalMs: config.dashboardIntervalMs,
    signal: liveViews.signal,
  }));

  return {
    app,
    model,
    schedule,
    resumed: core.resumed,
    end,
    status,
    metrics,
    endLiveViews: () => liveViews.abort(),
    checkpoint: () => core.checkpoint(),
    async close() {
      liveViews.abort();
      sessions.closeAll();
      await core.close();
    },
  };
}
