/**
 * Fixed-point encoding of float32 weights into Z_2^32 for secure aggregation, and the decode
 * of the masked sum back to a weighted average (docs/design/secure_aggregation.md#arithmetic).
 *
 * Parameters: clip range R (weights are clipped to [−R, R]), scale s = 2^scaleBits, and the
 * largest sample count a clinic may weigh its weights by, m_max. Clinic u with m_u samples
 * (1 ≤ m_u ≤ m_max) encodes every weight x as the integer
 *
 *     q_u(x) = round(m_u · clip(x) · s)          (two's complement in Z_2^32)
 *
 * and appends m_u itself as one last word, so the sum carries the total sample count M = Σ m_u
 * of the clinics that made it into the round: no clinic's count is ever sent alone, and a
 * dropped clinic's count leaves the sum with its weights. The server decodes each summed word
 * as a signed 32-bit integer Q and returns Q / (s · M).
 *
 * Exactness: with s a power of two, m_u < 2^29 and x a float32 (24-bit significand), the
 * product m_u · x · s is exact in float64, so the only encoding error is the rounding,
 * at most 1/2 per clinic and word.
 *
 * Error bound: for n clinics in the sum, |decoded − Σ m_u clip(x_u) / M| ≤ n / (2 s M), plus
 * float32 rounding of the result (≤ R · 2^−24). Weights inside [−R, R] are not clipped, so
 * then the bound is against the exact weighted average.
 *
 * Overflow: |Σ q_u| ≤ Σ (m_u R s + 1/2) ≤ n (m_max R s + 1/2). The sum decodes correctly iff
 * it stays in [−2^31, 2^31 − 1]; {@link checkFixedPoint} refuses any (n, R, s, m_max) with
 * n (m_max R s + 1/2) > 2^31 − 1, and encoding refuses m_u > m_max, so no sum can wrap.
 *
 * @example
 * ```ts
 * import { decodeSum, encodeWeighted } from "./fixed_point.ts";
 * const p = { clipRange: 4, scaleBits: 11, maxSamples: 4096 };
 * const a = encodeWeighted(Float32Array.of(1, -1), 3, p, 2), b = encodeWeighted(Float32Array.of(0, 1), 1, p, 2);
 * const sum = a.map((x, i) => (x + b[i]) >>> 0);
 * console.log(decodeSum(sum, p, 2)); // { average: Float32Array(2) [ 0.75, -0.5 ], totalSamples: 4 }
 * ```
 * @module
 */
import { SecAggError } from "./secagg_error.ts";

/**
 * The fixed-point parameters every clinic and the server of a round must agree on.
 *
 * @example
 * ```ts
 * import type { FixedPointParams } from "./fixed_point.ts";
 * const p: FixedPointParams = { clipRange: 4, scaleBits: 11, maxSamples: 4096 };
 * ```
 */
export interface FixedPointParams {
  /** R: weights are clipped to [−R, R] before encoding (a positive finite number). */
  readonly clipRange: number;
  /** log2 of the scale s: an integer in 0..24; one unit of the encoding is 2^−scaleBits. */
  readonly scaleBits: number;
  /** m_max: the largest sample count one clinic may weigh by (an integer in 1..2^28). */
  readonly maxSamples: number;
}

/**
 * The defaults: R = 4, s = 2^11, m_max = 4096, which admit up to 63 clinics
 * (63 · (4096 · 4 · 2048 + 1/2) < 2^31) with an error of at most n / (4096 M) on the average.
 *
 * @example
 * ```ts
 * import { DEFAULT_FIXED_POINT, maxClinics } from "./fixed_point.ts";
 * console.log(maxClinics(DEFAULT_FIXED_POINT)); // 63
 * ```
 */
export const DEFAULT_FIXED_POINT: FixedPointParams = Object.freeze({
  clipRange: 4,
  scaleBits: 11,
  maxSamples: 4096,
});

const LIMIT = 2 ** 31 - 1;

function checkShape(p: FixedPointParams): void {
  if (!(Number.isFinite(p.clipRange) && p.clipRange > 0)) {
    throw new SecAggError(
      "INVALID_PARAMS",
      `clipRange ${p.clipRange} is not a positive finite number`,
    );
  }
  if (!Number.isInteger(p.scaleBits) || p.scaleBits < 0 || p.scaleBits > 24) {
    throw new SecAggError("INVALID_PARAMS", `scaleBits ${p.scaleBits} is not an integer in 0..24`);
  }
  if (!Number.isInteger(p.maxSamples) || p.maxSamples < 1 || p.maxSamples > 2 ** 28) {
    throw new SecAggError(
      "INVALID_PARAMS",
      `maxSamples ${p.maxSamples} is not an integer in 1..2^28`,
    );
  }
}

/** The bound on one clinic's encoded word, m_max R s + 1/2 (also ≥ m_max, the count word). */
function perClinicBound(p: FixedPointParams): number {
  return Math.max(p.maxSamples * p.clipRange * 2 ** p.scaleBits, p.maxSamples) + 0.5;
}

/**
 * The most clinics whose sum cannot overflow: ⌊(2^31 − 1) / (m_max R s + 1/2)⌋.
 *
 * @throws {SecAggError} `INVALID_PARAMS`
 * @example
 * ```ts
 * import { maxClinics } from "./fixed_point.ts";
 * console.log(maxClinics({ clipRange: 1, scaleBits: 16, maxSamples: 1000 })); // 32
 * ```
 */
export function maxClinics(p: FixedPointParams): number {
  checkShape(p);
  return Math.floor(LIMIT / perClinicBound(p));
}

