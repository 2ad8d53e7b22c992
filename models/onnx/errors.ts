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

/**
 * Every reason an ONNX file is refused:
 * - `NOT_ONNX`: the bytes do not decode as a `ModelProto`, or have no graph, IR version or
 *   opset import.
 * - `UNSUPPORTED_DTYPE`: a tensor or value of an ONNX data type splitgate has no dtype for.
 * - `EXTERNAL_DATA`: a tensor stored outside the file (save with weights embedded).
 * - `BAD_TENSOR`: a tensor whose data does not fill its shape.
 * - `SUBGRAPH`: a graph-valued attribute (If, Loop, Scan bodies).
 * - `UNSUPPORTED_ATTRIBUTE`: an attribute of a type the reader does not handle.
 *
 * @example
 * ```ts
 * import { ONNX_FORMAT_ERROR_CODES } from "./errors.ts";
 * ONNX_FORMAT_ERROR_CODES.includes("EXTERNAL_DATA"); // true
 * ```
 */
export const ONNX_FORMAT_ERROR_CODES = [
  "NOT_ONNX",
  "UNSUPPORTED_DTYPE",
  "EXTERNAL_DATA",
  "BAD_TENSOR",
  "SUBGRAPH",
  "UNSUPPORTED_ATTRIBUTE",
] as const;

/**
 * One of {@linkcode ONNX_FORMAT_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { OnnxFormatErrorCode } from "./errors.ts";
 * const c: OnnxFormatErrorCode = "NOT_ONNX";
 * ```
 */
export type OnnxFormatErrorCode = (typeof ONNX_FORMAT_ERROR_CODES)[number];

/** A malformed or unsupported ONNX file; `code` says which rule it broke. */
export class OnnxFormatError extends Error {
  /** Which rule the file broke; see {@linkcode ONNX_FORMAT_ERROR_CODES}. */
  readonly code: OnnxFormatErrorCode;
  constructor(code: OnnxFormatErrorCode, message: string) {
    super(message);
    this.name = "OnnxFormatError";
    this.code = code;
  }
}
