/**
 * The error raised when a graph cannot be differentiated, with its reasons as one `as const`
 * list: the list gives both the {@linkcode GradErrorCode} type (a misspelt code does not
 * compile) and a runtime check ({@linkcode isGradErrorCode}), so callers and tests branch on
 * the code rather than on message text.
 *
 * @example
 * ```ts
 * import { GradError } from "./grad_error.ts";
 * const e = new GradError("UNSUPPORTED_OP", 'node "n": op Foo has no gradient rule');
 * console.log(e.code); // "UNSUPPORTED_OP"
 * ```
 * @module
 */

/**
 * Every reason a gradient cannot be built:
 * - `UNSUPPORTED_OP`: an op on the gradient path has no rule (or is outside `ai.onnx`).
 * - `UNSUPPORTED_ATTR`: a rule exists, but not for this attribute or input (e.g. a
 *   non-constant `axes`, `storage_order=1`, the gradient of `Pow`'s exponent).
 * - `UNSUPPORTED_OPSET`: the model's `ai.onnx` opset is older than the rules support.
 * - `UNSUPPORTED_MODEL`: the graph's outputs do not fit training (not exactly one logits).
 * - `UNSUPPORTED_LOSS`: an unknown loss name.
 * - `UNKNOWN_SHAPE`: a rule needs a static shape or axis that shape inference left open.
 * - `UNKNOWN_TENSOR`: a tensor name no node, input or initializer defines.
 * - `DUPLICATE_RULE`: two rule families define the same op, or an op has a rule and is also
 *   listed as non-differentiable (raised when the rule registry loads).
 *
 * @example
 * ```ts
 * import { GRAD_ERROR_CODES } from "./grad_error.ts";
 * GRAD_ERROR_CODES.includes("UNKNOWN_SHAPE"); // true
 * ```
 */
export const GRAD_ERROR_CODES = [
  "UNSUPPORTED_OP",
  "UNSUPPORTED_ATTR",
  "UNSUPPORTED_OPSET",
  "UNSUPPORTED_MODEL",
  "UNSUPPORTED_LOSS",
  "UNKNOWN_SHAPE",
  "UNKNOWN_TENSOR",
  "DUPLICATE_RULE",
] as const;

/**
 * One of {@linkcode GRAD_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { GradErrorCode } from "./grad_error.ts";
 * const c: GradErrorCode = "UNSUPPORTED_ATTR";
 * ```
 */
export type GradErrorCode = (typeof GRAD_ERROR_CODES)[number];

const CODES: ReadonlySet<string> = new Set(GRAD_ERROR_CODES);

/**
 * Whether `code` is a {@linkcode GradErrorCode}.
 *
 * @example
 * ```ts
 * import { isGradErrorCode } from "./grad_error.ts";
 * isGradErrorCode("UNKNOWN_SHAPE"); // true
 * isGradErrorCode("UNKNOWN_SHAPES"); // false
 * ```
 */
export function isGradErrorCode(code: string): code is GradErrorCode {
  return CODES.has(code);
}

/**
 * Raised when a graph cannot be differentiated; `code` says why.
 *
 * @example
 * ```ts
 * import { GradError } from "./grad_error.ts";
 * try {
 *   throw new GradError("UNSUPPORTED_LOSS", 'unknown loss "hinge": expected bce, ce or mse');
 * } catch (e) {
 *   if (e instanceof GradError && e.code === "UNSUPPORTED_LOSS") console.log("pick another loss");
 * }
 * ```
 */
export class GradError extends Error {
  /** Why the gradient cannot be built; see {@linkcode GRAD_ERROR_CODES}. */
  readonly code: GradErrorCode;
  constructor(code: GradErrorCode, message: string) {
    super(message);
    this.name = "GradError";
    this.code = code;
  }
}
