/**
 * How a vertical split's server combines the parties' cut tensors, and how the gradient at
 * the combined tensor goes back to each party: with `fused = concat(z_1, …, z_K)` (feature
 * axis) ∂L/∂z_k is the k-th column block of ∂L/∂fused; with `fused = Σ z_k` it is ∂L/∂fused.
 *
 * @example
 * ```ts
 * import { fuse, splitGrad } from "./vertical_fusion.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const a = tensor("float32", [1, 1], new Float32Array([1])), b = tensor("float32", [1, 1], new Float32Array([2]));
 * console.log(fuse([a, b], "sum").data, splitGrad(fuse([a, b], "concat"), [1, 1], 1, "concat").data); // Float32Array [3] Float32Array [2]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";

/** How the parties' cut tensors are combined. */
export type FusionKind = "concat" | "sum";

/**
 * Width of the fused tensor.
 *
 * @throws {RangeError} for `sum` over unequal widths
 * @example
 * ```ts
 * import { fusedWidth } from "./vertical_fusion.ts";
 * console.log(fusedWidth([{ width: 2 }, { width: 3 }], "concat")); // 5
 * ```
 */
export function fusedWidth(parties: readonly { width: number }[], fusion: FusionKind): number {
  if (fusion === "concat") return parties.reduce((a, p) => a + p.width, 0);
  const w = parties[0].width;
  const other = parties.find((p) => p.width !== w);
  if (other) {
    throw new RangeError(
      `fusion "sum": every party's cut width must be equal, got ${parties.map((p) => p.width)}`,
    );
  }
  return w;
}

/**
 * Fuses the parties' cut tensors [N, w_k] in party order.
 *
 * @example
 * ```ts
 * import { fuse } from "./vertical_fusion.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const a = tensor("float32", [1, 2], new Float32Array([1, 2])), b = tensor("float32", [1, 1], new Float32Array([3]));
 * console.log(fuse([a, b], "concat").data); // Float32Array [1, 2, 3]
 * ```
 */
export function fuse(parts: readonly Tensor[], fusion: FusionKind): Tensor<"float32"> {
  const n = parts[0].dims[0];
  if (fusion === "sum") {
    const out = new Float32Array(parts[0].data.length);
    for (const p of parts) {
      const d = p.data as Float32Array;
      for (let i = 0; i < out.length; i++) out[i] += d[i];
    }
    return tensor("float32", [n, parts[0].dims[1]], out);
  }
  const width = parts.reduce((a, p) => a + p.dims[1], 0);
  const out = new Float32Array(n * width);
  let off = 0;
  for (const p of parts) {
    const w = p.dims[1], d = p.data as Float32Array;
    for (let r = 0; r < n; r++) out.set(d.subarray(r * w, (r + 1) * w), r * width + off);
    off += w;
  }
  return tensor("float32", [n, width], out);
}

/**
 * The gradient at party `k`'s cut from the gradient at the fused tensor.
 *
 * @example
 * ```ts
 * import { splitGrad } from "./vertical_fusion.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const g = tensor("float32", [1, 3], new Float32Array([1, 2, 3]));
 * console.log(splitGrad(g, [2, 1], 1, "concat").data); // Float32Array [3]
 * ```
 */
export function splitGrad(
  g: Tensor,
  widths: readonly number[],
  k: number,
  fusion: FusionKind,
): Tensor<"float32"> {
  const n = g.dims[0], d = g.data as Float32Array;
  if (fusion === "sum") return tensor("float32", [n, widths[k]], d.slice());
  const width = g.dims[1], off = widths.slice(0, k).reduce((a, w) => a + w, 0), w = widths[k];
  const out = new Float32Array(n * w);
  for (let r = 0; r < n; r++) out.set(d.subarray(r * width + off, r * width + off + w), r * w);
  return tensor("float32", [n, w], out);
}
