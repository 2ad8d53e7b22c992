/**
 * The weighted average of several copies of one segment's state (parameters, buffers and
 * optimizer state, by name): FedAvg's aggregation (McMahan et al. 2017, Algorithm 1: the
 * average of the clients' weights, each weighted by its sample count), used at the end of a
 * round of the parallel schedules for the clinics' fronts (`runtime/client/front_average.ts`)
 * and, in `splitfed` (SFLV1, Thapa et al. 2022 §3), for the server's per-clinic copies.
 *
 * Floating-point tensors (float32, float64) are averaged element-wise in float64 and written
 * back in their own dtype; any other dtype (integer counters) is taken from the copy with the
 * largest weight, since an average of counters is no counter. A name present in only some
 * copies (an optimizer slot a copy that never stepped lacks) is averaged over the copies that
 * hold it, their weights renormalised.
 *
 * @example
 * ```ts
 * import { averageStates } from "./state_average.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const a = new Map([["w", tensor("float32", [2], new Float32Array([0, 4]))]]);
 * const b = new Map([["w", tensor("float32", [2], new Float32Array([4, 0]))]]);
 * const avg = averageStates([{ state: a, weight: 3 }, { state: b, weight: 1 }]);
 * console.log(Array.from(avg.get("w")!.data as Float32Array)); // [1, 3]
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";

/**
 * One copy of a state and its weight (a sample count, or any non-negative number).
 *
 * @example
 * ```ts
 * import type { WeightedState } from "./state_average.ts";
 * const w: WeightedState = { state: new Map(), weight: 128 };
 * ```
 */
export interface WeightedState {
  state: ReadonlyMap<string, Tensor>;
  weight: number;
}

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.dtype === b.dtype && a.dims.length === b.dims.length &&
    a.dims.every((d, i) => d === b.dims[i]);
}

/**
 * The weighted average of `copies` (see the module documentation).
 *
 * @throws {RangeError} for no copies, a negative or non-finite weight, or weights summing to 0
 * @throws {TypeError} for two copies whose tensors of one name differ in dtype or shape
 * @example
 * ```ts
 * import { averageStates } from "./state_average.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const s = new Map([["b", tensor("float32", [1], new Float32Array([2]))]]);
 * console.log(averageStates([{ state: s, weight: 1 }]).get("b")!.data[0]); // 2
 * ```
 */
export function averageStates(copies: readonly WeightedState[]): Map<string, Tensor> {
  if (copies.length === 0) {
    throw new RangeError("averageStates: expected at least one copy, got none");
  }
  for (const [i, c] of copies.entries()) {
    if (!(Number.isFinite(c.weight) && c.weight >= 0)) {
      throw new RangeError(
        `averageStates: copy ${i} has weight ${c.weight}; expected a finite number >= 0`,
      );
    }
  }
  const names = new Set<string>();
  for (const c of copies) for (const k of c.state.keys()) names.add(k);
  const out = new Map<string, Tensor>();
  for (const name of names) {
    const holders = copies.filter((c) => c.state.has(name));
    const total = holders.reduce((a, c) => a + c.weight, 0);
    if (!(total > 0)) {
      throw new RangeError(
        `averageStates: the weights of the copies holding ${name} sum to ${total}; expected > 0`,
      );
    }
    out.set(
      name,
      averageOne(name, holders.map((c) => ({ t: c.state.get(name)!, w: c.weight / total }))),
    );
  }
  return out;
}

function averageOne(name: string, parts: { t: Tensor; w: number }[]): Tensor {
  const first = parts[0].t;
  for (const p of parts) {
    if (!sameShape(first, p.t)) {
      throw new TypeError(
        `averageStates: ${name} is ${first.dtype}[${first.dims}] in one copy and ${p.t.dtype}[${p.t.dims}] in another`,
      );
    }
  }
  if (first.dtype !== "float32" && first.dtype !== "float64") {
    const heaviest = parts.reduce((a, p) => (p.w > a.w ? p : a));
    return { dtype: first.dtype, dims: [...first.dims], data: heaviest.t.data.slice() } as Tensor;
  }
  const acc = new Float64Array(first.data.length);
  for (const { t, w } of parts) {
    const d = t.data as Float32Array | Float64Array;
    for (let i = 0; i < acc.length; i++) acc[i] += w * d[i];
  }
  const data = first.dtype === "float32" ? Float32Array.from(acc) : acc;
  return { dtype: first.dtype, dims: [...first.dims], data } as Tensor;
}