/**
 * Refuses parameters under which the sum of `clinics` encodings could leave
 * [−2^31, 2^31 − 1] (the overflow condition of the module notes).
 *
 * @throws {SecAggError} `INVALID_PARAMS`, `OVERFLOW_RISK` naming n, R, s, m_max and the limit
 * @example
 * ```ts
 * import { checkFixedPoint } from "./fixed_point.ts";
 * try {
 *   checkFixedPoint({ clipRange: 4, scaleBits: 16, maxSamples: 4096 }, 4);
 * } catch (e) {
 *   console.log((e as { code: string }).code); // OVERFLOW_RISK
 * }
 * ```
 */
export function checkFixedPoint(p: FixedPointParams, clinics: number): void {
  checkShape(p);
  if (!Number.isInteger(clinics) || clinics < 1) {
    throw new SecAggError("INVALID_PARAMS", `clinic count ${clinics} is not a positive integer`);
  }
  const worst = clinics * perClinicBound(p);
  if (worst > LIMIT) {
    throw new SecAggError(
      "OVERFLOW_RISK",
      `${clinics} clinics × (maxSamples ${p.maxSamples} · clipRange ${p.clipRange} · 2^${p.scaleBits} + 1/2) = ${worst} exceeds 2^31 − 1; at most ${
        maxClinics(p)
      } clinics fit: lower scaleBits, clipRange or maxSamples`,
    );
  }
}

/**
 * Encodes one clinic's weights, weighed by its sample count, as `weights.length + 1` words of
 * Z_2^32 (the last word is the count). Weights outside [−R, R] are clipped; NaN and ±∞ are
 * refused (a clinic whose training diverged must not move the average silently).
 *
 * @throws {SecAggError} `NON_FINITE`, `TOO_MANY_SAMPLES`, `INVALID_PARAMS`, `OVERFLOW_RISK`
 * @example
 * ```ts
 * import { encodeWeighted } from "./fixed_point.ts";
 * const w = encodeWeighted(Float32Array.of(0.5, -9), 2, { clipRange: 4, scaleBits: 2, maxSamples: 8 }, 3);
 * console.log(w); // Uint32Array(3) [ 4, 4294967264, 2 ]
 * ```
 */
export function encodeWeighted(
  weights: Float32Array,
  samples: number,
  p: FixedPointParams,
  clinics: number,
): Uint32Array {
  checkFixedPoint(p, clinics);
  if (!Number.isInteger(samples) || samples < 1 || samples > p.maxSamples) {
    throw new SecAggError(
      "TOO_MANY_SAMPLES",
      `sample count ${samples} is not an integer in 1..${p.maxSamples} (maxSamples)`,
    );
  }
  const factor = samples * 2 ** p.scaleBits, r = p.clipRange;
  const out = new Uint32Array(weights.length + 1);
  for (let i = 0; i < weights.length; i++) {
    const x = weights[i];
    if (!Number.isFinite(x)) {
      throw new SecAggError("NON_FINITE", `weight ${i} is ${x}; expected a finite number`);
    }
    out[i] = Math.round(factor * Math.min(r, Math.max(-r, x))) >>> 0; // ToUint32: two's complement
  }
  out[weights.length] = samples;
  return out;
}

/**
 * Decodes a sum of `clinics` encodings: the weighted average Σ m_u clip(x_u) / M as float32,
 * and M. Refuses a sum whose count word is 0 or more than `clinics` · m_max (not a sum of
 * that many encodings).
 *
 * @throws {SecAggError} `MALFORMED_MESSAGE`, `INVALID_PARAMS`, `OVERFLOW_RISK`
 * @example
 * ```ts
 * import { decodeSum } from "./fixed_point.ts";
 * const p = { clipRange: 4, scaleBits: 2, maxSamples: 8 };
 * console.log(decodeSum(Uint32Array.of(6, 3), p, 2).average); // Float32Array(1) [ 0.5 ]
 * ```
 */
export function decodeSum(
  sum: Uint32Array,
  p: FixedPointParams,
  clinics: number,
): { average: Float32Array; totalSamples: number } {
  checkFixedPoint(p, clinics);
  if (sum.length < 1) throw new SecAggError("MALFORMED_MESSAGE", "sum has no count word");
  const total = sum[sum.length - 1];
  if (total < 1 || total > clinics * p.maxSamples) {
    throw new SecAggError(
      "MALFORMED_MESSAGE",
      `summed sample count ${total} is not in 1..${clinics * p.maxSamples} (clinics × maxSamples)`,
    );
  }
  const denom = total * 2 ** p.scaleBits;
  const average = new Float32Array(sum.length - 1);
  for (let i = 0; i < average.length; i++) average[i] = (sum[i] | 0) / denom; // `| 0`: signed
  return { average, totalSamples: total };
}

/**
 * The bound on |decoded − exact weighted average of the clipped weights| for `clinics`
 * clinics totalling `totalSamples`: n / (2 s M) + R · 2^−24 (float32 rounding of the result).
 *
 * @example
 * ```ts
 * import { errorBound } from "./fixed_point.ts";
 * console.log(errorBound({ clipRange: 4, scaleBits: 11, maxSamples: 4096 }, 4, 100) < 2e-5); // true
 * ```
 */
export function errorBound(p: FixedPointParams, clinics: number, totalSamples: number): number {
  checkShape(p);
  return clinics / (2 * 2 ** p.scaleBits * totalSamples) + p.clipRange * 2 ** -24;
}
