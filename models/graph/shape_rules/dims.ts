/**
 * Arithmetic on dimensions that may be symbolic (`"N"`, or a product such as `"N*16"`):
 * ONNX multidirectional broadcasting, the product of a list of dimensions, and negative axis
 * normalisation (ONNX operator spec: an axis `a < 0` counts from the end, `a + rank`).
 *
 * @example
 * ```ts
 * import { broadcastShapes, product } from "./dims.ts";
 * broadcastShapes(["N", 1, 4], [3, 1]); // ["N", 3, 4]
 * product(["N", 4, 4]); // "N*16"
 * ```
 * @module
 */
import type { Dim } from "../ir.ts";

/**
 * Rank-aware broadcast of two shapes (ONNX multidirectional broadcasting).
 *
 * @throws {RangeError} when two static dimensions differ and neither is 1
 * @example
 * ```ts
 * import { broadcastShapes } from "./dims.ts";
 * broadcastShapes(["N", 3], [1]); // ["N", 3]
 * ```
 */
export function broadcastShapes(a: Dim[], b: Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else if (typeof da === "number" && typeof db === "number" && da !== db) {
      throw new RangeError(`cannot broadcast [${a}] with [${b}]`);
    } else out.push(typeof da === "number" ? da : db);
  }
  return out;
}

/**
 * The product of `dims`: a number when all are static, else the symbols joined by `*` with
 * the static part last (`["N", 4, 4]` → `"N*16"`, `["N"]` → `"N"`).
 *
 * @example
 * ```ts
 * import { product } from "./dims.ts";
 * product([2, 3]); // 6
 * product(["N", 2]); // "N*2"
 * ```
 */
export function product(dims: Dim[]): Dim {
  let n = 1;
  const sym: string[] = [];
  for (const d of dims) typeof d === "number" ? (n *= d) : sym.push(d);
  if (sym.length === 0) return n;
  return n === 1 && sym.length === 1
    ? sym[0]
    : `${[...sym, ...(n === 1 ? [] : [String(n)])].join("*")}`;
}

/**
 * Axis `a` of a rank-`r` tensor, a negative axis counted from the end.
 *
 * @example
 * ```ts
 * import { normAxis } from "./dims.ts";
 * normAxis(-1, 4); // 3
 * ```
 */
export const normAxis = (a: number, r: number): number => (a < 0 ? a + r : a);
