/**
 * Test-only statements of the accuracy the codec promises, computed from the
 * original values alone (never from what the codec chose), so a codec that
 * picked too coarse a scale would fail them.
 *
 * @example
 * ```ts
 * import { assertInt8Close } from "./error_bounds.ts";
 * assertInt8Close(new Float32Array([1]), new Float32Array([1]), [1], null);
 * ```
 * @module
 */

import assert from "node:assert/strict";
import { channelLayout } from "../../../runtime/codec/quantize.ts";

/**
 * Half a quantisation step per channel: the channel's range widened to include
 * 0, over 255 steps, halved (with slack for rounding the scale to float32).
 * `mask` restricts the range to the elements that were sent (top-k).
 *
 * @example
 * ```ts
 * import { int8Bounds } from "./error_bounds.ts";
 * int8Bounds(new Float32Array([0, 255]), [2], null); // ≈ [0.5]
 * ```
 */
export function int8Bounds(
  x: Float32Array,
  dims: readonly number[],
  axis: number | null,
  mask?: (i: number) => boolean,
): Float64Array {
  const { channels, inner } = channelLayout(dims, axis);
  const lo = new Float64Array(channels), hi = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    if (mask && !mask(i)) continue;
    const c = Math.floor(i / inner) % channels;
    lo[c] = Math.min(lo[c], x[i]);
    hi[c] = Math.max(hi[c], x[i]);
  }
  return lo.map((l, c) => ((hi[c] - l) / 255) * (1 + 2 ** -22) / 2);
}

/**
 * |y − x| ≤ scale/2 per channel (+ float32 rounding of the output).
 *
 * @example
 * ```ts
 * import { assertInt8Close } from "./error_bounds.ts";
 * assertInt8Close(new Float32Array([0, 255]), new Float32Array([0, 255.4]), [2], null);
 * ```
 */
export function assertInt8Close(
  x: Float32Array,
  y: Float32Array,
  dims: readonly number[],
  axis: number | null,
  mask?: (i: number) => boolean,
): void {
  const bound = int8Bounds(x, dims, axis, mask);
  const { channels, inner } = channelLayout(dims, axis);
  for (let i = 0; i < x.length; i++) {
    if (mask && !mask(i)) continue;
    const c = Math.floor(i / inner) % channels;
    // Beyond scale/2: the float32 rounding of the output (relative 2^-23 for normals), and
    // for subnormal data two float32 subnormal steps (2^-149 each): the stored scale is
    // rounded up to the subnormal grid, and so is the dequantised value.
    const tol = bound[c] + Math.abs(x[i]) * 2 ** -23 + 2 ** -148;
    assert.ok(
      Math.abs(y[i] - x[i]) <= tol,
      `element ${i} (channel ${c}): ${x[i]} → ${y[i]}, bound ${tol}`,
    );
  }
}

/**
 * The float16 promise: relative error ≤ 2^-11 for values in the normal range,
 * absolute ≤ 2^-25 (half the smallest subnormal step) below it, and infinity
 * beyond 65520; NaN stays NaN.
 *
 * @example
 * ```ts
 * import { assertFloat16Close } from "./error_bounds.ts";
 * assertFloat16Close(new Float32Array([1]), new Float32Array([1]));
 * ```
 */
export function assertFloat16Close(
  x: Float32Array,
  y: Float32Array,
  mask?: (i: number) => boolean,
): void {
  for (let i = 0; i < x.length; i++) {
    if (mask && !mask(i)) continue;
    const v = x[i], w = y[i];
    if (Number.isNaN(v)) {
      assert.ok(Number.isNaN(w), `element ${i}: NaN → ${w}`);
    } else if (Math.abs(v) >= 65520) {
      assert.equal(w, v > 0 ? Infinity : -Infinity, `element ${i}: ${v} → ${w}`);
    } else if (Math.abs(v) >= 2 ** -14) {
      assert.ok(Math.abs(w - v) <= Math.abs(v) * 2 ** -11, `element ${i}: ${v} → ${w} (relative)`);
    } else {
      assert.ok(Math.abs(w - v) <= 2 ** -25, `element ${i}: ${v} → ${w} (subnormal range)`);
    }
  }
}
