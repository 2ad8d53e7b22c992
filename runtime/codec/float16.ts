/**
 * IEEE 754 binary16 conversion for the `float16` wire dtype, done by the
 * JavaScript engine's own `Float16Array` (ECMA-262 2025, §25.2 TypedArray
 * objects; the conversion is the abstract operation that rounds a Number to
 * binary16 with roundTiesToEven, IEEE 754-2019 §4.3.3). Doing it natively
 * gets the awkward cases right for free: overflow to ±Infinity above 65519.99…,
 * gradual underflow to subnormals (smallest 2^-24), ±0 and NaN.
 *
 * Elements are handled as raw binary16 bits in a `Uint16Array`, the
 * representation `models/tensor.ts` uses for `float16` tensors.
 *
 * @example
 * ```ts
 * import { float16BitsToFloat32, float32ToFloat16Bits } from "./float16.ts";
 * const bits = float32ToFloat16Bits(new Float32Array([1, 65504, 1e-8]));
 * float16BitsToFloat32(bits); // Float32Array [1, 65504, 0]
 * ```
 * @module
 */

/**
 * Rounds each float32 to binary16 (round to nearest, ties to even) and returns
 * the bit patterns.
 *
 * @example
 * ```ts
 * import { float32ToFloat16Bits } from "./float16.ts";
 * float32ToFloat16Bits(new Float32Array([1])); // Uint16Array [0x3c00]
 * ```
 */
export function float32ToFloat16Bits(x: Float32Array): Uint16Array {
  const h = new Float16Array(x); // element-wise conversion with roundTiesToEven
  return new Uint16Array(h.buffer, h.byteOffset, h.length);
}

/**
 * Widens binary16 bit patterns to float32 (exact: every binary16 value,
 * subnormals included, is a float32 value).
 *
 * @example
 * ```ts
 * import { float16BitsToFloat32 } from "./float16.ts";
 * float16BitsToFloat32(new Uint16Array([0x3c00, 0x0001])); // [1, 2^-24]
 * ```
 */
export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  return new Float32Array(new Float16Array(bits.buffer, bits.byteOffset, bits.length));
}
