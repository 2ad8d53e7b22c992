/**
 * Leakage metrics of the privacy audit, in plain TypeScript (float64 arithmetic):
 *
 * - distance correlation dCor(X, Z) (Székely, Rizzo & Bakirov 2007, Definition 4, the
 *   V-statistic of the sample), rows subsampled (seeded) to bound its O(n²) memory;
 * - reconstruction quality: MSE, PSNR and SSIM (Wang, Bovik, Sheikh & Simoncelli, "Image
 *   quality assessment: from error visibility to structural similarity", IEEE TIP 13(4),
 *   2004: 11×11 Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03, data range 1, the mean of
 *   the SSIM map over the window positions inside the image);
 * - label leakage through returned gradients (Li, Sun, Jiang et al., "Label Leakage and
 *   Protection in Two-party Split Learning", ICLR 2022, §3): the AUC of the norm attack
 *   (score = per-sample gradient norm) and of the direction attack (score = cosine
 *   similarity to the gradient of one sample known to be positive, in the same batch).
 *
 * Leak AUCs are reported as they are: 0.5 means the score says nothing about the label;
 * 1 means it ranks every positive above every negative and 0 the reverse — which leaks
 * just as much (an attacker flips the score). |AUC − 0.5| is the size of the leak.
 *
 * @example
 * ```ts
 * import { distanceCorrelation } from "./metrics.ts";
 * const x = Float64Array.from({ length: 100 }, (_, i) => i);
 * distanceCorrelation({ data: x, rows: 100 }, { data: x.map((v) => 3 * v + 1), rows: 100 }); // 1
 * ```
 * @module
 */
import { rocAuc } from "../train/metrics.ts";
import { Rng } from "../data/rng.ts";

/** Rows of a matrix, row-major: `data.length / rows` features per row. */
export interface Rows {
  data: ArrayLike<number>;
  rows: number;
}

/** Options of {@linkcode distanceCorrelation}. */
export interface DcorOptions {
  /** At most this many rows (default 512), drawn without replacement. */
  maxRows?: number;
  /** Seed of the subsample (default 0). */
  seed?: number;
}

function width(m: Rows, what: string): number {
  if (!Number.isInteger(m.rows) || m.rows < 1 || m.data.length % m.rows !== 0) {
    throw new RangeError(`${what}: ${m.data.length} values do not split into ${m.rows} rows`);
  }
  return m.data.length / m.rows;
}

/** Pairwise Euclidean distances of rows `idx`. */
function distances(m: Rows, d: number, idx: readonly number[]): Float64Array {
  const n = idx.length;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const oi = idx[i] * d;
    for (let j = i + 1; j < n; j++) {
      const oj = idx[j] * d;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = m.data[oi + k] - m.data[oj + k];
        s += t * t;
      }
      a[i * n + j] = a[j * n + i] = Math.sqrt(s);
    }
  }
  return a;
}

/** Pairwise distances of rows `idx` with each row's sum and the sum of all entries. */
function distanceSums(m: Rows, d: number, idx: readonly number[]): { a: Float64Array; row: Float64Array; all: number } {
  const n = idx.length;
  const a = distances(m, d, idx);
  const row = new Float64Array(n);
  let all = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j];
    row[i] = s;
    all += s;
  }
  return { a, row, all };
}

/** The double-centred distance matrix of rows `idx` (Székely et al. 2007, eq. 2.8). */
function centredDistances(m: Rows, d: number, idx: readonly number[]): Float64Array {
  const n = idx.length;
  const { a, row: sums, all: total } = distanceSums(m, d, idx);
  const row = sums.map((v) => v / n);
  const all = total / (n * n);
  // Symmetric: column means equal row means.
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += all - row[i] - row[j];
  return a;
}

function pairedRows(x: Rows, z: Rows, opts: DcorOptions, min: number): { dx: number; dz: number; idx: number[] } {
  const dx = width(x, "dCor X"), dz = width(z, "dCor Z");
  if (x.rows !== z.rows) throw new RangeError(`dCor: X has ${x.rows} rows, Z has ${z.rows}`);
  if (x.rows < min) throw new RangeError(`dCor needs at least ${min} rows, got ${x.rows}`);
  const max = opts.maxRows ?? 512;
  let idx = Array.from({ length: x.rows }, (_, i) => i);
  if (idx.length > max) idx = new Rng(opts.seed ?? 0).shuffle(idx).slice(0, max);
  return { dx, dz, idx };
}

