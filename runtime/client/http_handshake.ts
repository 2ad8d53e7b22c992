/**
 * The initiator's side of a Noise IK handshake over HTTP in one request (the shape of both
 * the horizontal `/v1/handshake` and the vertical `/v1/vertical/handshake` routes): POST
 * message 1 (`crypto/channel`, with the protocol's channel options), read message 2 and the
 * session id header (`runtime/protocol/channel_settings.ts`), and finish into a channel.
 * `server_connection.ts` adds retries, a PSK, a cipher choice and coded refusals on top of
 * the same steps; this plain form serves the vertical party and test clients.
 *
 * @example
 * ```ts
 * import { postHandshake } from "./http_handshake.ts";
 * // const { channel, session } = await postHandshake({
 * //   url: "http://127.0.0.1:8080/v1/vertical/handshake", keyPair, serverPublicKey, what: "vertical handshake" });
 * ```
 * @module
 */
import { initiatorHandshake, type SecureChannel } from "../../crypto/channel/mod.ts";
import type { KeyPair } from "../../crypto/keys/mod.ts";
import { PROTOCOL_CHANNEL_OPTIONS, SESSION_HEADER } from "../protocol/channel_settings.ts";

/** Options of {@linkcode postHandshake}. */
export interface HttpHandshakeOptions {
  /** The handshake route's full URL. */
  url: string;
  keyPair: KeyPair;
  /** The server's static public key, pinned. */
  serverPublicKey: Uint8Array;
  /** Start of the error messages, e.g. `vertical handshake with http://…`. */
  what: string;
  /** Injected fetch (tests). */
  fetch?: typeof fetch;
}

/**
 * Runs the handshake in one POST; returns the channel, the session id and the reply's headers.
 *
 * @throws {Error} `<what>: HTTP <status> <body>` when the server refuses, and
 *   `<what>: no x-splitgate-session header` for a reply without a session id.
 * @example
 * ```ts
 * import { postHandshake } from "./http_handshake.ts";
 * console.log(typeof postHandshake); // "function"
 * ```
 */
export async function postHandshake(
  o: HttpHandshakeOptions,
): Promise<{ channel: SecureChannel; session: string; headers: Headers }> {
  const hs = initiatorHandshake({
    staticKeyPair: o.keyPair,
    serverPublicKey: o.serverPublicKey,
    channel: PROTOCOL_CHANNEL_OPTIONS,
  });
  const res = await (o.fetch ?? fetch)(o.url, {
    method: "POST",
    body: hs.message1 as Uint8Array<ArrayBuffer>,
  });
  if (!res.ok) throw new Error(`${o.what}: HTTP ${res.status} ${await res.text()}`);
  const session = res.headers.get(SESSION_HEADER);
  if (!session) throw new Error(`${o.what}: no ${SESSION_HEADER} header`);
  const channel = hs.finish(new Uint8Array(await res.arrayBuffer()));
  return { channel, session, headers: res.headers };
}
