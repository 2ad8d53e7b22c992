/**
 * One tensor ⇄ one message: the codec's main entry points. A float tensor is
 * optionally sparsified (top-k), converted to its wire dtype (float32 exact,
 * float16, or per-channel int8), DEFLATEd, wrapped in a versioned header and
 * padded to a length bucket; integer and bool tensors travel exactly.
 *
 * @example
 * ```ts
 * import { decodeTensor, encodeTensor } from "./tensor_codec.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const act = tensor("float32", [1, 2, 2, 2], new Float32Array([0, 1, 2, 3, 0, 0, 5, 6]));
 * const bytes = encodeTensor(act, { dtype: "int8", level: 6 });
 * const back = decodeTensor(bytes, { maxElements: 1024 });
 * console.log(back.dtype, back.dims); // float32 [1, 2, 2, 2]
 * ```
 * @module
 */

import type { Tensor } from "../../models/tensor.ts";
import {
  type CodecOptions,
  type DecodeLimits,
  resolveEncoding,
  resolveLimits,
  resolvePadding,
} from "./options.ts";
import { openSingleTensor, sealSingleTensor } from "./single_tensor_message.ts";
import { readTensorRecord, writeTensorRecord } from "./tensor_record.ts";

/**
 * Encodes `t` into one self-describing message.
 *
 * @throws {TypeError} when `t` is not a well-formed tensor.
 * @throws {RangeError} on an invalid option, or a setting `t` cannot take
 * (NaN or ±Infinity under `int8`, a channel axis outside its rank).
 *
 * @example
 * ```ts
 * import { encodeTensor } from "./tensor_codec.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const labels = tensor("int64", [2], new BigInt64Array([0n, 1n]));
 * encodeTensor(labels, { padding: { mode: "none" } }).length; // 16-byte envelope + record
 * ```
 */
export function encodeTensor(t: Tensor, opts: CodecOptions = {}): Uint8Array {
  const enc = resolveEncoding(opts);
  const padding = resolvePadding(opts.padding);
  return sealSingleTensor((w) => writeTensorRecord(w, t, enc), padding);
}

/**
 * Decodes a message made by {@linkcode encodeTensor}, checking every field
 * against `limits` before allocating. Float tensors come back as float32;
 * integer and bool tensors come back exactly, in their own dtype.
 *
 * @throws {CodecError} for any malformed, truncated, oversized or bomb message.
 * @throws {RangeError} when `limits` itself is invalid.
 *
 * @example
 * ```ts
 * import { decodeTensor } from "./tensor_codec.ts";
 * import { CodecError } from "./codec_error.ts";
 * try {
 *   decodeTensor(new TextEncoder().encode("not a tensor message"));
 * } catch (e) {
 *   if (e instanceof CodecError) console.log(e.code, e.field); // MALFORMED magic
 * }
 * ```
 */
export function decodeTensor(bytes: Uint8Array, limits?: DecodeLimits): Tensor {
  const l = resolveLimits(limits);
  return openSingleTensor(
    bytes,
    "use decodeTensors",
    (r) => readTensorRecord(r, l, { elements: l.maxElements }),
  );
}
