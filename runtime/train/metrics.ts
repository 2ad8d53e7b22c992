/**
 * Evaluation metrics computed from model outputs: ROC AUC (the Mann–Whitney U statistic
 * with ties counted half), accuracy, and the mean loss, for binary logits [N, 1] and
 * multi-class logits [N, C] (AUC macro-averaged one-vs-rest).
 *
 * @example
 * ```ts
 * import { rocAuc } from "./metrics.ts";
 * rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.75
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { LossKind } from "../../models/grad/loss.ts";

/**
 * Area under the ROC curve of `scores` for binary `labels` (1 positive). NaN when one
 * class is absent.
 *
 * @example
 * ```ts
 * import { rocAuc } from "./metrics.ts";
 * rocAuc([1, 2], [0, 1]); // 1
 * ```
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0, rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1; // tied scores share their mean rank
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] === 1) {
        pos++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Metrics of one evaluation. */
export interface Metrics {
  loss: number;
  auc: number;
  accuracy: number;
  samples: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Loss, AUC and accuracy of `logits` against `target` for the given loss kind.
 *
 * @example
 * ```ts
 * import { evaluateLogits } from "./metrics.ts";
 * import { tensor } from "../../models/tensor.ts";
 * evaluateLogits("bce", tensor("float32", [2, 1], new Float32Array([-3, 3])),
 *   tensor("float32", [2, 1], new Float32Array([0, 1]))).accuracy; // 1
 * ```
 */
export function evaluateLogits(kind: LossKind, logits: Tensor, target: Tensor): Metrics {
  const z = logits.data as Float32Array;
  const n = logits.dims[0];
  if (kind === "ce") {
    const c = logits.dims[1];
    const t = target.data as BigInt64Array;
    let loss = 0, correct = 0;
    const probs = new Float64Array(n * c);
    for (let i = 0; i < n; i++) {
      let m = -Infinity, arg = 0;
      for (let j = 0; j < c; j++) if (z[i * c + j] > m) (m = z[i * c + j]), (arg = j);
      let s = 0;
      for (let j = 0; j < c; j++) s += Math.exp(z[i * c + j] - m);
      for (let j = 0; j < c; j++) probs[i * c + j] = Math.exp(z[i * c + j] - m) / s;
      const ti = Number(t[i]);
      loss += -(z[i * c + ti] - m - Math.log(s));
      if (arg === ti) correct++;
    }
    let auc = 0, k = 0;
    for (let j = 0; j < c; j++) {
      const a = rocAuc(
        Array.from({ length: n }, (_, i) => probs[i * c + j]),
        Array.from({ length: n }, (_, i) => (Number(t[i]) === j ? 1 : 0)),
      );
      if (!Number.isNaN(a)) (auc += a), k++;
    }
    return { loss: loss / n, auc: k ? auc / k : NaN, accuracy: correct / n, samples: n };
  }
  const t = target.data as Float32Array;
  let loss = 0, correct = 0;
  for (let i = 0; i < z.length; i++) {
    const x = z[i], y = t[i];
    loss += kind === "bce" ? Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x))) : (x - y) ** 2;
    if (kind === "bce" && (sigmoid(x) >= 0.5 ? 1 : 0) === y) correct++;
  }
  return {
    loss: loss / z.length,
    auc: kind === "bce" ? rocAuc(z, t) : NaN,
    accuracy: kind === "bce" ? correct / z.length : NaN,
    samples: n,
  };
}

/**
 * Concatenates batch outputs along axis 0.
 *
 * @example
 * ```ts
 * import { concatRows } from "./metrics.ts";
 * // concatRows([a, b])
 * ```
 */
export function concatRows(parts: Tensor[]): Tensor {
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const first = parts[0];
  const C = first.data.constructor as { new (n: number): Tensor["data"] };
  const data = new C(total);
  let off = 0;
  for (const p of parts) {
    // deno-lint-ignore no-explicit-any
    (data as any).set(p.data, off);
    off += p.data.length;
  }
  return { dtype: first.dtype, dims: [parts.reduce((a, p) => a + p.dims[0], 0), ...first.dims.slice(1)], data } as Tensor;
}
