/**
 * The one error class of the tensor wire codec: every way a received message
 * can be wrong maps to a {@linkcode CodecError} with a machine-readable `code`
 * and the name of the offending header `field`, so the server can refuse a
 * message (and count refusals) without parsing error strings.
 *
 * @example
 * ```ts
 * import { CodecError } from "./codec_error.ts";
 * try {
 *   throw new CodecError("TRUNCATED", "dims[1]", "needs 4 bytes, 2 left");
 * } catch (e) {
 *   if (e instanceof CodecError) console.log(e.code, e.field); // TRUNCATED dims[1]
 * }
 * ```
 * @module
 */

/**
 * Why a message was refused.
 *
 * - `MALFORMED`: a field holds a value the format does not allow (bad magic,
 *   non-zero reserved byte, inconsistent lengths, index out of range...).
 * - `TRUNCATED`: the message ends before a declared field or payload does.
 * - `TOO_LARGE`: a declared size exceeds the receiver's {@linkcode DecodeLimits}.
 * - `BOMB`: the compressed payload inflates to more bytes than declared.
 * - `BAD_DTYPE`: an unknown element type, or a wire type that cannot carry the
 *   declared source type.
 * - `UNSUPPORTED`: a version, compression or padding scheme this decoder does
 *   not implement.
 *
 * @example
 * ```ts
 * import type { CodecErrorCode } from "./codec_error.ts";
 * const c: CodecErrorCode = "BOMB";
 * ```
 */
export type CodecErrorCode =
  | "MALFORMED"
  | "TRUNCATED"
  | "TOO_LARGE"
  | "BOMB"
  | "BAD_DTYPE"
  | "UNSUPPORTED";

/**
 * A received message that the codec refuses. `field` names the header field
 * (or payload part) that was found wrong, e.g. `"dims[2]"`, `"quant.scale[5]"`.
 *
 * @example
 * ```ts
 * import { CodecError } from "./codec_error.ts";
 * const e = new CodecError("TOO_LARGE", "dims", "shape [1048576, 1048576] has 2^40 elements");
 * console.log(e.message); // "dims: shape [1048576, 1048576] has 2^40 elements"
 * ```
 */
export class CodecError extends Error {
  /** Machine-readable reason. */
  readonly code: CodecErrorCode;
  /** The header field or payload part at fault. */
  readonly field: string;

  /** Makes an error whose message starts with the field name. */
  constructor(code: CodecErrorCode, field: string, detail: string, options?: ErrorOptions) {
    super(`${field}: ${detail}`, options);
    this.name = "CodecError";
    this.code = code;
    this.field = field;
  }
}
