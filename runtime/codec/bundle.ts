/**
 * A small named bundle of tensors in one message — e.g. the cut activation,
 * its labels and the step id of one training step — so they are sealed,
 * padded and delivered together. Each tensor is its own record with its own
 * encoding (lossy for activations, exact for labels); padding covers the whole
 * message; the receiver's element limit covers the sum of all tensors.
 *
 * Decoded bundles are a `Map`, not an object, so a name like `__proto__` from
 * the wire is just a name.
 *
 * @example
 * ```ts
 * import { decodeTensors, encodeTensors } from "./bundle.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const bytes = encodeTensors({
 *   activation: tensor("float32", [2, 4], new Float32Array(8).fill(0.5)),
 *   labels: tensor("int64", [2], new BigInt64Array([0n, 1n])),
 *   step: tensor("int64", [], new BigInt64Array([42n])),
 * }, { perTensor: { activation: { dtype: "int8" } } });
 * const back = decodeTensors(bytes);
 * console.log(back.get("step")?.data); // BigInt64Array [42n]
 * ```
 * @module
 */

import type { Tensor } from "../../models/tensor.ts";
import { ByteReader, ByteWriter } from "./byte_io.ts";
import { CodecError } from "./codec_error.ts";
import { openEnvelope, sealEnvelope } from "./envelope.ts";
import {
  type BundleOptions,
  type DecodeLimits,
  resolveEncoding,
  resolveLimits,
  resolvePadding,
} from "./options.ts";
import { readQuantizedRecord, readTensorRecord, writeTensorRecord } from "./tensor_record.ts";
import { DTYPE_CODE, FLAG, FORMAT_MAX_TENSORS, KIND } from "./wire_format.ts";
import { quantizedView } from "./quantized_view.ts";
import { rememberWireRecord, wireRecordOf } from "./wire_records.ts";

const MAX_NAME_BYTES = 255;

/**
 * Encodes named tensors into one message, in the iteration order of `tensors`.
 * Names are 1–255 bytes of UTF-8. `opts` gives the defaults;
 * `opts.perTensor[name]` overrides them for one tensor. With `opts.reuseRecords`, a tensor
 * decoded with `keepRecords` is written as the record it arrived in, whatever the encoding
 * options say (`wire_records.ts`).
 *
 * @param headroom bytes left free before the message in the returned buffer, for a caller's
 *   own prefix ({@linkcode sealEnvelope}); the message is `result.subarray(headroom)`
 * @throws {RangeError} on a bad name, too many tensors, an override for a name
 * that is not in the bundle, or anything {@linkcode encodeTensor} refuses.
 *
 * @example
 * ```ts
 * import { encodeTensors } from "./bundle.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const m = new Map([["grad", tensor("float32", [3], new Float32Array([1, 2, 3]))]]);
 * encodeTensors(m, { dtype: "float16" });
 * ```
 */
export function encodeTensors(
  tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  opts: BundleOptions = {},
  headroom = 0,
): Uint8Array {
  const entries: [string, Tensor][] = tensors instanceof Map
    ? [...tensors.entries()]
    : Object.entries(tensors as Record<string, Tensor>);
  if (entries.length > FORMAT_MAX_TENSORS) {
    throw new RangeError(
      `bundle of ${entries.length} tensors exceeds the format's ${FORMAT_MAX_TENSORS}`,
    );
  }
  const padding = resolvePadding(opts.padding);
  const overrides = opts.perTensor ?? {};
  const names = new Set(entries.map(([name]) => name));
  for (const name of Object.keys(overrides)) {
    if (!names.has(name)) {
      throw new RangeError(`perTensor names ${JSON.stringify(name)}, which is not in the bundle`);
    }
  }
  const utf8 = new TextEncoder();
  const w = new ByteWriter().u16(entries.length);
  for (const [name, t] of entries) {
    const nameBytes = utf8.encode(name);
    if (nameBytes.length < 1 || nameBytes.length > MAX_NAME_BYTES) {
      throw new RangeError(
        `tensor name ${
          JSON.stringify(name)
        } is ${nameBytes.length} UTF-8 bytes: expected 1 to ${MAX_NAME_BYTES}`,
      );
    }
    const own = Object.hasOwn(overrides, name) ? overrides[name] : {};
    w.u8(nameBytes.length).bytes(nameBytes);
    const record = opts.reuseRecords ? wireRecordOf(t) : undefined;
    if (record) w.bytes(record);
    else writeTensorRecord(w, t, resolveEncoding({ ...opts, ...own }));
  }
  return sealEnvelope(KIND.bundle, w, padding, headroom);
}

