/**
 * Compares arrays by relative error of the norm, ‖a − b‖ / ‖b‖ (‖b‖ = 0: the absolute
 * norm), the measure used to check splitgate's gradients against a framework's.
 *
 * @example
 * ```ts
 * import { relativeError } from "./compare_arrays.ts";
 * import { tensor } from "../../models/tensor.ts";
 * relativeError(tensor("float32", [2], new Float32Array([1, 2])), tensor("float32", [2], new Float32Array([1, 2]))); // 0
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";

/**
 * ‖a − b‖₂ / ‖b‖₂, computed in float64; `Infinity` when the shapes differ.
 *
 * @example
 * ```ts
 * import { relativeError } from "./compare_arrays.ts";
 * // relativeError(ours, pytorch) <= 1e-3
 * ```
 */
export function relativeError(a: Tensor, b: Tensor): number {
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = Number(a.data[i]), y = Number(b.data[i]);
    num += (x - y) ** 2;
    den += y * y;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** One row of {@linkcode compareArrays}. */
export interface Comparison {
  name: string;
  error: number;
  ok: boolean;
}

/**
 * Compares every numeric array of `reference` that `ours` also has (and reports those it
 * lacks as failures).
 *
 * @example
 * ```ts
 * import { compareArrays } from "./compare_arrays.ts";
 * // compareArrays(outArrays, goldenArrays, 1e-3).every((r) => r.ok)
 * ```
 */
export function compareArrays(
  ours: ReadonlyMap<string, Tensor>,
  reference: ReadonlyMap<string, Tensor>,
  tolerance: number,
): Comparison[] {
  const rows: Comparison[] = [];
  for (const [name, ref] of reference) {
    const mine = ours.get(name);
    const error = mine ? relativeError(mine, ref) : Infinity;
    rows.push({ name, error, ok: error <= tolerance });
  }
  return rows;
}
