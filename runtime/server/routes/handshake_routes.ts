/**
 * `POST /handshake` (mounted under `/v1`): Noise IK (or IKpsk2) message 1 → message 2, with
 * headers `x-splitgate-session` (hex session id) and `x-splitgate-clinic` (the allowlist
 * name). The body is limited to 1 KiB before any work (a message 1 is 108 bytes: 32 + 48 +
 * a 12-byte timestamp + its 16-byte tag).
 *
 * In order, each refusal before the work the next step costs:
 * 1. the peer address's token bucket (429 `RATE_LIMITED`, `Retry-After`), before any DH;
 * 2. the handshake itself (400 `BAD_HANDSHAKE`, 403 `UNKNOWN_CLINIC`);
 * 3. the timestamp (409 `STALE_HANDSHAKE`): message 1's encrypted TAI64N timestamp must be
 *    greater than the last accepted from that clinic key (`../handshake_timestamps.ts`,
 *    WireGuard paper §5.1), which refuses a replayed message 1, also after a restart;
 * 4. the clinic key's token bucket (429 `RATE_LIMITED`): only fresh, authenticated
 *    handshakes count, so replays of a clinic's message 1 cannot spend its tokens.
 * An accepted handshake opens a candidate session: the clinic's live session stays until
 * the new one's first authenticated frame (`../session_table.ts`). Refusals are logged at
 * most once per key or address per 10 s (`../log_throttle.ts`).
 *
 * @example
 * ```ts
 * import { handshakeRoutes } from "./handshake_routes.ts";
 * console.log(typeof handshakeRoutes); // "function"
 * ```
 * (tests/runtime/server/handshake_replay_test.ts serves as the running example.)
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type ChannelCipher, compareTai64n, type ResponderHandshake, responderHandshake } from "../../../crypto/channel/mod.ts";
import { NoiseError } from "../../../crypto/errors.ts";
import { fingerprint } from "../../../crypto/keys/fingerprint.ts";
import { CLINIC_HEADER, PROTOCOL_CHANNEL_OPTIONS, SESSION_HEADER } from "../../protocol/mod.ts";
import type { HTTPException } from "hono/http-exception";
import { handshakeError, httpError } from "../http_error.ts";
import type { ServerDeps } from "../server_config.ts";
import type { HandshakeTimestamps } from "../handshake_timestamps.ts";
import { LogThrottle } from "../log_throttle.ts";
import type { TrafficBook } from "../clinic_traffic.ts";
import type { SessionTable } from "../session_table.ts";
import { type TokenBucketOptions, TokenBuckets } from "../token_buckets.ts";

/** Largest handshake body accepted. */
const HANDSHAKE_MAX_BYTES = 1024;

/**
 * What the handshake route needs.
 *
 * @example
 * ```ts
 * import type { HandshakeRouteDeps } from "./handshake_routes.ts";
 * function who(d: HandshakeRouteDeps) { return d.allowlist.entries.map((e) => e.name); }
 * ```
 */
export type HandshakeRouteDeps = Pick<ServerDeps, "keyPair" | "allowlist" | "psk"> & {
  /** The channel's cipher (`ServerConfig.cipher`; default `"chachapoly"`). */
  cipher?: ChannelCipher;
  /** The clinics' traffic counters (`ServerState`; a front's own `TrafficCounters`). */
  state: TrafficBook;
  sessions: SessionTable;
  /** Last accepted message 1 timestamp per clinic key (a file, or a front's KV bucket). */
  timestamps: Pick<HandshakeTimestamps, "last" | "accept">;
  /** Handshakes per clinic key. */
  perKey: TokenBucketOptions;
  /** Handshakes per peer address. */
  perAddress: TokenBucketOptions;
  now: () => number;
  log: (line: string) => void;
};

