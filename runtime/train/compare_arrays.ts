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
  /**
   * The reference is zero to float32 precision (its norm is under {@linkcode NOISE_FLOOR} of
   * the largest gradient's), so `error` is measured against that floor instead of its own norm.
   */
  zero?: boolean;
}

/**
 * Below this fraction of the largest reference gradient's norm an array is zero to float32
 * precision: e.g. the bias of a BatchNormalization whose output feeds a convolution and another
 * training-mode BatchNormalization, which removes any per-channel shift, so the exact gradient is
 * 0 and both frameworks return rounding noise (~1e-9 against gradients of order 0.1 to 1). A relative
 * error of noise against noise means nothing; the absolute error against the floor does.
 */
export const NOISE_FLOOR = 1e-4;

function norm(t: Tensor): number {
  let s = 0;
  for (let i = 0; i < t.data.length; i++) s += Number(t.data[i]) ** 2;
  return Math.sqrt(s);
}

/**
 * Compares every numeric array of `reference` that `ours` also has (and reports those it
 * lacks as failures). An array whose reference is zero to float32 precision (see
 * {@linkcode NOISE_FLOOR}) is compared by its absolute error against that floor.
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
  let largest = 0;
  for (const [name, ref] of reference) if (name.startsWith("grad.")) largest = Math.max(largest, norm(ref));
  const floor = NOISE_FLOOR * largest;
  const rows: Comparison[] = [];
  for (const [name, ref] of reference) {
    const mine = ours.get(name);
    const refNorm = norm(ref);
    if (mine && name.startsWith("grad.") && refNorm < floor) {
      const diff = relativeError(mine, ref) * (refNorm === 0 ? 1 : refNorm); // ‖a − b‖
      const error = diff / floor;
      rows.push({ name, error, ok: error <= tolerance, zero: true });
      continue;
    }
    const error = mine ? relativeError(mine, ref) : Infinity;
    rows.push({ name, error, ok: error <= tolerance });
  }
  return rows;
}
