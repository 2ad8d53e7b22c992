/**
 * Per-channel affine int8 quantisation for the `int8` wire dtype.
 *
 * Each channel c (the slices along `axis`) gets a float32 `scale[c] > 0` and an
 * int8 `zeroPoint[c]`; a value x is sent as
 * `q = clamp(round(x / scale) + zeroPoint, -128, 127)` and read back as
 * `(q − zeroPoint) · scale`. As in PyTorch's `quantize_per_channel` with
 * `qint8`, the range of each channel is widened to include 0, so that 0 (ReLU
 * output, padding, dropped top-k entries) is sent exactly and the zero point
 * always fits in int8. With `scale ≥ (max − min) / 255`, every value of the
 * channel maps to an unclamped code within [−128.5, 127.5], so the
 * reconstruction error is at most `scale / 2`.
 *
 * @example
 * ```ts
 * import { dequantizeInt8, quantizeInt8 } from "./quantize.ts";
 * const x = new Float32Array([0, 1, -2, 4]);
 * const { q, params } = quantizeInt8(x, [1, 2, 2], 1);
 * const back = new Float32Array(4);
 * dequantizeInt8(q, params, [1, 2, 2], null, back); // ≈ x, |error| ≤ scale/2
 * ```
 * @module
 */

/** Quantisation parameters of one tensor. */
export interface QuantParams {
  /** The channel axis, or `null` for one scale for the whole tensor. */
  readonly axis: number | null;
  /** One positive, finite float32 scale per channel. */
  readonly scales: Float32Array;
  /** One int8 zero point per channel. */
  readonly zeroPoints: Int8Array;
}

/**
 * How elements map to channels: element i (row-major) lies in channel
 * `floor(i / inner) % channels`.
 *
 * @example
 * ```ts
 * import { channelLayout } from "./quantize.ts";
 * channelLayout([8, 32, 7, 7], 1); // { channels: 32, inner: 49 }
 * ```
 */
export function channelLayout(
  dims: readonly number[],
  axis: number | null,
): { channels: number; inner: number } {
  if (axis === null) return { channels: 1, inner: 1 };
  let inner = 1;
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i];
  return { channels: dims[axis], inner };
}

/** The largest finite float32, (2 − 2^-23) · 2^127. */
const FLOAT32_MAX = 3.4028234663852886e38;

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The smallest float32 scale s with s · 255 ≥ range (and s > 0). */
function scaleFor(range: number): number {
  if (range === 0) return 1; // an all-zero channel: any scale sends 0 exactly
  F32[0] = range / 255;
  // Round the float32 up if it fell below range/255, so the clamping bound holds.
  if (F32[0] * 255 < range) U32[0] += 1;
  if (F32[0] === 0) U32[0] = 1; // underflow: the smallest subnormal is enough
  return F32[0];
}

/**
 * Quantises `x` (all of it, or only the elements at `indices` when given, in
 * that order). The parameters are fitted to the quantised elements only.
 *
 * @throws {RangeError} when a quantised value is NaN or infinite (int8 cannot
 * carry it; silently clamping would hide a diverged training step).
 *
 * @example
 * ```ts
 * import { quantizeInt8 } from "./quantize.ts";
 * const { q } = quantizeInt8(new Float32Array([0, 255]), [2], null);
 * // q = [-128, 127]
 * ```
 */
export function quantizeInt8(
  x: Float32Array,
  dims: readonly number[],
  axis: number | null,
  indices: Uint32Array | null = null,
): { q: Int8Array; params: QuantParams } {
  const { channels, inner } = channelLayout(dims, axis);
  if (indices === null) return quantizeDense(x, channels, inner, axis);
  // Sparse (top-k): the elements at `indices`, in that order.
  const count = indices.length;
  const at = (j: number) => indices[j];
  const chan = (i: number) => Math.floor(i / inner) % channels;

  const lo = new Float64Array(channels); // 0-initialised: the range always includes 0
  const hi = new Float64Array(channels);
  for (let j = 0; j < count; j++) {
    const i = at(j);
    const v = x[i];
    if (!Number.isFinite(v)) notFinite(i, v);
    const c = chan(i);
    if (v < lo[c]) lo[c] = v;
    else if (v > hi[c]) hi[c] = v;
  }
  const { scales, zeroPoints } = fitParams(lo, hi);
  const q = new Int8Array(count);
  for (let j = 0; j < count; j++) {
    const i = at(j);
    const c = chan(i);
    const v = roundHalfUp(x[i] / scales[c]) + zeroPoints[c];
    q[j] = v < -128 ? -128 : v > 127 ? 127 : v;
  }
  return { q, params: { axis, scales, zeroPoints } };
}

/**
 * Rounds half up, as `Math.round` does, for the |r| ≤ 2^31 the quantiser meets; it is
 * `Math.floor(r + 0.5)` because V8's `Math.round` costs about 4× as much in this loop
 * (the codec's hottest). The one difference: just below a half (r = k + 0.5 − 2⁻⁵⁴·…),
 * `r + 0.5` can round up in float64, so the error exceeds scale/2 by at most 2⁻⁵³·scale,
 * far below the float32 rounding of the decoded value.
 */
