/**
 * The frame of a one-tensor message, shared by the float codec (`tensor_codec.ts`) and the
 * already-quantised codec (`quantized_codec.ts`): one tensor record in a `KIND.tensor`
 * envelope (`wire_format.ts`), padded to its length bucket; on decode, a bundle refused and no
 * byte allowed after the record.
 *
 * @example
 * ```ts
 * import { openSingleTensor, sealSingleTensor } from "./single_tensor_message.ts";
 * import { readTensorRecord, writeTensorRecord } from "./tensor_record.ts";
 * import { resolveEncoding, resolveLimits } from "./options.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const t = tensor("float32", [2], new Float32Array([1, 2]));
 * const bytes = sealSingleTensor((w) => writeTensorRecord(w, t, resolveEncoding({})), { mode: "none" });
 * const l = resolveLimits();
 * openSingleTensor(bytes, "use decodeTensors", (r) => readTensorRecord(r, l, { elements: l.maxElements }));
 * ```
 * @module
 */
import { ByteReader, ByteWriter } from "./byte_io.ts";
import { CodecError } from "./codec_error.ts";
import { openEnvelope, sealEnvelope } from "./envelope.ts";
import type { Padding } from "./padding.ts";
import { KIND } from "./wire_format.ts";

/**
 * One message holding the record `write` writes, padded with `padding`.
 *
 * @example
 * ```ts
 * import { sealSingleTensor } from "./single_tensor_message.ts";
 * // sealSingleTensor((w) => writeTensorRecord(w, t, enc), padding);
 * ```
 */
export function sealSingleTensor(write: (w: ByteWriter) => void, padding: Padding): Uint8Array {
  const w = new ByteWriter();
  write(w);
  return sealEnvelope(KIND.tensor, w, padding);
}

/**
 * The record `read` reads from a one-tensor message.
 *
 * @throws {CodecError} `MALFORMED` (field `kind`) for a bundle, with `bundleHint` after
 * "message is a bundle: "; `MALFORMED` (field `body length`) for bytes after the record; and
 * whatever the envelope and `read` throw.
 *
 * @example
 * ```ts
 * import { openSingleTensor } from "./single_tensor_message.ts";
 * // openSingleTensor(bytes, "use decodeTensors", (r) => readTensorRecord(r, l, { elements: l.maxElements }));
 * ```
 */
export function openSingleTensor<T>(
  bytes: Uint8Array,
  bundleHint: string,
  read: (r: ByteReader) => T,
): T {
  const { kind, body } = openEnvelope(bytes);
  if (kind !== KIND.tensor) {
    throw new CodecError("MALFORMED", "kind", `message is a bundle: ${bundleHint}`);
  }
  const r = new ByteReader(body);
  const t = read(r);
  if (r.remaining !== 0) {
    throw new CodecError(
      "MALFORMED",
      "body length",
      `${r.remaining} bytes follow the tensor record`,
    );
  }
  return t;
}
