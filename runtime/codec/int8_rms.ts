/**
 * The root-mean-square of the floats an int8 tensor stands for, from its codes: per channel
 * scale² · Σ(q − zeroPoint)², summed in float64. What the server's activation-drift watch
 * (runtime/server/activation_drift.ts) needs of a view (`quantized_view.ts`) without
 * dequantising it. It differs from the RMS of the dequantised float32 values only by their
 * rounding (each (q − zeroPoint) · scale is rounded to float32 there, not here): a relative
 * difference of order 2⁻²⁴, far below anything the drift watch compares.
 *
 * @example
 * ```ts
 * import { int8Rms } from "./int8_rms.ts";
 * int8Rms({
 *   dims: [1, 2], q: new Int8Array([1, -1]),
 *   params: { axis: 1, scales: new Float32Array([2, 2]), zeroPoints: new Int8Array([0, 0]) },
 * }); // 2
 * ```
 * @module
 */
import { channelLayout } from "./quantize.ts";
import type { QuantizedTensor } from "./tensor_record.ts";

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * RMS of the values `qt` dequantises to (0 for an empty tensor).
 *
 * @example
 * ```ts
 * import { int8Rms } from "./int8_rms.ts";
 * int8Rms({
 *   dims: [2], q: new Int8Array([3, 3]),
 *   params: { axis: null, scales: new Float32Array([1]), zeroPoints: new Int8Array([0]) },
 * }); // 3
 * ```
 */
export function int8Rms(qt: QuantizedTensor): number {
  const n = qt.q.length;
  if (n === 0) return 0;
  const { channels, inner } = channelLayout(qt.dims, qt.params.axis);
  const { scales, zeroPoints } = qt.params;
  const sums = new Float64Array(channels);
  const q = qt.q, outer = n / (channels * inner);
  // A scale so large that (q − zeroPoint) · scale may exceed float32: dequantizeInt8 clamps
  // those values, so they are summed as the clamped floats themselves.
  const clamps = Array.from(scales, (s) => s * 256 > FLOAT32_MAX);
  let clamped = 0;
  for (let o = 0, j = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const z = zeroPoints[c];
      let s = 0;
      if (clamps[c]) {
        for (let k = 0; k < inner; k++, j++) {
          const v = Math.min(FLOAT32_MAX, Math.abs(Math.fround((q[j] - z) * scales[c])));
          clamped += v * v;
        }
        continue;
      }
      for (let k = 0; k < inner; k++, j++) {
        const d = q[j] - z;
        s += d * d;
      }
      sums[c] += s;
    }
  }
  let total = clamped;
  for (let c = 0; c < channels; c++) total += sums[c] * scales[c] * scales[c];
  return Math.sqrt(total / n);
}
