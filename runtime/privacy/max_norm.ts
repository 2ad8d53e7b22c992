/**
 * The max-norm label defence (Li et al., "Label Leakage and Protection in Two-party Split
 * Learning", ICLR 2022, §4.1 "max norm" heuristic): the party that holds the labels adds to
 * each sample's gradient g_j isotropic Gaussian noise N(0, σ_j² I) with
 * σ_j² = (‖g_max‖² − ‖g_j‖²)/d, g_max the batch's largest gradient and d its width, so that
 * every perturbed gradient has the same *expected* squared norm ‖g_max‖². That blinds the norm
 * attack in expectation at no optimisation cost; the direction attack is only weakened where
 * the added noise is large next to the gradient (samples far below the batch's max norm).
 * No differential-privacy guarantee: σ_j depends on the data.
 *
 * @example
 * ```ts
 * import { maxNormNoise } from "./max_norm.ts";
 * import { Rng } from "../data/rng.ts";
 * import { tensor } from "../../models/tensor.ts";
 * maxNormNoise(tensor("float32", [2, 2], new Float32Array([3, 4, 0.3, 0.4])), new Rng(1)).dims; // [2, 2]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";

/**
 * Returns `g` ([N, ...] float32) with the max-norm noise added to each row.
 *
 * @throws {TypeError} for a tensor that is not float32
 * @example
 * ```ts
 * import { maxNormNoise } from "./max_norm.ts";
 * import { Rng } from "../data/rng.ts";
 * import { tensor } from "../../models/tensor.ts";
 * // The largest row gets no noise.
 * maxNormNoise(tensor("float32", [1, 2], new Float32Array([3, 4])), new Rng(1)).data; // [3, 4]
 * ```
 */
export function maxNormNoise(g: Tensor, rng: { normal(): number }): Tensor<"float32"> {
  if (g.dtype !== "float32") throw new TypeError(`max-norm label defence: gradient must be float32, got ${g.dtype}`);
  const n = g.dims[0], src = g.data as Float32Array;
  const d = n === 0 ? 0 : src.length / n;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) sq[i] += src[i * d + k] ** 2;
  const max = sq.reduce((a, b) => Math.max(a, b), 0);
  const out = new Float32Array(src.length);
  for (let i = 0; i < n; i++) {
    const std = Math.sqrt(Math.max(0, max - sq[i]) / d);
    for (let k = 0; k < d; k++) out[i * d + k] = src[i * d + k] + (std > 0 ? std * rng.normal() : 0);
  }
  return tensor("float32", [...g.dims], out);
}
