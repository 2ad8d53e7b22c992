/**
 * Marvell, the optimised label defence of Li et al., "Label Leakage and Protection in Two-party
 * Split Learning", ICLR 2022, §4.2: the party holding the labels adds to each sample's gradient
 * zero-mean Gaussian noise whose covariance depends on the sample's class, chosen to minimise
 * the symmetrised KL divergence between the perturbed gradient distributions of the two
 * classes (an upper bound on how well *any* attack, norm and direction included, can tell them
 * apart) under a noise power budget P = s·‖ḡ₁ − ḡ₀‖² (s the `scale`).
 *
 * As in the paper, each class's gradients are modelled as N(ḡ_k, v_k I) (batch mean, mean
 * per-coordinate variance), and the optimal noise covariances take the form λ₁ᵏ ûûᵀ + λ₂ᵏ(I − ûûᵀ)
 * with û the unit vector along u = ḡ₁ − ḡ₀ (§4.2, Theorem 2). With a_k = v_k + λ₁ᵏ and
 * b_k = v_k + λ₂ᵏ the objective is
 *
 *   KL(1‖0) + KL(0‖1) = ½[a₁/a₀ + a₀/a₁ − 2 + (d − 1)(b₁/b₀ + b₀/b₁ − 2) + ‖u‖²(1/a₀ + 1/a₁)]
 *
 * subject to p(λ₁¹ + (d−1)λ₂¹) + (1 − p)(λ₁⁰ + (d−1)λ₂⁰) ≤ P, λ ≥ 0 (p the batch's positive
 * fraction). The paper solves it with a convex solver; here a grid search over how the power
 * splits between û and its complement and between the classes (41 points per axis), which is
 * all four scalars need. A batch with one class only gets no noise (u is undefined): with 64
 * samples and a prevalence of 0.26–0.74 that happens with probability < 1e-8 per batch.
 * No differential-privacy guarantee: the noise is fitted to the batch.
 *
 * @example
 * ```ts
 * import { marvellNoise } from "./marvell.ts";
 * import { Rng } from "../data/rng.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const g = tensor("float32", [2, 2], new Float32Array([-1, 0, 1, 0]));
 * marvellNoise(g, [1, 0], { scale: 1 }, new Rng(1)).dims; // [2, 2]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";

/** The four noise variances Marvell chose for a batch (class 1 and 0, along û and across). */
export interface MarvellPlan {
  along: [number, number];
  across: [number, number];
  /** ½ symmetrised KL of the modelled perturbed distributions (0 = indistinguishable). */
  kl: number;
  /** The power budget P = s·‖u‖². */
  power: number;
}

const GRID = 40;

function pairKl(a1: number, a0: number, extra: number): number {
  return a1 / a0 + a0 / a1 - 2 + extra * (1 / a0 + 1 / a1);
}

/** Best split r of power `pw` between the classes for one direction group. */
function bestSplit(pw: number, p: number, v1: number, v0: number, dims: number, gap2: number): { l1: number; l0: number; kl: number } {
  let best = { l1: 0, l0: 0, kl: Infinity };
  for (let i = 0; i <= GRID; i++) {
    const r = i / GRID;
    const l1 = p > 0 ? (r * pw) / (p * dims) : 0, l0 = p < 1 ? ((1 - r) * pw) / ((1 - p) * dims) : 0;
    const kl = dims * pairKl(v1 + l1, v0 + l0, gap2 / dims);
    if (kl < best.kl) best = { l1, l0, kl };
  }
  return best;
}

/**
 * The noise plan for class statistics: means' gap ‖u‖², per-coordinate variances v₁, v₀,
 * positive fraction p, width d, scale s.
 *
 * @example
 * ```ts
 * import { marvellPlan } from "./marvell.ts";
 * marvellPlan({ gap2: 4, v1: 0, v0: 0, p: 0.5, d: 1, scale: 1 }).power; // 4
 * ```
 */
