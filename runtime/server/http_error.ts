/**
 * Every refusal of the server as an HTTP status and a JSON body
 * `{"error": {"code", "message"}}` (Hono's `HTTPException` carries the response), mapped
 * from the error classes of the rooms below: {@linkcode ProtocolError} (messages),
 * `NoiseError` (handshake and frames), and the server's own codes.
 *
 * @example
 * ```ts
 * import { httpError } from "./http_error.ts";
 * const e = httpError(404, "UNKNOWN_SESSION", "no session 00ff");
 * console.log(e.status); // 404
 * ```
 * @module
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { NoiseError } from "../../crypto/errors.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { ServerModelError } from "./server_model.ts";

/** HTTP status of each protocol error code. */
const PROTOCOL_STATUS: Record<ProtocolError["code"], ContentfulStatusCode> = {
  BAD_MESSAGE: 400,
  WRONG_SHAPE: 422,
  WRONG_DTYPE: 422,
  TOO_MANY_ELEMENTS: 422,
  NON_FINITE: 422,
  OUT_OF_RANGE: 422,
  WRONG_EPOCH: 409,
  NOT_YOUR_TURN: 409,
  STEP_OUT_OF_ORDER: 409,
  UNKNOWN_STEP: 409,
  WRONG_MODE: 400,
  FINISHED: 409,
  EXPORT_FORBIDDEN: 403,
  BAD_ENVELOPE: 422,
  // The vertical PSI relay's wait ran out (sent inside the channel as V_ERROR, not as a status).
  PSI_TIMEOUT: 504,
};

/**
 * An `HTTPException` whose response is the JSON error body (with extra `headers`, e.g.
 * `retry-after`).
 *
 * @example
 * ```ts
 * import { httpError } from "./http_error.ts";
 * const res = httpError(413, "BODY_TOO_LARGE", "body over 1024 bytes").getResponse();
 * console.log(res.status); // 413
 * ```
 */
export function httpError(
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): HTTPException {
  const res = new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { ...headers, "content-type": "application/json" },
  });
  return new HTTPException(status, { res, message });
}

/**
 * Maps a `NoiseError` from opening request frames (after the session was found).
 *
 * @example
 * ```ts
 * import { frameError } from "./http_error.ts";
 * import { NoiseError } from "../../crypto/errors.ts";
 * console.log(frameError(new NoiseError("REPLAY", "seen")).status); // 409
 * ```
 */
export function frameError(e: NoiseError): HTTPException {
  switch (e.code) {
    case "REPLAY":
    case "OUTSIDE_WINDOW":
      return httpError(409, "REPLAY", `frame refused: ${e.message}`);
    case "BAD_TAG":
      // Vague on purpose (noble convention): no detail that would help a forger.
      return httpError(400, "BAD_TAG", "invalid tag");
    case "CLOSED":
      return httpError(404, "UNKNOWN_SESSION", "session is closed; handshake again");
    case "FRAME_TOO_LARGE":
    case "MESSAGE_TOO_LARGE":
      return httpError(413, "BODY_TOO_LARGE", e.message);
    default:
      return httpError(400, "MALFORMED_FRAME", `${e.code}: ${e.message}`);
  }
}

/**
 * What the clinic is told when the server cannot decrypt its handshake message 1. In Noise
 * IK (rev 34 §7.5) message 1's static key and payload are encrypted under keys mixed from
 * `es` and `ss`, i.e. from the server public key the clinic was configured with, and the
 * protocol name (IK or IKpsk2, ChaChaPoly or AESGCM) enters the handshake hash first (§5.2), so a
 * clinic holding another server public key, with a psk where the server has none (or the
 * reverse), or with another cipher,
 * fails exactly here. A wrong psk *value* fails later, at the clinic, on message 2 (psk2
 * mixes it in after message 1, §9). Tampering fails here too, so the hint says "usual", and
 * adds nothing an attacker could not read in this comment: no key, no fingerprint.
 */
const BAD_TAG_HINT = "handshake refused: invalid tag; the usual cause is a clinic configured with another " +
  "server public key (its serverPublicKey) or another psk or cipher setting than this server's";

/**
 * Maps a `NoiseError` from the handshake.
 *
 * @example
 * ```ts
 * import { handshakeError } from "./http_error.ts";
 * import { NoiseError } from "../../crypto/errors.ts";
 * console.log(handshakeError(new NoiseError("UNKNOWN_PEER", "no")).status); // 403
 * ```
 */
export function handshakeError(e: NoiseError): HTTPException {
  if (e.code === "UNKNOWN_PEER") return httpError(403, "UNKNOWN_CLINIC", "clinic key is not in the allowlist");
  if (e.code === "BAD_TAG") return httpError(400, "BAD_HANDSHAKE", BAD_TAG_HINT);
  if (e.code === "UNEXPECTED_PAYLOAD") {
    // Message 1 decrypted, so keys and psk agree: what is missing is the timestamp that
    // gateways send (crypto/channel/tai64n.ts).
    return httpError(400, "BAD_HANDSHAKE", "handshake refused: message 1 carries no 12-byte timestamp; " +
      "the gateway runs an older splitgate than this server (update it)");
  }
  return httpError(400, "BAD_HANDSHAKE", `handshake refused: ${e.code}`);
}

/**
 * Maps a {@linkcode ProtocolError}.
 *
 * @example
 * ```ts
 * import { protocolError } from "./http_error.ts";
 * import { ProtocolError } from "../protocol/protocol_error.ts";
 * console.log(protocolError(new ProtocolError("WRONG_DTYPE", "labels")).status); // 422
 * ```
 */
export function protocolError(e: ProtocolError): HTTPException {
  return httpError(PROTOCOL_STATUS[e.code] ?? 400, e.code, e.message);
}

/**
 * Maps anything thrown while handling a request; unexpected errors become 500 INTERNAL
 * without their detail (which could name server internals).
 *
 * @example
 * ```ts
 * import { toHttpError } from "./http_error.ts";
 * console.log(toHttpError(new Error("x")).status); // 500
 * ```
 */
export function toHttpError(e: unknown): HTTPException {
  if (e instanceof HTTPException) return e;
  if (e instanceof ProtocolError) return protocolError(e);
  if (e instanceof NoiseError) return frameError(e);
  // Names no internals: what failed, and that a restart resumes from the checkpoint.
  if (e instanceof ServerModelError) return httpError(503, e.code, e.message);
  return httpError(500, "INTERNAL", "internal error; see the server log");
}
