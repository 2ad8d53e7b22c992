/**
 * The error raised for a cut that does not separate a model, with its reasons as one
 * `as const` list (type and runtime check from one source), so callers and tests branch on
 * the code rather than on message text.
 *
 * @example
 * ```ts
 * import { SplitError } from "./split_error.ts";
 * const e = new SplitError("UNKNOWN_CUT", 'cut tensor "nope" is not produced by any node');
 * console.log(e.code); // "UNKNOWN_CUT"
 * ```
 * @module
 */

/**
 * Every reason a cut is refused:
 * - `UNKNOWN_CUT`: no node of the model produces the cut tensor.
 * - `CUT_ORDER`: the cuts are not ordered from the model's inputs to its outputs.
 * - `CUT_CROSSING`: a tensor other than the cut crosses it (a skip connection, or a raw
 *   model input read after the cut).
 * - `SHARED_WEIGHT`: one trainable weight is used on both sides of a cut.
 *
 * @example
 * ```ts
 * import { SPLIT_ERROR_CODES } from "./split_error.ts";
 * SPLIT_ERROR_CODES.includes("CUT_ORDER"); // true
 * ```
 */
export const SPLIT_ERROR_CODES = [
  "UNKNOWN_CUT",
  "CUT_ORDER",
  "CUT_CROSSING",
  "SHARED_WEIGHT",
] as const;

/**
 * One of {@linkcode SPLIT_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { SplitErrorCode } from "./split_error.ts";
 * const c: SplitErrorCode = "CUT_CROSSING";
 * ```
 */
export type SplitErrorCode = (typeof SPLIT_ERROR_CODES)[number];

const CODES: ReadonlySet<string> = new Set(SPLIT_ERROR_CODES);

/**
 * Whether `code` is a {@linkcode SplitErrorCode}.
 *
 * @example
 * ```ts
 * import { isSplitErrorCode } from "./split_error.ts";
 * isSplitErrorCode("CUT_ORDER"); // true
 * isSplitErrorCode("cut_order"); // false
 * ```
 */
export function isSplitErrorCode(code: string): code is SplitErrorCode {
  return CODES.has(code);
}

/**
 * A cut that does not work; `code` says why.
 *
 * @example
 * ```ts
 * import { SplitError } from "./split_error.ts";
 * const e = new SplitError("SHARED_WEIGHT", 'weight "w" is used on both sides of cut "c"');
 * if (e.code === "SHARED_WEIGHT") console.log("move the cut");
 * ```
 */
export class SplitError extends Error {
  /** Why the cut is refused; see {@linkcode SPLIT_ERROR_CODES}. */
  readonly code: SplitErrorCode;
  constructor(code: SplitErrorCode, message: string) {
    super(message);
    this.name = "SplitError";
    this.code = code;
  }
}
