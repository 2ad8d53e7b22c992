/**
 * The error class of splitgate's application protocol (the messages inside the Noise
 * channel): every way a decoded message or a request can be refused maps to a `code`, so
 * the server can answer with an HTTP status and a JSON error without parsing messages.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./protocol_error.ts";
 * try {
 *   throw new ProtocolError("WRONG_SHAPE", "activation: expected [N, 32, 7, 7], got [8, 32, 7]");
 * } catch (e) {
 *   if (e instanceof ProtocolError) console.log(e.code); // WRONG_SHAPE
 * }
 * ```
 * @module
 */

/**
 * Why a message or request was refused.
 *
 * - `BAD_MESSAGE`: unknown message type, missing or extra fields, bad JSON header.
 * - `WRONG_SHAPE` / `WRONG_DTYPE`: a tensor does not match what the receiver expects.
 * - `NON_FINITE` / `OUT_OF_RANGE`: a tensor holds a NaN or ±Infinity, or a value outside its
 *   range (labels of a binary cross-entropy outside [0, 1]; a cut activation beyond the
 *   server's `limits.maxActivation`); also a step the server refuses to apply because its
 *   loss, or a parameter, optimizer moment, running statistic or gradient it would produce,
 *   is not finite (or, with deferred updates, the next request of the clinic whose step's
 *   update was dropped for that reason).
 * - `WRONG_EPOCH`: a step or turn for another epoch than the server's current one.
 * - `NOT_YOUR_TURN`: a training request from a clinic whose turn it is not.
 * - `STEP_OUT_OF_ORDER`: a step id that is neither a retry of the last step nor its successor.
 * - `UNKNOWN_STEP`: a U-shape backward for a step whose forward the server does not hold.
 * - `WRONG_MODE`: a vanilla message to a U-shape server or the reverse.
 * - `TOO_MANY_ELEMENTS`: a tensor bundle larger than the receiver's element limit.
 * - `FINISHED`: training is over (all configured epochs done).
 * - `EXPORT_FORBIDDEN`: an `EXPORT` to a server whose policy does not allow it.
 * - `BAD_ENVELOPE`: a `TURN_DONE` blob that is not a sealed envelope from the sender to the
 *   clinic it is listed for, for the turn's epoch (`crypto/seal/sealed_envelope.ts`).
 *
 * @example
 * ```ts
 * import type { ProtocolErrorCode } from "./protocol_error.ts";
 * const c: ProtocolErrorCode = "WRONG_EPOCH";
 * ```
 */
export type ProtocolErrorCode =
  | "BAD_MESSAGE"
  | "WRONG_SHAPE"
  | "WRONG_DTYPE"
  | "WRONG_EPOCH"
  | "NOT_YOUR_TURN"
  | "STEP_OUT_OF_ORDER"
  | "UNKNOWN_STEP"
  | "WRONG_MODE"
  | "TOO_MANY_ELEMENTS"
  | "NON_FINITE"
  | "OUT_OF_RANGE"
  | "FINISHED"
  | "EXPORT_FORBIDDEN"
  | "BAD_ENVELOPE"
  | "PSI_TIMEOUT";

/**
 * A refused protocol message or request, with a machine-readable `code`.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./protocol_error.ts";
 * const e = new ProtocolError("BAD_MESSAGE", "unknown message type 99");
 * console.log(e.code, e.message); // BAD_MESSAGE unknown message type 99
 * ```
 */
export class ProtocolError extends Error {
  /** Machine-readable reason. */
  readonly code: ProtocolErrorCode;

  /** Makes an error with a stable code. */
  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}
