/**
 * The error raised when bytes are not an ONNX model splitgate can use.
 *
 * @example
 * ```ts
 * import { OnnxFormatError } from "./errors.ts";
 * throw new OnnxFormatError("NOT_ONNX", "model.onnx: not an ONNX ModelProto");
 * ```
 * @module
 */

/** A malformed or unsupported ONNX file; `code` says which rule it broke. */
export class OnnxFormatError extends Error {
  /** Machine-readable reason, e.g. `NOT_ONNX`, `UNSUPPORTED_DTYPE`, `EXTERNAL_DATA`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "OnnxFormatError";
    this.code = code;
  }
}
