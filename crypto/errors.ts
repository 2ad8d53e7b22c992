/**
 * The one error class of the `crypto/` room.
 *
 * Every failure the room reports on purpose is a {@link NoiseError} whose
 * `code` is a stable SCREAMING_SNAKE string, so callers branch on `code`
 * rather than on message text. Messages name the offending value where that
 * is safe, and stay vague (`invalid tag`) where detail would help an attacker
 * (the noble-ciphers convention).
 *
 * @module
 */

/**
 * Stable error codes raised by the `crypto/` room.
 *
 * @example
 * ```ts
 * import type { NoiseErrorCode } from "./errors.ts";
 * const code: NoiseErrorCode = "BAD_TAG";
 * ```
 */
export type NoiseErrorCode =
  // Noise protocol layer (crypto/noise)
  | "UNSUPPORTED_PROTOCOL"
  | "INVALID_KEY"
  | "MISSING_KEY"
  | "LOW_ORDER_POINT"
  | "NONCE_EXHAUSTED"
  | "BAD_TAG"
  | "MESSAGE_TOO_LARGE"
  | "MALFORMED_MESSAGE"
  | "INVALID_STATE"
  | "PSK_MISMATCH"
  // transport channel (crypto/channel)
  | "MALFORMED_FRAME"
  | "FRAME_TOO_LARGE"
  | "REPLAY"
  | "OUTSIDE_WINDOW"
  | "CLOSED"
  | "TRUNCATED"
  | "OUT_OF_ORDER"
  | "DUPLICATE_CHUNK"
  | "CHUNK_TYPE_MISMATCH"
  | "UNKNOWN_PEER"
  | "UNEXPECTED_PAYLOAD"
  // sealed envelopes (crypto/seal/sealed_envelope.ts)
  | "ENVELOPE_INVALID"
  | "WRONG_RECIPIENT"
  | "WRONG_RUN"
  // key material (crypto/keys)
  | "KEY_FILE_MODE"
  | "KEY_FILE_INVALID"
  | "ALLOWLIST_INVALID"
  | "ALLOWLIST_DUPLICATE"
  | "ALLOWLIST_UNKNOWN_NAME"
  | "ALLOWLIST_CHANGED" // raised by runtime/keys/allowlist_file.ts: edited by two at once
  | "INVALID_NAME"
  // private set intersection (crypto/psi)
  | "PSI_INVALID_IDENTIFIER"
  | "PSI_INVALID_MESSAGE"
  | "PSI_INVALID_STATE";

/**
 * An error raised by the `crypto/` room, carrying a stable `code`.
 *
 * @example
 * ```ts
 * import { NoiseError } from "./errors.ts";
 * try {
 *   throw new NoiseError("REPLAY", "frame counter 7 was already received");
 * } catch (e) {
 *   if (e instanceof NoiseError && e.code === "REPLAY") {
 *     // drop the frame, keep the channel
 *   }
 * }
 * ```
 */
export class NoiseError extends Error {
  /** Stable machine-readable reason, e.g. `"BAD_TAG"`. */
  readonly code: NoiseErrorCode;

  /**
   * Creates an error with a stable code.
   *
   * @param code stable reason code
   * @param message human-readable explanation (never contains secrets)
   * @param options standard `ErrorOptions` (e.g. `cause`)
   */
  constructor(code: NoiseErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NoiseError";
    this.code = code;
  }
}

/**
 * Whether `e` is a {@link NoiseError}, optionally with the given code.
 *
 * @example
 * ```ts
 * import { isNoiseError, NoiseError } from "./errors.ts";
 * const e = new NoiseError("CLOSED", "channel is closed");
 * console.assert(isNoiseError(e, "CLOSED"));
 * console.assert(!isNoiseError(new Error("x")));
 * ```
 */
export function isNoiseError(e: unknown, code?: NoiseErrorCode): e is NoiseError {
  return e instanceof NoiseError && (code === undefined || e.code === code);
}
