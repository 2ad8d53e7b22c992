/**
 * The error raised when shape inference cannot go on, with its reasons as one `as const`
 * list (as `GradError` has), so that callers branch on the code rather than on text.
 *
 * @example
 * ```ts
 * import { ShapeError } from "./shape_error.ts";
 * const e = new ShapeError(null, "shape rule for op Relu is defined in two families: a and b", "DUPLICATE_RULE");
 * console.log(e.code); // "DUPLICATE_RULE"
 * ```
 * @module
 */
import type { Node } from "../ir.ts";

/**
 * Every reason shape inference stops:
 * - `SHAPE`: a node's inputs or attributes do not allow inference (e.g. `auto_pad=SAME_UPPER`,
 *   a symbolic spatial dimension under Conv).
 * - `DUPLICATE_RULE`: two shape rule families define the same op (raised when the registry
 *   loads).
 *
 * @example
 * ```ts
 * import { SHAPE_ERROR_CODES } from "./shape_error.ts";
 * SHAPE_ERROR_CODES.includes("SHAPE"); // true
 * ```
 */
export const SHAPE_ERROR_CODES = ["SHAPE", "DUPLICATE_RULE"] as const;

/**
 * One of {@linkcode SHAPE_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { ShapeErrorCode } from "./shape_error.ts";
 * const c: ShapeErrorCode = "SHAPE";
 * ```
 */
export type ShapeErrorCode = (typeof SHAPE_ERROR_CODES)[number];

/**
 * An inference failure. With a node, the message names it (`node "c1" (Conv): …`); the
 * registry, which fails before any node, passes `null`.
 *
 * @example
 * ```ts
 * import { ShapeError } from "./shape_error.ts";
 * const node = { name: "c1", opType: "Conv", domain: "", inputs: [], outputs: [], attrs: {} };
 * new ShapeError(node, "spatial dimension 0 must be static").message;
 * // 'node "c1" (Conv): spatial dimension 0 must be static'
 * ```
 */
export class ShapeError extends Error {
  /** Why inference stopped; see {@linkcode SHAPE_ERROR_CODES}. */
  readonly code: ShapeErrorCode;
  constructor(node: Node | null, message: string, code: ShapeErrorCode = "SHAPE") {
    super(node ? `node ${JSON.stringify(node.name)} (${node.opType}): ${message}` : message);
    this.name = "ShapeError";
    this.code = code;
  }
}