/** The U-centred distance matrix (Székely & Rizzo 2014, eq. 2.6); diagonal 0. */
function uCentredDistances(m: Rows, d: number, idx: readonly number[]): Float64Array {
  const n = idx.length;
  const { a, row, all } = distanceSums(m, d, idx);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      a[i * n + j] = i === j ? 0 : a[i * n + j] - row[i] / (n - 2) - row[j] / (n - 2) + all / ((n - 1) * (n - 2));
    }
  }
  return a;
}

/**
 * Bias-corrected distance correlation (Székely & Rizzo, "Partial distance correlation with
 * methods for dissimilarities", Ann. Statist. 42(6), 2014, §2.2 and eq. 2.10): the
 * U-centred, unbiased estimator R*² of dCor², whose expectation is 0 for independent X
 * and Z at any n and dimension — unlike the V-statistic of {@linkcode distanceCorrelation},
 * which for 512 rows of a 28×28 image against independent 1568-dimensional noise is
 * already ≈ 0.47. Returned on the dCor scale: √max(R*², 0).
 *
 * @throws {RangeError} when X and Z have different row counts or fewer than 4 rows
 * @example
 * ```ts
 * import { biasCorrectedDcor } from "./metrics.ts";
 * const x = Array.from({ length: 50 }, (_, i) => i);
 * biasCorrectedDcor({ data: x, rows: 50 }, { data: x.map((v) => 2 * v), rows: 50 }); // 1
 * ```
 */
export function biasCorrectedDcor(x: Rows, z: Rows, opts: DcorOptions = {}): number {
  const { dx, dz, idx } = pairedRows(x, z, opts, 4);
  const A = uCentredDistances(x, dx, idx), B = uCentredDistances(z, dz, idx);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < A.length; i++) {
    ab += A[i] * B[i];
    aa += A[i] * A[i];
    bb += B[i] * B[i];
  }
  if (aa <= 0 || bb <= 0) return 0;
  return Math.sqrt(Math.max(ab / Math.sqrt(aa * bb), 0));
}

/**
 * Sample distance correlation dCor(X, Z) ∈ [0, 1] of paired rows (0: independent in the
 * limit; 1: Z a similarity transform of X). The V-statistic is biased upwards for small n
 * and high dimension (Székely & Rizzo 2013), so compare values at equal n and shapes.
 *
 * @throws {RangeError} when X and Z have different row counts or fewer than 2 rows
 * @example
 * ```ts
 * import { distanceCorrelation } from "./metrics.ts";
 * distanceCorrelation({ data: [0, 1, 2, 3], rows: 4 }, { data: [0, 1, 4, 9], rows: 4 }); // ≈ 0.968
 * ```
 */
export function distanceCorrelation(x: Rows, z: Rows, opts: DcorOptions = {}): number {
  const { dx, dz, idx } = pairedRows(x, z, opts, 2);
  const A = centredDistances(x, dx, idx), B = centredDistances(z, dz, idx);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < A.length; i++) {
    ab += A[i] * B[i];
    aa += A[i] * A[i];
    bb += B[i] * B[i];
  }
  if (aa === 0 || bb === 0) return 0; // a constant variable: Definition 4 sets dCor = 0
  return Math.sqrt(Math.max(ab, 0) / Math.sqrt(aa * bb));
}

/**
 * Mean squared error of two equally long arrays.
 *
 * @throws {RangeError} for different lengths or empty arrays
 * @example
 * ```ts
 * import { mse } from "./metrics.ts";
 * mse([0, 0], [1, 0]); // 0.5
 * ```
 */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`mse: lengths ${a.length} and ${b.length}; expected equal and > 0`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

/**
 * Peak signal-to-noise ratio in dB, 10·log10(range² / MSE); Infinity for identical arrays.
 *
 * @example
 * ```ts
 * import { psnr } from "./metrics.ts";
 * psnr([0, 0], [0.1, 0.1]); // 20
 * ```
 */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, range = 1): number {
  const m = mse(a, b);
  return m === 0 ? Infinity : 10 * Math.log10((range * range) / m);
}

/** Options of {@linkcode ssim}. */
export interface SsimOptions {
  /** Window side (odd, default 11) and Gaussian σ (default 1.5), as Wang et al. */
  window?: number;
  sigma?: number;
  /** Dynamic range L of the pixels (default 1). */
  range?: number;
}

function gaussianWindow(size: number, sigma: number): Float64Array {
  const w = new Float64Array(size * size), c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) s += w[i * size + j] = Math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * sigma * sigma));
  }
  for (let i = 0; i < w.length; i++) w[i] /= s;
  return w;
}

