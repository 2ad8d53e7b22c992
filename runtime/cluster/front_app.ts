/**
 * A scale-out front as a Hono app (docs/design/scale_out.md): the single server's handshake
 * and session routes (`runtime/server/routes/`), with the same body limits, body timeout,
 * handshake rate limits and error bodies, but no training state. A request's frames are
 * opened here and its plaintext message goes to the request bus (`bus_answer.ts`); the
 * trainer's reply is sealed here.
 *
 * What a front keeps, and why:
 * - The Noise sessions, in memory only (its own `SessionTable`): session keys never leave the
 *   front, since two processes sealing with one key would reuse nonces. A clinic whose session
 *   this front does not know gets 404 `UNKNOWN_SESSION`, handshakes again and re-sends.
 * - Handshake replay protection through the timestamps store it is given: the study's KV
 *   bucket (`KvHandshakeTimestamps`), shared by every front, so a message 1 answered by one
 *   front is refused by the others.
 * - Traffic counters per clinic, for its own log.
 *
 * Routes: `POST /v1/handshake`, `POST /v1/session/:id/msg`, `GET /health` → `{ok: true,
 * role: "front"}`.
 *
 * @example
 * ```ts
 * import { createFrontApp } from "./front_app.ts";
 * import { Allowlist } from "../../crypto/keys/allowlist.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/key_pair.ts";
 * import { HandshakeTimestamps } from "../server/handshake_timestamps.ts";
 * const front = createFrontApp({ mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 },
 *   model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } } }, {
 *   keyPair: generateStaticKeyPair(), allowlist: new Allowlist([]),
 * }, {
 *   sender: { send: () => Promise.reject(new Error("no bus")) },
 *   timestamps: await HandshakeTimestamps.load(undefined),
 * });
 * console.log(await (await front.app.request("/health")).json()); // { ok: true, role: "front" }
 * front.close();
 * ```
 * @module
 */
import { Hono } from "hono";
import { PhaseProfile } from "../protocol/phase_profile.ts";
import { TrafficCounters } from "../server/clinic_traffic.ts";
import type { HandshakeTimestamps } from "../server/handshake_timestamps.ts";
import { httpError, toHttpError } from "../server/http_error.ts";
import { handshakeRoutes } from "../server/routes/handshake_routes.ts";
import { sessionRoutes } from "../server/routes/session_routes.ts";
import { resolveServerConfig, type ServerConfig, type ServerDeps } from "../server/server_config.ts";
import { SessionTable } from "../server/session_table.ts";
import { busAnswer, type BusAnswerDeps } from "./bus_answer.ts";

/**
 * What the front talks to: the request bus and the shared handshake timestamps.
 *
 * @example
 * ```ts
 * import type { FrontBus } from "./front_app.ts";
 * function sender(b: FrontBus) { return b.sender; }
 * ```
 */
export interface FrontBus {
  /** The request bus (`RequestSender`). */
  sender: BusAnswerDeps["sender"];
  /** Last accepted handshake timestamp per clinic key (`KvHandshakeTimestamps`). */
  timestamps: Pick<HandshakeTimestamps, "last" | "accept">;
  /** Whether the front can reach the bus now (default: always); `/health` answers 503 when not. */
  reachable?: () => boolean;
}

/**
 * A front's app and its handles.
 *
 * @example
 * ```ts
 * import type { FrontHandle } from "./front_app.ts";
 * function serve(h: FrontHandle) { return Deno.serve({ port: 0, hostname: "127.0.0.1" }, h.app.fetch); }
 * ```
 */
export interface FrontHandle {
  app: Hono;
  /** The Noise sessions this front holds. */
  sessions: SessionTable;
  /** Bytes in and out per clinic through this front. */
  traffic: TrafficCounters;
  /** Destroys every session's keys (the process is ending). */
  close(): void;
}

/** The profile of a front: records nothing. */
const NO_PROFILE = new PhaseProfile(false);

/**
 * Builds a front from the server's config (its limits, handshake rates and cipher are used;
 * the model is not built) and its keys.
 *
 * @throws {RangeError} for limits that cannot work (as the single server)
 * @example
 * ```ts
 * import { createFrontApp } from "./front_app.ts";
 * // const front = createFrontApp(config, { keyPair, allowlist }, { sender, timestamps });
 * // Deno.serve({ port: 8443 }, front.app.fetch);
 * ```
 */
export function createFrontApp(config: ServerConfig, deps: ServerDeps, bus: FrontBus): FrontHandle {
  const now = deps.now ?? (() => Date.now());
  const log = deps.log ?? ((line: string) => console.log(line));
  const names = deps.allowlist.entries.map((e) => e.name);
  const { maxBodyBytes, bodyTimeoutMs, handshakeRate } = resolveServerConfig(config, names);
  const sessions = new SessionTable();
  const traffic = new TrafficCounters();
  const app = new Hono();
  app.onError((err) => {
    const h = toHttpError(err);
    // A 503 is the bus (no trainer answered in time, NATS gone): the clinic retries it.
    if (h.status === 503) log(`request refused, 503: ${h.message}`);
    else if (h.status >= 500) log(`internal error: ${(err as Error)?.message ?? err}`);
    return h.getResponse();
  });
  app.notFound(() => httpError(404, "NOT_FOUND", "no such route").getResponse());
  // A front that cannot reach NATS answers nothing but 503s: its load balancer should send
  // clinics elsewhere, so its health says so.
  app.get("/health", (c) =>
    (bus.reachable?.() ?? true)
      ? c.json({ ok: true, role: "front" })
      : c.json({ ok: false, role: "front", error: "NATS unreachable" }, 503));
  app.route("/v1", handshakeRoutes({
    keyPair: deps.keyPair,
    allowlist: deps.allowlist,
    psk: deps.psk,
    cipher: config.cipher,
    state: traffic,
    sessions,
    timestamps: bus.timestamps,
    ...handshakeRate,
    now,
    log,
  }));
  app.route("/v1/session", sessionRoutes({
    ctx: { profile: deps.profile ?? NO_PROFILE, log },
    traffic,
    sessions,
    answer: busAnswer({ sender: bus.sender, traffic, now }),
    maxBodyBytes,
    bodyTimeoutMs,
  }));
  return { app, sessions, traffic, close: () => sessions.closeAll() };
}
