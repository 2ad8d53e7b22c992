/**
 * One tensor on the wire (a "tensor record", see `wire_format.ts` for the
 * byte layout): writing it with the chosen encoding, and reading it back with
 * every header field checked before anything of a declared size is allocated.
 *
 * The reader trusts nothing: the shape is bounded by the receiver's
 * {@linkcode DecodeLimits}, every payload length must be the one the shape
 * implies (exactly for dense payloads, within the encoding's bounds for
 * sparse ones), and the only size ever allocated is one those checks allowed.
 *
 * @example
 * ```ts
 * import { readTensorRecord, writeTensorRecord } from "./tensor_record.ts";
 * import { ByteReader, ByteWriter } from "./byte_io.ts";
 * import { resolveEncoding, resolveLimits } from "./options.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const w = new ByteWriter();
 * writeTensorRecord(w, tensor("int64", [2], new BigInt64Array([3n, 4n])), resolveEncoding());
 * const t = readTensorRecord(new ByteReader(w.finish()), resolveLimits(), { elements: 100 });
 * console.log(t.data); // BigInt64Array [3n, 4n]
 * ```
 * @module
 */

import { type DType, DTYPE_BYTES, type Tensor, tensor } from "../../models/tensor.ts";
import {
  type ByteReader,
  type ByteWriter,
  HOST_LITTLE_ENDIAN,
  hostOrderCopy,
  littleEndianBytes,
} from "./byte_io.ts";
import { CodecError } from "./codec_error.ts";
import { deflatePayload, inflateBounded, worthDeflating } from "./deflate.ts";
import { float16BitsToFloat32, float32ToFloat16Bits } from "./float16.ts";
import type { DecodeLimits, ResolvedEncoding } from "./options.ts";
import { dequantizeInt8, quantizeInt8, type QuantParams } from "./quantize.ts";
import { decodeIndices, encodeIndices, maxIndexBytes, minIndexBytes } from "./sparse_indices.ts";
import { topKIndices } from "./top_k.ts";
import {
  COMPRESSION,
  DTYPE_CODE,
  DTYPE_OF_CODE,
  FLAG,
  FLOAT_DTYPES,
  FORMAT_MAX_RANK,
  INDEX_ENCODING,
  KNOWN_FLAGS,
} from "./wire_format.ts";

/** Wire dtypes of float sources, by ONNX code, with their element width. */
const FLOAT_WIRE_BYTES: ReadonlyMap<number, number> = new Map([
  [DTYPE_CODE.float32, DTYPE_BYTES.float32],
  [DTYPE_CODE.float16, DTYPE_BYTES.float16],
  [DTYPE_CODE.int8, DTYPE_BYTES.int8],
]);

const U32_MAX = 0xffffffff;

