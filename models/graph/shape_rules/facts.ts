/**
 * What shape inference knows about a tensor ({@linkcode TensorFacts}), the map of those
 * facts by tensor name, and the readers that turn a constant tensor into tracked values: the
 * elements of a small integer tensor (shape arithmetic such as `Shape → Gather → Concat →
 * Reshape`) and of a small 1-D float tensor (Resize's scales).
 *
 * @example
 * ```ts
 * import { type Facts, tensorValue } from "./facts.ts";
 * import { tensor } from "../../tensor.ts";
 * const facts: Facts = new Map();
 * const t = tensor("int64", [2], BigInt64Array.of(3n, 4n));
 * facts.set("shape", { dtype: t.dtype, shape: [...t.dims], value: tensorValue(t) });
 * console.log(facts.get("shape")?.value); // [3, 4]
 * ```
 * @module
 */
import type { DType, Tensor } from "../../tensor.ts";
import type { Dim } from "../ir.ts";

/** What is known about one tensor. */
export interface TensorFacts {
  dtype: DType;
  shape?: Dim[];
  /** Element values of a small integer tensor, when computable (possibly symbolic). */
  value?: Dim[];
  /** Element values of a small 1-D float tensor given as a constant (Resize's scales). */
  floats?: number[];
}

/** A map from tensor name to what is known about it. */
export type Facts = Map<string, TensorFacts>;

/**
 * The elements of a small integer tensor (rank at most 1, at most 64 elements, int64 or
 * int32), for {@linkcode TensorFacts.value}; `undefined` for any other tensor.
 *
 * @example
 * ```ts
 * import { tensorValue } from "./facts.ts";
 * import { tensor } from "../../tensor.ts";
 * tensorValue(tensor("int32", [3], Int32Array.of(1, -1, 4))); // [1, -1, 4]
 * tensorValue(tensor("float32", [1], Float32Array.of(1))); // undefined
 * ```
 */
export function tensorValue(t: Tensor): Dim[] | undefined {
  if (t.dims.length > 1 || t.data.length > 64) return undefined;
  if (t.dtype === "int64") return Array.from(t.data as BigInt64Array, Number);
  if (t.dtype === "int32") return Array.from(t.data as Int32Array);
  return undefined;
}

/**
 * The elements of a small 1-D float tensor (at most 64), for {@linkcode TensorFacts.floats}.
 *
 * @example
 * ```ts
 * import { floatValues } from "./facts.ts";
 * import { tensor } from "../../tensor.ts";
 * floatValues(tensor("float32", [4], Float32Array.of(1, 1, 2, 2))); // [1, 1, 2, 2]
 * ```
 */
export function floatValues(t: Tensor): number[] | undefined {
  if (t.dims.length !== 1 || t.data.length > 64) return undefined;
  if (t.dtype === "float32" || t.dtype === "float64") return Array.from(t.data as Float32Array);
  return undefined;
}
