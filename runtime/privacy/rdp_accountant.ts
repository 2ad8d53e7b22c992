/**
 * Rényi-DP accounting (Mironov, "Rényi Differential Privacy", CSF 2017) of the Gaussian
 * mechanisms a clinic runs, converted to (ε, δ)-DP at a stated δ.
 *
 * - Gaussian mechanism, L2 sensitivity Δ, noise std s: RDP ε(α) = α·Δ²/(2s²) = α/(2σ²)
 *   with the noise multiplier σ = s/Δ (Mironov 2017, Proposition 7).
 * - Sampled Gaussian mechanism (each record in the batch independently with probability q):
 *   for integer α ≥ 2, ε(α) = log(A_α)/(α − 1) with
 *   A_α = Σ_{k=0..α} C(α, k) (1 − q)^{α−k} q^k exp((k² − k)/(2σ²))
 *   (Mironov, Talwar & Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism",
 *   2019, §3.3, eq. for integer α). q = 1 gives back α/(2σ²).
 * - Composition: RDP ε(α) adds over mechanisms (Mironov 2017, Proposition 1).
 * - Conversion to (ε, δ): the least over the orders of two valid bounds: Mironov 2017,
 *   Proposition 3, ε = ε(α) + log(1/δ)/(α − 1); and Balle, Barthe, Gaboardi, Hsu & Sato,
 *   "Hypothesis Testing Interpretations and Rényi Differential Privacy", AISTATS 2020,
 *   Theorem 21, ε = ε(α) + log((α − 1)/α) − (log δ + log α)/(α − 1).
 *
 * What a clinic's cut noise is worth (`cutNoiseAccount`): each training record's clipped
 * activation row (L2 norm ≤ C) is released once per epoch with N(0, (σC)²) per coordinate.
 * Under substitution of one record (its features), the row moves by at most 2C, so each
 * release is a Gaussian mechanism with multiplier σ/2, composed once per epoch; no
 * amplification by sampling is claimed, since batches come from a shuffle (every record in
 * every epoch), not Poisson sampling. The bound covers the activations sent; it assumes the
 * clinic's weights, which the record also shapes through its own backward pass, are not
 * released (they stay at the clinic).
 *
 * @example
 * ```ts
 * import { gaussianRdp, rdpToDp } from "./rdp_accountant.ts";
 * const orders = [2, 4, 8, 16, 32, 64];
 * rdpToDp(orders, orders.map((a) => gaussianRdp(a, 2)), 1e-5).epsilon; // ≈ 2.21 (at α = 8)
 * ```
 * @module
 */

/** The orders α the accountant tracks: fractional ones near 1 and integers up to 256. */
export const RDP_ORDERS: readonly number[] = [
  1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 128, 192, 256,
];

