/**
 * Tensors that remember the record they were decoded from, so a relay can send them on
 * without encoding them again.
 *
 * The clinic's courier relays cut tensors between the sandboxed raw side (a pipe) and the
 * server (the encrypted channel). When both ends use the same wire encoding (int8, say),
 * decoding a tensor and quantising it again would cost time and add a second rounding; a
 * tensor decoded with `keepRecords` remembers its record bytes here, and a bundle encoded
 * with `reuseRecords` writes those bytes verbatim. The registry is a `WeakMap`: a record
 * lives exactly as long as its tensor, and a `Tensor` stays a plain object.
 *
 * @example
 * ```ts
 * import { decodeTensors, encodeTensors } from "./bundle.ts";
 * import { wireRecordOf } from "./wire_records.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const bytes = encodeTensors({ a: tensor("float32", [2], new Float32Array([1, 2])) }, { dtype: "int8" });
 * const a = decodeTensors(bytes, undefined, { keepRecords: true }).get("a")!;
 * wireRecordOf(a)?.[1]; // 3: the record's wire dtype is int8 (ONNX code 3)
 * encodeTensors({ a }, { reuseRecords: true }); // the int8 record as it arrived
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";

const RECORDS = new WeakMap<Tensor, Uint8Array>();

/**
 * Remembers `record` (one tensor record, as `tensor_record.ts` writes it) as the wire form
 * of `t`.
 *
 * @example
 * ```ts
 * import { rememberWireRecord, wireRecordOf } from "./wire_records.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const t = tensor("float32", [1]);
 * rememberWireRecord(t, new Uint8Array([1, 1, 0, 0, 1, 0, 0]));
 * wireRecordOf(t)?.length; // 7
 * ```
 */
export function rememberWireRecord(t: Tensor, record: Uint8Array): void {
  RECORDS.set(t, record);
}

/**
 * The record `t` was decoded from with `keepRecords`, or undefined.
 *
 * @example
 * ```ts
 * import { wireRecordOf } from "./wire_records.ts";
 * import { tensor } from "../../models/tensor.ts";
 * wireRecordOf(tensor("float32", [1])); // undefined
 * ```
 */
export function wireRecordOf(t: Tensor): Uint8Array | undefined {
  return RECORDS.get(t);
}
