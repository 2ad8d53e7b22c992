/**
 * Top-k sparsification: the indices of the k elements of largest magnitude,
 * in increasing order (the order the index encodings need). NaN counts as the
 * largest magnitude, so a diverged value is never silently dropped.
 *
 * The k-th largest magnitude is found with a three-way quickselect (Hoare's
 * FIND with Dijkstra's partition, expected O(n), robust to the many equal
 * zeros ReLU activations hold); ties at the threshold are kept in index order.
 *
 * @example
 * ```ts
 * import { topKIndices } from "./top_k.ts";
 * topKIndices(new Float32Array([0.1, -5, 2, 0]), 2); // Uint32Array [1, 2]
 * ```
 * @module
 */

function magnitude(v: number): number {
  return v !== v ? Infinity : Math.abs(v);
}

/** Rearranges `a` so that `a[k]` is the value a sort would put there. */
function select(a: Float32Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  let seed = 0x9e3779b9; // deterministic pivots: same input, same work
  while (lo < hi) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const pivot = a[lo + (seed % (hi - lo + 1))];
    // Dijkstra three-way partition: [lo, lt) < pivot, [lt, gt] == pivot, (gt, hi] > pivot.
    let lt = lo, i = lo, gt = hi;
    while (i <= gt) {
      const v = a[i];
      if (v < pivot) {
        a[i++] = a[lt];
        a[lt++] = v;
      } else if (v > pivot) {
        a[i] = a[gt];
        a[gt--] = v;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
  return a[k];
}

/**
 * The increasing indices of the `k` largest-magnitude elements of `x`
 * (`0 ≤ k ≤ x.length`).
 *
 * @example
 * ```ts
 * import { topKIndices } from "./top_k.ts";
 * topKIndices(new Float32Array([3, 3, 3]), 2); // Uint32Array [0, 1] (ties by index)
 * ```
 */
export function topKIndices(x: Float32Array, k: number): Uint32Array {
  const n = x.length;
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new RangeError(
      `top-k count ${k} is invalid for ${n} elements: expected an integer in [0, ${n}]`,
    );
  }
  const out = new Uint32Array(k);
  if (k === 0) return out;
  const m = new Float32Array(n);
  for (let i = 0; i < n; i++) m[i] = magnitude(x[i]);
  const threshold = select(m, n - k);
  let above = 0;
  for (let i = 0; i < n; i++) if (magnitude(x[i]) > threshold) above++;
  let ties = k - above;
  for (let i = 0, j = 0; i < n && j < k; i++) {
    const v = magnitude(x[i]);
    if (v > threshold || (v === threshold && ties-- > 0)) out[j++] = i;
  }
  return out;
}