/** A privacy failure: a budget spent or a bad accounting parameter. */
export class PrivacyBudgetError extends Error {
  /** `BUDGET_SPENT` (stop training), `BAD_PARAMETER`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "PrivacyBudgetError";
    this.code = code;
  }
}

function checkOrder(alpha: number): void {
  if (!(alpha > 1) || !Number.isFinite(alpha)) throw new PrivacyBudgetError("BAD_PARAMETER", `RDP order α must be a finite number > 1, got ${alpha}`);
}

function checkSigma(sigma: number): void {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new PrivacyBudgetError("BAD_PARAMETER", `noise multiplier σ must be a finite number > 0, got ${sigma}`);
}

/**
 * RDP ε(α) of the Gaussian mechanism with noise multiplier σ (std / L2 sensitivity).
 *
 * @throws {PrivacyBudgetError} `BAD_PARAMETER` for α ≤ 1 or σ ≤ 0
 * @example
 * ```ts
 * import { gaussianRdp } from "./rdp_accountant.ts";
 * gaussianRdp(10, 1); // 5
 * ```
 */
export function gaussianRdp(alpha: number, sigma: number): number {
  checkOrder(alpha);
  checkSigma(sigma);
  return alpha / (2 * sigma * sigma);
}

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

function logBinomial(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/**
 * RDP ε(α) of the sampled Gaussian mechanism (sampling rate q, multiplier σ), integer α ≥ 2
 * (Mironov, Talwar & Zhang 2019, §3.3), computed in log space.
 *
 * @throws {PrivacyBudgetError} `BAD_PARAMETER` for a non-integer α < 2, q outside [0, 1], σ ≤ 0
 * @example
 * ```ts
 * import { sampledGaussianRdp } from "./rdp_accountant.ts";
 * sampledGaussianRdp(2, 0.01, 1); // log(1 + 1e-4·(e − 1)) ≈ 1.72e-4
 * ```
 */
export function sampledGaussianRdp(alpha: number, q: number, sigma: number): number {
  if (!Number.isInteger(alpha) || alpha < 2) throw new PrivacyBudgetError("BAD_PARAMETER", `sampled Gaussian RDP needs an integer order α >= 2, got ${alpha}`);
  if (!(q >= 0 && q <= 1)) throw new PrivacyBudgetError("BAD_PARAMETER", `sampling rate q must be in [0, 1], got ${q}`);
  checkSigma(sigma);
  if (q === 0) return 0;
  if (q === 1) return gaussianRdp(alpha, sigma);
  let logA = -Infinity;
  for (let k = 0; k <= alpha; k++) {
    const term = logBinomial(alpha, k) + (alpha - k) * Math.log1p(-q) + k * Math.log(q) + (k * k - k) / (2 * sigma * sigma);
    logA = logAdd(logA, term);
  }
  return logA / (alpha - 1);
}

/** An (ε, δ) guarantee and the order that gave it. */
export interface DpGuarantee {
  epsilon: number;
  delta: number;
  /** The RDP order α at which the conversion was tightest. */
  order: number;
}

/**
 * The tightest (ε, δ) over `orders` from RDP values `rdp` (Mironov 2017 Prop. 3 and Balle et
 * al. 2020 Thm. 21, whichever is smaller at each order).
 *
 * @throws {PrivacyBudgetError} `BAD_PARAMETER` for δ outside (0, 1) or mismatched arrays
 * @example
 * ```ts
 * import { rdpToDp } from "./rdp_accountant.ts";
 * rdpToDp([2], [0.5], 1e-5).epsilon; // 0.5 + log(1/2) − (log 1e-5 + log 2) ≈ 10.63
 * ```
 */
export function rdpToDp(orders: readonly number[], rdp: readonly number[], delta: number): DpGuarantee {
  if (!(delta > 0 && delta < 1)) throw new PrivacyBudgetError("BAD_PARAMETER", `δ must be in (0, 1), got ${delta}`);
  if (orders.length !== rdp.length || orders.length === 0) {
    throw new PrivacyBudgetError("BAD_PARAMETER", `${orders.length} orders and ${rdp.length} RDP values; expected as many, at least one`);
  }
  let best: DpGuarantee = { epsilon: Infinity, delta, order: orders[0] };
  orders.forEach((a, i) => {
    checkOrder(a);
    const mironov = rdp[i] + Math.log(1 / delta) / (a - 1);
    const balle = rdp[i] + Math.log((a - 1) / a) - (Math.log(delta) + Math.log(a)) / (a - 1);
    const eps = Math.max(0, Math.min(mironov, balle));
    if (eps < best.epsilon) best = { epsilon: eps, delta, order: a };
  });
  return best;
}

/**
 * Composes Gaussian mechanisms over the orders {@linkcode RDP_ORDERS} and converts at δ.
 * Integer orders only when some mechanism is subsampled (q < 1).
 *
 * @example
 * ```ts
 * import { RdpAccountant } from "./rdp_accountant.ts";
 * const acc = new RdpAccountant();
 * acc.addGaussian(2, 1, 10); // σ = 2, q = 1, 10 times
 * acc.epsilon(1e-5).epsilon; // ≈ 8.09
 * ```
 */
export class RdpAccountant {
  #rdp = new Float64Array(RDP_ORDERS.length);
  #subsampled = false;

  /** Adds `count` runs of the Gaussian mechanism with multiplier σ at sampling rate q. */
  addGaussian(sigma: number, q: number, count: number): void {
    if (!(Number.isInteger(count) && count >= 0)) throw new PrivacyBudgetError("BAD_PARAMETER", `count must be an integer >= 0, got ${count}`);
    if (q < 1) this.#subsampled = true;
    RDP_ORDERS.forEach((a, i) => {
      if (Number.isInteger(a) && a >= 2) this.#rdp[i] += count * sampledGaussianRdp(a, q, sigma);
      else this.#rdp[i] += q === 1 ? count * gaussianRdp(a, sigma) : Infinity;
    });
  }

  /** The (ε, δ) guarantee of everything added so far. */
  epsilon(delta: number): DpGuarantee {
    const idx = RDP_ORDERS.map((_, i) => i).filter((i) => !this.#subsampled || Number.isInteger(RDP_ORDERS[i]));
    return rdpToDp(idx.map((i) => RDP_ORDERS[i]), idx.map((i) => this.#rdp[i]), delta);
  }
}

/**
 * (ε, δ) of a clinic's cut noise after `epochs` epochs (see the module notes: multiplier
 * σ/2 under substitution, once per epoch, no sampling amplification). ε = 0 before any
 * epoch; ε = ∞ for σ = 0.
 *
 * @example
 * ```ts
 * import { cutNoiseAccount } from "./rdp_accountant.ts";
 * cutNoiseAccount(4, 2, 1e-5).epsilon; // two releases at multiplier 2: ≈ 3.19
 * ```
 */
export function cutNoiseAccount(sigma: number, epochs: number, delta: number): DpGuarantee {
  if (epochs === 0) return { epsilon: 0, delta, order: RDP_ORDERS[0] };
  if (sigma === 0) return { epsilon: Infinity, delta, order: RDP_ORDERS[0] };
  const acc = new RdpAccountant();
  acc.addGaussian(sigma / 2, 1, epochs);
  return acc.epsilon(delta);
}
