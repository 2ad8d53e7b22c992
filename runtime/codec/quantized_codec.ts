/**
 * One already-quantised tensor ⇄ one message. When the graph that produced a cut tensor
 * quantised it itself (`models/train/quantize_cut.ts`: int8 codes, one scale and zero point
 * per channel), the codec only moves bytes: {@linkcode encodeQuantizedTensor} writes the very
 * message {@linkcode "./tensor_codec.ts".encodeTensor} writes for an `int8` tensor with those
 * codes and parameters (so a receiver may still decode it to float32 with `decodeTensor`), and
 * {@linkcode decodeQuantizedTensor} hands the codes and parameters to a graph that dequantises
 * its input itself, with every field checked as `decodeTensor` checks it.
 *
 * @example
 * ```ts
 * import { decodeQuantizedTensor, encodeQuantizedTensor } from "./quantized_codec.ts";
 * const bytes = encodeQuantizedTensor({
 *   dims: [1, 2], q: new Int8Array([-128, 127]),
 *   params: { axis: 1, scales: new Float32Array([0.5, 2]), zeroPoints: new Int8Array([-128, 0]) },
 * }, { level: 0 });
 * console.log(decodeQuantizedTensor(bytes).q); // Int8Array [-128, 127]
 * ```
 * @module
 */

import { type DecodeLimits, resolveEncoding, resolveLimits, resolvePadding } from "./options.ts";
import type { Padding } from "./padding.ts";
import {
  type QuantizedTensor,
  readQuantizedRecord,
  writeQuantizedRecord,
} from "./tensor_record.ts";
import { openSingleTensor, sealSingleTensor } from "./single_tensor_message.ts";

export type { QuantizedTensor } from "./tensor_record.ts";

/** Options of {@linkcode encodeQuantizedTensor}. */
export interface QuantizedEncoding {
  /** DEFLATE level 0–9 of the codes; default 0 (int8 codes barely compress, see bench:channel). */
  readonly level?: number;
  /** Length padding of the message (as `CodecOptions.padding`). */
  readonly padding?: Padding;
}

/**
 * Encodes an already quantised tensor into one message, copying its codes as bytes.
 *
 * @throws {RangeError} for an invalid option, or codes and parameters that do not fit `dims`
 *
 * @example
 * ```ts
 * import { encodeQuantizedTensor } from "./quantized_codec.ts";
 * encodeQuantizedTensor({
 *   dims: [2], q: new Int8Array([0, 1]),
 *   params: { axis: null, scales: new Float32Array([1]), zeroPoints: new Int8Array([0]) },
 * });
 * ```
 */
export function encodeQuantizedTensor(
  t: QuantizedTensor,
  opts: QuantizedEncoding = {},
): Uint8Array {
  const { level } = resolveEncoding({ dtype: "int8", level: opts.level ?? 0 });
  const padding = resolvePadding(opts.padding);
  return sealSingleTensor((w) => writeQuantizedRecord(w, t, level), padding);
}

/**
 * Decodes a message carrying one float tensor as dense int8 into its codes and parameters,
 * without converting them to floats.
 *
 * @throws {CodecError} for any malformed, truncated or oversized message, and for a tensor
 * that is not dense int8 on the wire (`BAD_DTYPE`, `UNSUPPORTED`)
 *
 * @example
 * ```ts
 * import { decodeQuantizedTensor } from "./quantized_codec.ts";
 * import { encodeTensor } from "./tensor_codec.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const bytes = encodeTensor(tensor("float32", [1, 2], new Float32Array([0, 3])), { dtype: "int8" });
 * console.log(decodeQuantizedTensor(bytes).params.scales.length); // 2
 * ```
 */
export function decodeQuantizedTensor(bytes: Uint8Array, limits?: DecodeLimits): QuantizedTensor {
  const l = resolveLimits(limits);
  return openSingleTensor(
    bytes,
    "expected one tensor",
    (r) => readQuantizedRecord(r, l, { elements: l.maxElements }),
  );
}
