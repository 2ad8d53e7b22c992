/**
 * The smallest and largest float an int8 tensor dequantises to, found from its codes and
 * scales without dequantising it: what a receiver's range and finiteness checks need of a
 * view (`quantized_view.ts`) that goes on to a graph as codes.
 *
 * Dequantisation `(q − zeroPoint) · scale` is increasing in q for a positive scale, so a
 * channel's extremes are those of its extreme codes, with `dequantizeInt8`'s own float32
 * arithmetic and clamp (quantize.ts): the numbers are the very minimum and maximum of the
 * view's `data`. First the codes' whole range [−128, 127] is tried, which needs no pass over
 * the codes and settles the common case (honest activations lie far inside a bound like
 * `limits.maxActivation`); only if that bound is not within `[lo, hi]` are the codes scanned.
 *
 * @example
 * ```ts
 * import { int8Extremes } from "./int8_extremes.ts";
 * const qt = {
 *   dims: [1, 2, 2], q: new Int8Array([-128, 0, 5, 127]),
 *   params: { axis: 1, scales: new Float32Array([1, 0.5]), zeroPoints: new Int8Array([0, -1]) },
 * };
 * console.log(int8Extremes(qt)); // { min: -128, max: 64 }
 * ```
 * @module
 */
import { channelLayout } from "./quantize.ts";
import type { QuantizedTensor } from "./tensor_record.ts";

const FLOAT32_MAX = 3.4028234663852886e38;

/** `dequantizeInt8`'s value of code `q` in a channel (float32, clamped to the finite range). */
function value(q: number, z: number, s: number): number {
  const v = Math.fround((q - z) * s);
  return v > FLOAT32_MAX ? FLOAT32_MAX : v < -FLOAT32_MAX ? -FLOAT32_MAX : v;
}

/**
 * Bounds of the values codes in `[qlo, qhi]` per channel would take (`qlo`/`qhi` per channel,
 * or one pair for all).
 */
function bounds(
  qt: QuantizedTensor,
  qlo: (c: number) => number,
  qhi: (c: number) => number,
): { min: number; max: number } {
  const { scales, zeroPoints } = qt.params;
  let min = Infinity, max = -Infinity;
  for (let c = 0; c < scales.length; c++) {
    if (qlo(c) > qhi(c)) continue; // an empty channel
    const a = value(qlo(c), zeroPoints[c], scales[c]), b = value(qhi(c), zeroPoints[c], scales[c]);
    if (a < min) min = a;
    if (b > max) max = b;
  }
  return { min, max };
}

/**
 * The minimum and maximum of the floats `qt` dequantises to (`Infinity`/`-Infinity` for an
 * empty tensor). With `within`, the scan of the codes is skipped when the codes' whole range
 * already maps inside `[within[0], within[1]]`, and the bound of that range is returned
 * instead (still inside it, which is all such a caller asks).
 *
 * @example
 * ```ts
 * import { int8Extremes } from "./int8_extremes.ts";
 * int8Extremes({
 *   dims: [3], q: new Int8Array([-1, 0, 1]),
 *   params: { axis: null, scales: new Float32Array([2]), zeroPoints: new Int8Array([0]) },
 * }); // { min: -2, max: 2 }
 * ```
 */
export function int8Extremes(
  qt: QuantizedTensor,
  within?: readonly [number, number],
): { min: number; max: number } {
  if (qt.q.length === 0) return { min: Infinity, max: -Infinity };
  if (within) {
    const wide = bounds(qt, () => -128, () => 127);
    if (wide.min >= within[0] && wide.max <= within[1]) return wide;
  }
  const { channels, inner } = channelLayout(qt.dims, qt.params.axis);
  const lo = new Int16Array(channels).fill(127), hi = new Int16Array(channels).fill(-128);
  const q = qt.q;
  const outer = q.length / (channels * inner);
  for (let o = 0, j = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let l = lo[c], h = hi[c];
      for (let k = 0; k < inner; k++, j++) {
        const v = q[j];
        if (v < l) l = v;
        if (v > h) h = v;
      }
      lo[c] = l;
      hi[c] = h;
    }
  }
  return bounds(qt, (c) => lo[c], (c) => hi[c]);
}