export function marvellPlan(o: { gap2: number; v1: number; v0: number; p: number; d: number; scale: number }): MarvellPlan {
  const power = o.scale * o.gap2;
  // Floor the variances so that the ratios stay finite for gradients with no spread.
  const floor = 1e-12 * Math.max(o.gap2, 1e-30);
  const v1 = Math.max(o.v1, floor), v0 = Math.max(o.v0, floor);
  let best: MarvellPlan = { along: [0, 0], across: [0, 0], kl: Infinity, power };
  for (let i = 0; i <= GRID; i++) {
    const t = i / GRID;
    const u = bestSplit(t * power, o.p, v1, v0, 1, o.gap2);
    const w = o.d > 1 ? bestSplit((1 - t) * power, o.p, v1, v0, o.d - 1, 0) : { l1: 0, l0: 0, kl: 0 };
    const kl = (u.kl + w.kl) / 2;
    if (kl < best.kl) best = { along: [u.l1, u.l0], across: [w.l1, w.l0], kl, power };
  }
  return best;
}

/**
 * Returns `g` ([N, d...] float32) with Marvell noise for binary `labels` (one per row).
 *
 * @throws {TypeError} for a tensor that is not float32; {@linkcode RangeError} for a label
 *   count other than N, a label not 0/1, or a scale that is not ≥ 0
 * @example
 * ```ts
 * import { marvellNoise } from "./marvell.ts";
 * import { Rng } from "../data/rng.ts";
 * import { tensor } from "../../models/tensor.ts";
 * // One class only: returned unchanged.
 * marvellNoise(tensor("float32", [1, 2], new Float32Array([1, 2])), [1], { scale: 4 }, new Rng(1)).data; // [1, 2]
 * ```
 */
export function marvellNoise(g: Tensor, labels: ArrayLike<number>, o: { scale: number }, rng: { normal(): number }): Tensor<"float32"> {
  if (g.dtype !== "float32") throw new TypeError(`marvell label defence: gradient must be float32, got ${g.dtype}`);
  if (!(o.scale >= 0) || !Number.isFinite(o.scale)) throw new RangeError(`marvell: scale must be a finite number >= 0, got ${o.scale}`);
  const n = g.dims[0], src = g.data as Float32Array;
  if (labels.length !== n) throw new RangeError(`marvell: ${labels.length} labels for ${n} gradient rows`);
  const d = n === 0 ? 0 : src.length / n;
  const mean = [new Float64Array(d), new Float64Array(d)], count = [0, 0];
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new RangeError(`marvell: label ${i} is ${y}; expected 0 or 1`);
    count[y]++;
    for (let k = 0; k < d; k++) mean[y][k] += src[i * d + k];
  }
  if (count[0] === 0 || count[1] === 0 || o.scale === 0) return tensor("float32", [...g.dims], src.slice());
  for (const c of [0, 1]) for (let k = 0; k < d; k++) mean[c][k] /= count[c];
  const u = new Float64Array(d);
  let gap2 = 0;
  for (let k = 0; k < d; k++) (u[k] = mean[1][k] - mean[0][k]), (gap2 += u[k] ** 2);
  if (gap2 === 0) return tensor("float32", [...g.dims], src.slice());
  const var_ = [0, 0];
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) var_[labels[i]] += (src[i * d + k] - mean[labels[i]][k]) ** 2;
  const plan = marvellPlan({ gap2, v1: var_[1] / (count[1] * d), v0: var_[0] / (count[0] * d), p: count[1] / n, d, scale: o.scale });
  const norm = Math.sqrt(gap2);
  for (let k = 0; k < d; k++) u[k] /= norm;
  const out = new Float32Array(src.length);
  const xi = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const c = labels[i] === 1 ? 0 : 1; // plan index: [class 1, class 0]
    const sAlong = Math.sqrt(plan.along[c]), sAcross = Math.sqrt(plan.across[c]);
    let proj = 0;
    for (let k = 0; k < d; k++) (xi[k] = rng.normal()), (proj += xi[k] * u[k]);
    const z0 = rng.normal();
    for (let k = 0; k < d; k++) {
      out[i * d + k] = src[i * d + k] + sAlong * z0 * u[k] + sAcross * (xi[k] - proj * u[k]);
    }
  }
  return tensor("float32", [...g.dims], out);
}