/** The peer's address (Deno.serve's connection info in `c.env`; in-process requests have none). */
function peerAddress(env: unknown): string {
  return (env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname ?? "in-process";
}

/** 429 `RATE_LIMITED` with `Retry-After` in whole seconds (RFC 9110 §10.2.3). */
function rateLimited(who: string, waitMs: number): HTTPException {
  return httpError(429, "RATE_LIMITED", `too many handshakes from ${who}; retry in ${waitMs} ms`, {
    "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))),
  });
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * The handshake router.
 *
 * @example
 * ```ts
 * import { handshakeRoutes } from "./handshake_routes.ts";
 * // app.route("/v1", handshakeRoutes({ keyPair, allowlist, state, sessions, timestamps, perKey, perAddress, now, log }));
 * ```
 */
export function handshakeRoutes(d: HandshakeRouteDeps): Hono {
  const tooLarge = () => {
    throw httpError(413, "BODY_TOO_LARGE", `request body exceeds ${HANDSHAKE_MAX_BYTES} bytes`);
  };
  const byAddress = new TokenBuckets(d.perAddress), byKey = new TokenBuckets(d.perKey);
  const refusals = new LogThrottle(d.log);
  const app = new Hono();
  app.post("/handshake", bodyLimit({ maxSize: HANDSHAKE_MAX_BYTES, onError: tooLarge }), async (c) => {
    const from = peerAddress(c.env);
    const refuse = (key: string, line: string, e: HTTPException): never => {
      refusals.log(key, `handshake refused: ${line}`, d.now());
      throw e;
    };
    const wait = byAddress.take(from, d.now());
    if (wait > 0) refuse(`address ${from}`, `RATE_LIMITED, address ${from}`, rateLimited(`address ${from}`, wait));
    const body = new Uint8Array(await c.req.arrayBuffer());
    const hs = open(d, body, from, refuse);
    const fp = fingerprint(hs.peerPublicKey);
    const stale = (): never => {
      hs.channel.destroy();
      return refuse(
        `key ${fp}`,
        `STALE_HANDSHAKE, clinic ${hs.peerName} (key ${fp}), address ${from}: message 1 not newer than the last accepted`,
        httpError(409, "STALE_HANDSHAKE", "handshake message 1 is not newer than the last one accepted from this " +
          "clinic: a replay, or the clinic's clock went back (it is accepted again once the clock passes the last one)"),
      );
    };
    const last = d.timestamps.last(hs.peerPublicKey);
    if (last !== undefined && compareTai64n(hs.timestamp, last) <= 0) stale();
    const keyWait = byKey.take(fp, d.now());
    if (keyWait > 0) {
      hs.channel.destroy();
      refuse(`key ${fp}`, `RATE_LIMITED, clinic ${hs.peerName} (key ${fp})`, rateLimited(`clinic ${hs.peerName}`, keyWait));
    }
    if (!await d.timestamps.accept(hs.peerPublicKey, hs.timestamp)) stale();
    const id = hex(hs.channel.sessionId);
    d.sessions.open(id, hs.peerName, hs.channel);
    const st = d.state.clinic(hs.peerName);
    st.bytesIn += body.length;
    st.bytesOut += hs.message2.length;
    st.lastSeen = d.now();
    d.log(`clinic ${hs.peerName} connected (session ${id.slice(0, 8)})`);
    return c.body(hs.message2 as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
      [SESSION_HEADER]: id,
      [CLINIC_HEADER]: hs.peerName,
    });
  });
  return app;
}

/** Runs the responder's side of message 1, mapping its refusals (logged, throttled). */
function open(
  d: HandshakeRouteDeps,
  body: Uint8Array,
  from: string,
  refuse: (key: string, line: string, e: HTTPException) => never,
): ResponderHandshake {
  let asked: Uint8Array | undefined;
  try {
    return responderHandshake({
      staticKeyPair: d.keyPair,
      lookupPeer: (k) => {
        asked = k;
        return d.allowlist.lookup(k);
      },
      psk: d.psk,
      cipher: d.cipher,
      channel: PROTOCOL_CHANNEL_OPTIONS,
    }, body);
  } catch (e) {
    if (!(e instanceof NoiseError)) throw e;
    // The operator's side of a refused clinic: which key knocked (to add it to the
    // allowlist, or to find a gateway with a stale key), never more of the message.
    const why = e.code === "UNKNOWN_PEER" ? "UNKNOWN_CLINIC, not in the allowlist" : `BAD_HANDSHAKE, ${e.code}`;
    const key = asked ? `key ${fingerprint(asked)}` : `address ${from}`;
    return refuse(key, `${why}${asked ? `; clinic key ${fingerprint(asked)}` : ""}`, handshakeError(e));
  }
}
