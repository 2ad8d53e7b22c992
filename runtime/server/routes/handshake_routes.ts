/**
 * `POST /handshake` (mounted under `/v1`): Noise IK (or IKpsk2) message 1 → message 2, with
 * headers `x-splitgate-session` (hex session id) and `x-splitgate-clinic` (the allowlist
 * name). A clinic's new handshake (a reconnect) retires its old session. The body is
 * limited to 1 KiB before any work (a message 1 is 96 bytes, 112 with the payload tag).
 *
 * @example
 * ```ts
 * import { handshakeRoutes } from "./handshake_routes.ts";
 * console.log(typeof handshakeRoutes); // "function"
 * ```
 * (tests/runtime/server/bad_input_test.ts, "handshake", serves as the running example.)
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type ChannelCipher, responderHandshake } from "../../../crypto/channel/mod.ts";
import { NoiseError } from "../../../crypto/errors.ts";
import { fingerprint } from "../../../crypto/keys/fingerprint.ts";
import { CLINIC_HEADER, PROTOCOL_CHANNEL_OPTIONS, SESSION_HEADER } from "../../protocol/mod.ts";
import { handshakeError, httpError } from "../http_error.ts";
import type { ServerDeps } from "../server_config.ts";
import type { ServerState } from "../server_state.ts";
import type { SessionTable } from "../session_table.ts";

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
  state: ServerState;
  sessions: SessionTable;
  now: () => number;
  log: (line: string) => void;
};

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * The handshake router.
 *
 * @example
 * ```ts
 * import { handshakeRoutes } from "./handshake_routes.ts";
 * // app.route("/v1", handshakeRoutes({ keyPair, allowlist, state, sessions, now, log }));
 * ```
 */
export function handshakeRoutes(d: HandshakeRouteDeps): Hono {
  const tooLarge = () => {
    throw httpError(413, "BODY_TOO_LARGE", `request body exceeds ${HANDSHAKE_MAX_BYTES} bytes`);
  };
  const app = new Hono();
  app.post("/handshake", bodyLimit({ maxSize: HANDSHAKE_MAX_BYTES, onError: tooLarge }), async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    let hs, asked: Uint8Array | undefined;
    try {
      hs = responderHandshake({
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
      if (e instanceof NoiseError) {
        // The operator's side of a refused clinic: which key knocked (to add it to the
        // allowlist, or to find a gateway with a stale key), never more of the message.
        const why = e.code === "UNKNOWN_PEER" ? "UNKNOWN_CLINIC, not in the allowlist" : `BAD_HANDSHAKE, ${e.code}`;
        d.log(`handshake refused: ${why}${asked ? `; clinic key ${fingerprint(asked)}` : ""}`);
        throw handshakeError(e);
      }
      throw e;
    }
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