/** The elements of a float tensor as float32 (a view when already float32). */
function asFloat32(t: Tensor): Float32Array {
  switch (t.dtype) {
    case "float32":
      return t.data as Float32Array;
    case "float16":
      return float16BitsToFloat32(t.data as Uint16Array);
    default:
      return Float32Array.from(t.data as Float64Array); // rounds to nearest even
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Appends the record of `t`, encoded as `enc` says, to `w`.
 *
 * @throws {TypeError} when `t` is not a well-formed {@linkcode Tensor}.
 * @throws {RangeError} when a setting does not fit `t` (channel axis out of
 * range, NaN under int8) or `t` is too large for the format.
 *
 * @example
 * ```ts
 * import { writeTensorRecord } from "./tensor_record.ts";
 * import { ByteWriter } from "./byte_io.ts";
 * import { resolveEncoding } from "./options.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const w = new ByteWriter();
 * writeTensorRecord(w, tensor("float32", [1, 2], new Float32Array([1, 2])), resolveEncoding({ dtype: "float16" }));
 * ```
 */
export function writeTensorRecord(w: ByteWriter, t: Tensor, enc: ResolvedEncoding): void {
  if (t === null || typeof t !== "object") throw new TypeError(`expected a Tensor, got ${t}`);
  tensor(t.dtype, t.dims, t.data); // checks dtype, data type and length against dims
  const dims = t.dims;
  if (dims.length > FORMAT_MAX_RANK) {
    throw new RangeError(`tensor rank ${dims.length} exceeds the format's ${FORMAT_MAX_RANK}`);
  }
  dims.forEach((d, i) => {
    if (d > U32_MAX) throw new RangeError(`dims[${i}] = ${d} exceeds the format's u32`);
  });
  const n = t.data.length;
  const srcCode = DTYPE_CODE[t.dtype];

  let wireCode = srcCode;
  let flags = 0;
  let axis = 0;
  let indexEncoding: number = INDEX_ENCODING.dense;
  let quant: QuantParams | null = null;
  let count = 0;
  let raw: Uint8Array;

  if (!FLOAT_DTYPES.has(t.dtype)) {
    // Labels, code indices, step ids: always exact, in their own dtype.
    raw = littleEndianBytes(t.data);
  } else {
    const x = asFloat32(t);
    let indices: Uint32Array | null = null;
    if (enc.topK !== undefined) {
      const k = n === 0 ? 0 : Math.min(n, Math.max(1, Math.round(enc.topK * n)));
      indices = topKIndices(x, k);
      flags |= FLAG.sparse;
      count = k;
    }
    let values: Uint8Array;
    if (enc.dtype === "int8") {
      let qAxis: number | null = null;
      if (enc.channelAxis !== null && dims.length >= 2) {
        qAxis = enc.channelAxis < 0 ? enc.channelAxis + dims.length : enc.channelAxis;
        if (qAxis < 0 || qAxis >= dims.length) {
          throw new RangeError(
            `channelAxis ${enc.channelAxis} is out of range for rank ${dims.length}: expected [${-dims
              .length}, ${dims.length - 1}]`,
          );
        }
        flags |= FLAG.perChannel;
        axis = qAxis;
      }
      const r = quantizeInt8(x, dims, qAxis, indices);
      quant = r.params;
      values = new Uint8Array(r.q.buffer, r.q.byteOffset, r.q.length);
      wireCode = DTYPE_CODE.int8;
    } else {
      const kept = indices ? Float32Array.from(indices, (i) => x[i]) : x;
      values = enc.dtype === "float16"
        ? littleEndianBytes(float32ToFloat16Bits(kept))
        : littleEndianBytes(kept);
      wireCode = DTYPE_CODE[enc.dtype];
    }
    if (indices) {
      const idx = encodeIndices(indices, n);
      indexEncoding = idx.encoding;
      raw = concat(idx.bytes, values);
    } else {
      raw = values;
    }
  }
  writeRecordFields(
    w,
    { srcCode, wireCode, flags, axis, indexEncoding, dims, quant, count },
    raw,
    enc.level,
  );
}

/** The header fields of one record, as {@linkcode writeRecordFields} writes them. */
interface RecordHeader {
  readonly srcCode: number;
  readonly wireCode: number;
  readonly flags: number;
  readonly axis: number;
  readonly indexEncoding: number;
  readonly dims: readonly number[];
  readonly quant: QuantParams | null;
  readonly count: number;
}

/**
 * Writes a record's header, quantisation parameters and payload (DEFLATEd at `level` when
 * that pays), the layout of `wire_format.ts`; shared by {@linkcode writeTensorRecord} and
 * {@linkcode writeQuantizedRecord}.
 */
function writeRecordFields(w: ByteWriter, h: RecordHeader, raw: Uint8Array, level: number): void {
  const { srcCode, wireCode, flags, axis, indexEncoding, dims, quant, count } = h;
  if (raw.length > U32_MAX) {
    throw new RangeError(`payload of ${raw.length} bytes exceeds the format's u32`);
  }

  let compression: number = COMPRESSION.none;
  let stored = raw;
  // A large payload that barely compresses goes as it is without a full DEFLATE pass.
  if (level > 0 && raw.length > 0 && worthDeflating(raw, level)) {
    const deflated = deflatePayload(raw, level);
    // Incompressible payloads (e.g. float32 noise) go as they are.
    if (deflated.length < raw.length) {
      compression = COMPRESSION.deflate;
      stored = deflated;
    }
  }

  w.u8(srcCode).u8(wireCode).u8(compression).u8(flags).u8(dims.length).u8(axis).u8(indexEncoding)
    .u8(0);
  for (const d of dims) w.u32(d);
  if (quant) {
    w.u32(quant.scales.length);
    w.bytes(littleEndianBytes(quant.scales).slice());
    w.bytes(
      new Uint8Array(quant.zeroPoints.buffer, quant.zeroPoints.byteOffset, quant.zeroPoints.length),
    );
  }
  if (flags & FLAG.sparse) w.u32(count);
  w.u32(raw.length).u32(stored.length).bytes(stored);
}

/**
 * A float tensor already quantised to per-channel int8 (by the graph that produced it, see
 * `models/train/quantize_cut.ts`): its codes, shape and parameters, as the int8 wire dtype
 * carries them.
 */
export interface QuantizedTensor {
  /** The float tensor's shape. */
  readonly dims: readonly number[];
  /** One int8 code per element, row-major. */
  readonly q: Int8Array;
  /** The channel axis, scales and zero points (`quantize.ts`). */
  readonly params: QuantParams;
}

/**
 * Appends the int8 record of an already quantised tensor: the same bytes
 * {@linkcode writeTensorRecord} writes for the float tensor with the same codes and
 * parameters, but the codes are copied as bytes, never converted.
 *
 * @throws {RangeError} when the codes, scales or zero points do not fit `dims` and the axis,
 * or a scale is not positive and finite
 *
 * @example
 * ```ts
 * import { writeQuantizedRecord } from "./tensor_record.ts";
 * import { ByteWriter } from "./byte_io.ts";
 * const w = new ByteWriter();
 * writeQuantizedRecord(w, {
 *   dims: [1, 2], q: new Int8Array([-128, 127]),
 *   params: { axis: 1, scales: new Float32Array([1, 1]), zeroPoints: new Int8Array([-128, -128]) },
 * }, 0);
 * ```
 */
export function writeQuantizedRecord(w: ByteWriter, t: QuantizedTensor, level: number): void {
  const { dims, q, params } = t;
  const n = dims.reduce((a, d) => a * d, 1);
  if (
    dims.length > FORMAT_MAX_RANK || dims.some((d) => !Number.isInteger(d) || d < 0 || d > U32_MAX)
  ) {
    throw new RangeError(
      `dims [${dims.join(", ")}] do not fit the format: expected up to ${FORMAT_MAX_RANK} u32 dims`,
    );
  }
  if (!(q instanceof Int8Array) || q.length !== n) {
    throw new RangeError(
      `q: expected an Int8Array of ${n} codes for dims [${dims.join(", ")}], got ${q?.length}`,
    );
  }
  const axis = params.axis;
  if (axis !== null && (!Number.isInteger(axis) || axis < 0 || axis >= dims.length)) {
    throw new RangeError(`params.axis ${axis} is out of range for rank ${dims.length}`);
  }
  const channels = axis === null ? 1 : dims[axis];
  if (params.scales.length !== channels || params.zeroPoints.length !== channels) {
    throw new RangeError(
      `params: expected ${channels} scales and zero points, got ${params.scales.length} and ${params.zeroPoints.length}`,
    );
  }
  const bad = params.scales.findIndex((v) => !(v > 0 && v < Infinity));
  if (bad >= 0) {
    throw new RangeError(
      `params.scales[${bad}] = ${params.scales[bad]}: expected a positive finite number`,
    );
  }
  writeRecordFields(
    w,
    {
      srcCode: DTYPE_CODE.float32,
      wireCode: DTYPE_CODE.int8,
      flags: axis === null ? 0 : FLAG.perChannel,
      axis: axis ?? 0,
      indexEncoding: INDEX_ENCODING.dense,
      dims,
      quant: params,
      count: 0,
    },
    new Uint8Array(q.buffer, q.byteOffset, q.length),
    level,
  );
}

/** Element budget shared by the records of one message (a bundle sums its tensors). */
export interface ElementBudget {
  /** Elements still allowed. */
  elements: number;
}

/**
 * Reads one record, checking every field, and returns its tensor (float32 for
 * float sources; the source dtype, exactly, otherwise). The data never aliases
 * the input bytes.
 *
 * @throws {CodecError} naming the first field found wrong.
 *
 * @example
 * ```ts
 * import { readTensorRecord } from "./tensor_record.ts";
 * import { ByteReader } from "./byte_io.ts";
 * import { resolveLimits } from "./options.ts";
 * try {
 *   readTensorRecord(new ByteReader(new Uint8Array([99])), resolveLimits(), { elements: 10 });
 * } catch (e) {
 *   console.log(String(e)); // CodecError: dtype: code 99 is not a known dtype
 * }
 * ```
 */
export function readTensorRecord(
  r: ByteReader,
  limits: Required<DecodeLimits>,
  budget: ElementBudget,
): Tensor {
  const {
    src,
    isFloat,
    dims,
    n,
    count,
    quant,
    sparse,
    indexEncoding,
    raw,
    rawLength,
    valueBytes,
    wireBytes,
  } = readRecordParts(r, limits, budget);

  if (!isFloat) {
    const data = tensor(src, dims).data; // n ≤ budget: allowed
    new Uint8Array(data.buffer).set(new Uint8Array(hostOrderCopy(raw, wireBytes)));
    if (src === "bool") {
      const i = (data as Uint8Array).findIndex((v) => v > 1);
      if (i >= 0) {
        throw new CodecError(
          "MALFORMED",
          "payload",
          `bool element ${i} is ${(data as Uint8Array)[i]}: expected 0 or 1`,
        );
      }
    }
    return tensor(src, dims, data);
  }

  const indices = sparse
    ? decodeIndices(indexEncoding, raw.subarray(0, rawLength - valueBytes), count, n)
    : null;
  const values = raw.subarray(rawLength - valueBytes);
  let out: Float32Array;
  if (quant) {
    out = new Float32Array(n);
    // One byte per code: read in place, no byte order to fix.
    dequantizeInt8(codesOf(values), quant, dims, indices, out);
  } else {
    const v = wireBytes === 4
      ? float32Of(values)
      : float16BitsToFloat32(new Uint16Array(hostOrderCopy(values, 2)));
    if (indices) {
      out = new Float32Array(n);
      for (let j = 0; j < count; j++) out[indices[j]] = v[j];
    } else {
      out = v; // bit-exact for float32: the bytes are never read as numbers
    }
  }
  return tensor("float32", dims, out);
}

/**
 * int8 codes read in place: one byte per code has no byte order to fix. The codes view the
 * message's bytes (decoders hand out views of the message they were given: see
 * `docs/design/transport.md`, "Copies").
 */
function codesOf(bytes: Uint8Array): Int8Array {
  return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * float32 values: a view of the message's bytes on a little-endian host when they start on a
 * 4-byte boundary (a Float32Array needs it), a copy (in host order) otherwise. A 64×32×7×7
 * cut is 401,408 bytes, and a copy of it (a fresh allocation and a pass) took about 35 µs of
 * a decode here (bench:channel, float32 decode).
 */
function float32Of(bytes: Uint8Array): Float32Array {
  if (HOST_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }
  return new Float32Array(hostOrderCopy(bytes, 4));
}

/** What {@linkcode readRecordParts} found: a record checked field by field, not yet decoded. */
interface RecordParts {
  readonly src: DType;
  readonly isFloat: boolean;
  readonly dims: number[];
  readonly n: number;
  readonly count: number;
  readonly quant: QuantParams | null;
  readonly sparse: boolean;
  readonly indexEncoding: number;
  readonly raw: Uint8Array;
  readonly rawLength: number;
  readonly valueBytes: number;
  readonly wireBytes: number;
}

/**
 * Reads and checks one record's header, quantisation parameters and (inflated) payload, and
 * charges its elements to `budget`; {@linkcode readTensorRecord} and
 * {@linkcode readQuantizedRecord} then decode the payload their way.
 */
function readRecordParts(
  r: ByteReader,
  limits: Required<DecodeLimits>,
  budget: ElementBudget,
): RecordParts {
  const srcCode = r.u8("dtype");
  const src = DTYPE_OF_CODE.get(srcCode);
  if (src === undefined) {
    throw new CodecError("BAD_DTYPE", "dtype", `code ${srcCode} is not a known dtype`);
  }
  const isFloat = FLOAT_DTYPES.has(src);

  const wireCode = r.u8("wire dtype");
  let wireBytes: number;
  if (isFloat) {
    const b = FLOAT_WIRE_BYTES.get(wireCode);
    if (b === undefined) {
      throw new CodecError(
        "BAD_DTYPE",
        "wire dtype",
        `code ${wireCode} cannot carry ${src}: expected 1, 10 or 3`,
      );
    }
    wireBytes = b;
  } else {
    if (wireCode !== srcCode) {
      throw new CodecError(
        "BAD_DTYPE",
        "wire dtype",
        `code ${wireCode} cannot carry ${src}: expected ${srcCode}`,
      );
    }
    wireBytes = DTYPE_BYTES[src];
  }
  const isInt8 = isFloat && wireCode === DTYPE_CODE.int8;

  const compression = r.u8("compression");
  if (compression !== COMPRESSION.none && compression !== COMPRESSION.deflate) {
    throw new CodecError(
      "UNSUPPORTED",
      "compression",
      `code ${compression} is unknown: expected 0 or 1`,
    );
  }
  const flags = r.u8("flags");
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new CodecError("MALFORMED", "flags", `unknown bits set in 0x${flags.toString(16)}`);
  }
  if (!isFloat && flags !== 0) {
    throw new CodecError(
      "MALFORMED",
      "flags",
      `${src} tensors are sent dense and exact, got flags 0x${flags.toString(16)}`,
    );
  }
  const sparse = (flags & FLAG.sparse) !== 0;
  const perChannel = (flags & FLAG.perChannel) !== 0;
  if (perChannel && !isInt8) {
    throw new CodecError(
      "MALFORMED",
      "flags",
      "per-channel quantisation set for a wire dtype other than int8",
    );
  }

  const rank = r.u8("rank");
  if (rank > limits.maxRank) {
    throw new CodecError("TOO_LARGE", "rank", `rank ${rank} exceeds the limit ${limits.maxRank}`);
  }
  const axis = r.u8("channel axis");
  if (perChannel ? axis >= rank : axis !== 0) {
    throw new CodecError(
      "MALFORMED",
      "channel axis",
      perChannel
        ? `axis ${axis} is out of range for rank ${rank}`
        : `must be 0 without per-channel quantisation, got ${axis}`,
    );
  }
  const indexEncoding = r.u8("index encoding");
  if (
    sparse
      ? indexEncoding !== INDEX_ENCODING.varint && indexEncoding !== INDEX_ENCODING.bitmap
      : indexEncoding !== INDEX_ENCODING.dense
  ) {
    throw new CodecError(
      "MALFORMED",
      "index encoding",
      `value ${indexEncoding} does not fit sparse = ${sparse}`,
    );
  }
  const reserved = r.u8("reserved");
  if (reserved !== 0) throw new CodecError("MALFORMED", "reserved", `must be 0, got ${reserved}`);

  r.need(4 * rank, "dims");
  const dims: number[] = [];
  let nonZero = 1; // product of the non-zero dims: bounded too, so no shape is absurd
  for (let i = 0; i < rank; i++) {
    const d = r.u32(`dims[${i}]`);
    if (d > limits.maxDim) {
      throw new CodecError("TOO_LARGE", `dims[${i}]`, `${d} exceeds the limit ${limits.maxDim}`);
    }
    dims.push(d);
    if (d !== 0) nonZero *= d; // may overflow to Infinity, which the check below refuses
  }
  if (nonZero > budget.elements) {
    throw new CodecError(
      "TOO_LARGE",
      "dims",
      `shape [${
        dims.join(", ")
      }] has ${nonZero} (non-zero-dim) elements, over the ${budget.elements} still allowed (maxElements ${limits.maxElements})`,
    );
  }
  const n = dims.includes(0) ? 0 : nonZero;

  let quant: QuantParams | null = null;
  if (isInt8) {
    const channels = perChannel ? dims[axis] : 1;
    const declared = r.u32("quant.channels");
    if (declared !== channels) {
      throw new CodecError(
        "MALFORMED",
        "quant.channels",
        `${declared} declared, expected ${channels}`,
      );
    }
    r.need(5 * channels, "quant"); // before allocating anything of that size
    const scales = new Float32Array(hostOrderCopy(r.take(4 * channels, "quant.scales"), 4));
    for (let c = 0; c < channels; c++) {
      if (!(scales[c] > 0 && scales[c] < Infinity)) {
        throw new CodecError(
          "MALFORMED",
          `quant.scale[${c}]`,
          `${scales[c]} is not a positive finite number`,
        );
      }
    }
    const zeroPoints = new Int8Array(hostOrderCopy(r.take(channels, "quant.zero points"), 1));
    quant = { axis: perChannel ? axis : null, scales, zeroPoints };
  }

  let count = n;
  if (sparse) {
    count = r.u32("sparse.count");
    if (count > n) {
      throw new CodecError("MALFORMED", "sparse.count", `${count} kept of only ${n} elements`);
    }
  }

  const valueBytes = count * wireBytes;
  const rawLength = r.u32("payload.raw length");
  const lo = sparse ? minIndexBytes(indexEncoding, count, n) + valueBytes : valueBytes;
  const hi = sparse ? maxIndexBytes(indexEncoding, count, n) + valueBytes : valueBytes;
  if (rawLength < lo || rawLength > hi) {
    throw new CodecError(
      "MALFORMED",
      "payload.raw length",
      lo === hi
        ? `${rawLength} declared, the header implies ${lo}`
        : `${rawLength} declared, expected [${lo}, ${hi}]`,
    );
  }
  const storedLength = r.u32("payload.stored length");
  if (compression === COMPRESSION.none && storedLength !== rawLength) {
    throw new CodecError(
      "MALFORMED",
      "payload.stored length",
      `${storedLength} declared for an uncompressed payload of ${rawLength}`,
    );
  }
  const stored = r.take(storedLength, "payload");
  const raw = compression === COMPRESSION.deflate ? inflateBounded(stored, rawLength) : stored;
  budget.elements -= n;
  return {
    src,
    isFloat,
    dims,
    n,
    count,
    quant,
    sparse,
    indexEncoding,
    raw,
    rawLength,
    valueBytes,
    wireBytes,
  };
}

/**
 * Reads one record that must carry a dense float tensor as per-channel int8, and returns its
 * codes and parameters without dequantising them (for a graph that dequantises its input
 * itself). Checks are those of {@linkcode readTensorRecord}.
 *
 * @throws {CodecError} naming the first field found wrong; `BAD_DTYPE` for a record that is
 * not int8 on the wire, `UNSUPPORTED` for a sparse (top-k) one.
 *
 * @example
 * ```ts
 * import { readQuantizedRecord, writeQuantizedRecord } from "./tensor_record.ts";
 * import { ByteReader, ByteWriter } from "./byte_io.ts";
 * import { resolveLimits } from "./options.ts";
 * const w = new ByteWriter();
 * writeQuantizedRecord(w, {
 *   dims: [2], q: new Int8Array([-128, 127]),
 *   params: { axis: null, scales: new Float32Array([1]), zeroPoints: new Int8Array([-128]) },
 * }, 0);
 * const t = readQuantizedRecord(new ByteReader(w.finish()), resolveLimits(), { elements: 10 });
 * console.log(t.q); // Int8Array [-128, 127]
 * ```
 */
export function readQuantizedRecord(
  r: ByteReader,
  limits: Required<DecodeLimits>,
  budget: ElementBudget,
): QuantizedTensor {
  const { src, dims, quant, sparse, raw } = readRecordParts(r, limits, budget);
  if (!quant) {
    throw new CodecError(
      "BAD_DTYPE",
      "wire dtype",
      `a ${src} record not sent as int8: expected an int8 record`,
    );
  }
  if (sparse) {
    throw new CodecError(
      "UNSUPPORTED",
      "flags",
      "a sparse (top-k) int8 record: expected a dense one",
    );
  }
  return { dims, q: codesOf(raw), params: quant };
}