/** Options of {@linkcode decodeTensors}. */
export interface DecodeTensorsOptions {
  /**
   * Remember each tensor's record bytes, for a relay that sends the tensor on with
   * `reuseRecords` (`wire_records.ts`). Default false.
   */
  readonly keepRecords?: boolean;
  /**
   * Return each dense int8 record as a view (`quantized_view.ts`): the same floats, read
   * lazily, with its codes kept for a graph that dequantises them itself (and its record, as
   * with `keepRecords`). Default false.
   */
  readonly int8Views?: boolean;
}

/**
 * Decodes a message made by {@linkcode encodeTensors}. `limits.maxTensors`
 * bounds the count and `limits.maxElements` the total over all tensors. Every record is
 * decoded and checked in full, `keepRecords` or not.
 *
 * @throws {CodecError} for any malformed, truncated, oversized or bomb
 * message, invalid UTF-8 or a repeated name.
 *
 * @example
 * ```ts
 * import { decodeTensors, encodeTensors } from "./bundle.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const b = encodeTensors({ x: tensor("uint8", [2], new Uint8Array([1, 2])) });
 * decodeTensors(b, { maxTensors: 4 }).get("x")?.data; // Uint8Array [1, 2]
 * ```
 */
export function decodeTensors(
  bytes: Uint8Array,
  limits?: DecodeLimits,
  opts: DecodeTensorsOptions = {},
): Map<string, Tensor> {
  const l = resolveLimits(limits);
  const { kind, body } = openEnvelope(bytes);
  if (kind !== KIND.bundle) {
    throw new CodecError("MALFORMED", "kind", "message is a single tensor: use decodeTensor");
  }
  const r = new ByteReader(body);
  const count = r.u16("count");
  if (count > l.maxTensors) {
    throw new CodecError("TOO_LARGE", "count", `${count} tensors exceed the limit ${l.maxTensors}`);
  }
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const budget = { elements: l.maxElements };
  const out = new Map<string, Tensor>();
  for (let i = 0; i < count; i++) {
    const len = r.u8(`names[${i}] length`);
    if (len === 0) {
      throw new CodecError("MALFORMED", `names[${i}] length`, "names must not be empty");
    }
    let name: string;
    try {
      name = utf8.decode(r.take(len, `names[${i}]`));
    } catch (e) {
      if (e instanceof CodecError) throw e;
      throw new CodecError("MALFORMED", `names[${i}]`, "is not valid UTF-8", { cause: e });
    }
    if (out.has(name)) {
      throw new CodecError("MALFORMED", `names[${i}]`, `${JSON.stringify(name)} appears twice`);
    }
    const start = r.pos;
    let t: Tensor;
    if (opts.int8Views && isDenseInt8(body, start)) {
      const qt = readQuantizedRecord(r, l, budget);
      t = quantizedView(qt, body.subarray(start, r.pos));
    } else {
      t = readTensorRecord(r, l, budget);
      if (opts.keepRecords) rememberWireRecord(t, body.subarray(start, r.pos));
    }
    out.set(name, t);
  }
  if (r.remaining !== 0) {
    throw new CodecError("MALFORMED", "body length", `${r.remaining} bytes follow the last tensor`);
  }
  return out;
}

const FLOAT_CODES: ReadonlySet<number> = new Set([
  DTYPE_CODE.float32,
  DTYPE_CODE.float16,
  DTYPE_CODE.float64,
]);

/**
 * Whether the record at `at` is a float tensor sent as dense int8 (record bytes 0, 1 and 3:
 * source dtype, wire dtype, flags); a truncated one is left to `readTensorRecord`, which names
 * the missing field.
 */
function isDenseInt8(body: Uint8Array, at: number): boolean {
  return at + 3 < body.length && FLOAT_CODES.has(body[at]) &&
    body[at + 1] === DTYPE_CODE.int8 && (body[at + 3] & FLAG.sparse) === 0;
}