/**
 * Mean structural similarity of two grey images of `height × width` pixels (Wang et al.
 * 2004, eq. 13 with C1 = (K1·L)², C2 = (K2·L)², K1 = 0.01, K2 = 0.03; local statistics
 * under a normalised Gaussian window at every position where it fits inside the image —
 * MATLAB `filter2(..., 'valid')` as in the authors' code). 1 for identical images.
 *
 * @throws {RangeError} when the images differ in size or are smaller than the window
 * @example
 * ```ts
 * import { ssim } from "./metrics.ts";
 * const img = Float64Array.from({ length: 28 * 28 }, (_, i) => (i % 28) / 27);
 * ssim(img, img, 28, 28); // 1
 * ```
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, opts: SsimOptions = {}): number {
  const size = opts.window ?? 11, sigma = opts.sigma ?? 1.5, L = opts.range ?? 1;
  if (a.length !== height * width || b.length !== height * width) {
    throw new RangeError(`ssim: images of ${a.length} and ${b.length} pixels; expected ${height}×${width}`);
  }
  if (size % 2 !== 1 || size > height || size > width) throw new RangeError(`ssim: window ${size} must be odd and fit in ${height}×${width}`);
  const w = gaussianWindow(size, sigma);
  const C1 = (0.01 * L) ** 2, C2 = (0.03 * L) ** 2;
  let total = 0, count = 0;
  for (let y = 0; y + size <= height; y++) {
    for (let x = 0; x + size <= width; x++) {
      let ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) {
          const k = (y + i) * width + x + j, g = w[i * size + j];
          const va = a[k], vb = b[k];
          ma += g * va;
          mb += g * vb;
          saa += g * va * va;
          sbb += g * vb * vb;
          sab += g * va * vb;
        }
      }
      const va = saa - ma * ma, vb = sbb - mb * mb, cov = sab - ma * mb;
      total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      count++;
    }
  }
  return total / count;
}

/**
 * L2 norm of each row of `g` ([N, ...] flattened).
 *
 * @example
 * ```ts
 * import { rowNorms } from "./metrics.ts";
 * rowNorms({ data: [3, 4, 0, 1], rows: 2 }); // Float64Array [5, 1]
 * ```
 */
export function rowNorms(g: Rows): Float64Array {
  const d = width(g, "rowNorms");
  const out = new Float64Array(g.rows);
  for (let i = 0; i < g.rows; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += g.data[i * d + k] ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

/**
 * AUC of the norm attack: per-sample gradient norms as the score of "positive".
 *
 * @example
 * ```ts
 * import { normLeakAuc } from "./metrics.ts";
 * normLeakAuc({ data: [1, 0, 5, 0], rows: 2 }, [0, 1]); // 1
 * ```
 */
export function normLeakAuc(grads: Rows, labels: ArrayLike<number>): number {
  return rocAuc(rowNorms(grads), labels);
}

/**
 * Scores of the direction attack on one batch: cosine similarity of each row's gradient to
 * the gradient of row `known` (a sample the attacker knows to be positive). The known row
 * itself scores NaN; drop it before the AUC.
 *
 * @example
 * ```ts
 * import { directionScores } from "./metrics.ts";
 * directionScores({ data: [1, 0, 2, 0, -1, 0], rows: 3 }, 0); // [NaN, 1, -1]
 * ```
 */
export function directionScores(grads: Rows, known: number): Float64Array {
  const d = width(grads, "directionScores");
  if (!(known >= 0 && known < grads.rows)) throw new RangeError(`direction attack: known row ${known} out of [0, ${grads.rows})`);
  const norms = rowNorms(grads);
  const out = new Float64Array(grads.rows);
  for (let i = 0; i < grads.rows; i++) {
    if (i === known) {
      out[i] = NaN;
      continue;
    }
    let s = 0;
    for (let k = 0; k < d; k++) s += grads.data[i * d + k] * grads.data[known * d + k];
    const den = norms[i] * norms[known];
    out[i] = den === 0 ? 0 : s / den;
  }
  return out;
}

/**
 * Leak AUC of scores against labels, skipping NaN scores (the direction attack's known
 * sample).
 *
 * @example
 * ```ts
 * import { leakAuc } from "./metrics.ts";
 * leakAuc([NaN, 0.9, -0.2], [1, 1, 0]); // 1
 * ```
 */
export function leakAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const s: number[] = [], l: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) continue;
    s.push(scores[i]);
    l.push(labels[i]);
  }
  return rocAuc(s, l);
}
