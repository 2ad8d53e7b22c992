/**
 * Label protection against the norm attack (Li et al., "Label Leakage and Protection in
 * Two-party Split Learning", ICLR 2022, §3.1): in binary classification the gradient a
 * sample sends back has a norm that depends on its label (the loss gradient at the logit
 * is σ(z) − y, whose size differs between the classes), so whoever receives the cut
 * gradients but not the labels can rank samples by norm and read the labels off.
 *
 * Norm equalisation: the party computing the cut gradient rescales each sample's gradient
 * to the batch's *mean* norm before sending it, so every row has the same norm and the
 * norm attack ranks nothing (AUC 0.5). Why the mean and not the max (the target of Li et
 * al.'s "max norm" heuristic, which adds noise up to it): rescaling is a per-sample
 * re-weighting of the loss, and the mean keeps the batch's total gradient magnitude, so
 * the learning rate keeps its meaning; scaling every row up to the max would multiply the
 * gradients of well-fitted samples by large factors. Directions are kept, so the
 * direction attack is *not* defeated by this (the audit measures both).
 *
 * Where it plugs in: vanilla mode, on the server, between its step graph (which yields the
 * gradient at the cut) and encoding the gradient for the reply — `protectCutGradient(g,
 * defence.labelProtection)`. In U-shaped mode the clinic holds the labels and would apply
 * the same function to the gradient it sends at the head's input.
 *
 * @example
 * ```ts
 * import { equaliseNorms } from "./label_protection.ts";
 * import { tensor } from "../../models/tensor.ts";
 * equaliseNorms(tensor("float32", [2, 2], new Float32Array([3, 4, 0, 1]))).data; // [1.8, 2.4, 0, 3]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import type { LabelProtection } from "./defence_config.ts";

/**
 * Rescales each row of `g` ([N, ...]) to the mean row norm (rows of norm 0 stay 0).
 * Computed in float64, returned as float32.
 *
 * @throws {TypeError} for a tensor that is not float32
 * @example
 * ```ts
 * import { equaliseNorms } from "./label_protection.ts";
 * import { tensor } from "../../models/tensor.ts";
 * equaliseNorms(tensor("float32", [1, 2], new Float32Array([3, 4]))).data; // [3, 4]
 * ```
 */
export function equaliseNorms(g: Tensor): Tensor<"float32"> {
  if (g.dtype !== "float32") throw new TypeError(`norm equalisation: gradient must be float32, got ${g.dtype}`);
  const n = g.dims[0], src = g.data as Float32Array;
  const d = n === 0 ? 0 : src.length / n;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += src[i * d + k] ** 2;
    norms[i] = Math.sqrt(s);
  }
  const mean = norms.reduce((a, b) => a + b, 0) / Math.max(n, 1);
  const out = new Float32Array(src.length);
  for (let i = 0; i < n; i++) {
    const scale = norms[i] > 0 ? mean / norms[i] : 0;
    for (let k = 0; k < d; k++) out[i * d + k] = src[i * d + k] * scale;
  }
  return tensor("float32", [...g.dims], out);
}

/**
 * The server's hook: applies `mode` to a cut gradient about to be returned.
 *
 * @example
 * ```ts
 * import { protectCutGradient } from "./label_protection.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const g = tensor("float32", [1, 1], new Float32Array([2]));
 * protectCutGradient(g, "none") === g; // true
 * ```
 */
export function protectCutGradient(g: Tensor, mode: LabelProtection | undefined): Tensor {
  return mode === "norm-equalise" ? equaliseNorms(g) : g;
}
