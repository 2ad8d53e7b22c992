/**
 * The tensor wire codec: how cut-layer activations, gradients and labels
 * become bytes for the Noise channel and back.
 *
 * Sender: optional top-k sparsification → wire dtype (float32 exact, float16,
 * per-channel int8) → DEFLATE → versioned little-endian header → padding to a
 * length bucket. Receiver: every header field is checked against
 * {@linkcode DecodeLimits} before anything is allocated; anything wrong is a
 * {@linkcode CodecError} with a `code` and the name of the field.
 *
 * @example
 * ```ts
 * import { decodeTensor, encodeTensor } from "./mod.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const grad = tensor("float32", [2, 3], new Float32Array([1, -2, 3, 0, 0.5, -0.25]));
 * const bytes = encodeTensor(grad, { dtype: "float16" });
 * decodeTensor(bytes).data; // Float32Array [1, -2, 3, 0, 0.5, -0.25]
 * ```
 * @module
 */

export { CodecError, type CodecErrorCode } from "./codec_error.ts";
export { decodeTensor, encodeTensor } from "./tensor_codec.ts";
export {
  decodeQuantizedTensor,
  encodeQuantizedTensor,
  type QuantizedEncoding,
  type QuantizedTensor,
} from "./quantized_codec.ts";
export { decodeTensors, type DecodeTensorsOptions, encodeTensors } from "./bundle.ts";
export { rememberWireRecord, wireRecordOf } from "./wire_records.ts";
export {
  type BundleOptions,
  type CodecOptions,
  type DecodeLimits,
  DEFAULT_LIMITS,
  type TensorEncoding,
  type WireDType,
} from "./options.ts";
export { paddedLength, type Padding } from "./padding.ts";
export { graphExact, quantizedOf, quantizedRecord, quantizedView } from "./quantized_view.ts";
export { int8Extremes } from "./int8_extremes.ts";
export { int8Rms } from "./int8_rms.ts";