function roundHalfUp(r: number): number {
  return Math.floor(r + 0.5);
}

/** Throws the error of a non-finite element `i` (shared by both quantisation paths). */
function notFinite(i: number, v: number): never {
  throw new RangeError(`int8 wire dtype cannot carry element ${i} = ${v}: expected a finite value`);
}

/** Fits the per-channel scale and zero point to the range [lo, hi] of each channel (lo ≤ 0 ≤ hi). */
function fitParams(lo: Float64Array, hi: Float64Array): { scales: Float32Array; zeroPoints: Int8Array } {
  const channels = lo.length;
  const scales = new Float32Array(channels);
  const zeroPoints = new Int8Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = scaleFor(hi[c] - lo[c]);
    scales[c] = s;
    // lo ≤ 0, so −lo/s ∈ [0, 255] and the zero point lies in [−128, 127].
    zeroPoints[c] = Math.max(-128, Math.min(127, -128 - Math.round(lo[c] / s)));
  }
  return { scales, zeroPoints };
}

/**
 * The dense case of {@linkcode quantizeInt8}, same arithmetic: it walks the tensor one
 * channel block (`inner` contiguous elements) at a time, so the channel of an element is a
 * loop variable rather than a division and a modulo per element. This is the codec's hot
 * loop for every activation and gradient sent as int8 (bench/channel_codec.ts).
 */
function quantizeDense(
  x: Float32Array,
  channels: number,
  inner: number,
  axis: number | null,
): { q: Int8Array; params: QuantParams } {
  const n = x.length;
  // axis null: one "channel" spanning the whole tensor.
  const block = axis === null ? n : inner;
  const lo = new Float64Array(channels); // 0-initialised: the range always includes 0
  const hi = new Float64Array(channels);
  for (let j = 0, c = 0; j < n; j += block, c = c + 1 === channels ? 0 : c + 1) {
    let l = lo[c], h = hi[c];
    const end = Math.min(n, j + block);
    for (let i = j; i < end; i++) {
      const v = x[i];
      if (v < l) l = v;
      else if (v > h) h = v;
      else if (v !== v) notFinite(i, v); // NaN fails both comparisons
    }
    // ±Infinity is caught here: it becomes the channel's bound.
    if (!Number.isFinite(l)) notFinite(x.indexOf(l, j), l);
    if (!Number.isFinite(h)) notFinite(x.indexOf(h, j), h);
    lo[c] = l;
    hi[c] = h;
  }
  const { scales, zeroPoints } = fitParams(lo, hi);
  const q = new Int8Array(n);
  for (let j = 0, c = 0; j < n; j += block, c = c + 1 === channels ? 0 : c + 1) {
    const s = scales[c], z = zeroPoints[c];
    const end = Math.min(n, j + block);
    for (let i = j; i < end; i++) {
      const v = roundHalfUp(x[i] / s) + z;
      q[i] = v < -128 ? -128 : v > 127 ? 127 : v;
    }
  }
  return { q, params: { axis, scales, zeroPoints } };
}

/**
 * Writes `(q[j] − zeroPoint) · scale` into `out` at `indices[j]` (or at j when
 * `indices` is null). The product is exact in float64 (8-bit × 24-bit), so
 * the only rounding is the final store to float32. Near the float32 limit the
 * product can exceed the largest float32 (scale · 255 ≥ range): it is clamped
 * to ±3.4028235e38, which is still within scale/2 of the original value.
 *
 * @example
 * ```ts
 * import { dequantizeInt8 } from "./quantize.ts";
 * const out = new Float32Array(2);
 * dequantizeInt8(new Int8Array([-128, 127]), {
 *   axis: null, scales: new Float32Array([1]), zeroPoints: new Int8Array([-128]),
 * }, [2], null, out); // out = [0, 255]
 * ```
 */
export function dequantizeInt8(
  q: Int8Array,
  params: QuantParams,
  dims: readonly number[],
  indices: Uint32Array | null,
  out: Float32Array,
): void {
  const { channels, inner } = channelLayout(dims, params.axis);
  const { scales, zeroPoints } = params;
  const clamp = (
    v: number,
  ) => (v > FLOAT32_MAX ? FLOAT32_MAX : v < -FLOAT32_MAX ? -FLOAT32_MAX : v);
  if (indices === null) {
    // Dense: walk channel blocks without a division per element.
    let j = 0;
    const outer = channels === 0 ? 0 : q.length / (channels * inner);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const s = scales[c], z = zeroPoints[c];
        if (s * 256 > FLOAT32_MAX) {
          for (let k = 0; k < inner; k++, j++) out[j] = clamp((q[j] - z) * s);
        } else {
          for (let k = 0; k < inner; k++, j++) out[j] = (q[j] - z) * s;
        }
      }
    }
    return;
  }
  for (let j = 0; j < q.length; j++) {
    const i = indices[j];
    const c = Math.floor(i / inner) % channels;
    out[i] = clamp((q[j] - zeroPoints[c]) * scales[c]);
  }
}
