/**
 * Constants of the splitgate tensor wire format, version 1. All integers are
 * little-endian. A message is an envelope holding one body:
 *
 * ```text
 * envelope (16 bytes)
 *   0  u8[4] magic "SGTC"
 *   4  u8    version = 1
 *   5  u8    kind: 1 = one tensor, 2 = named bundle
 *   6  u8    padding scheme: 0 none, 1 power of two, 2 multiple of a bucket, 3 Padmé
 *   7  u8    reserved = 0
 *   8  u32   padding parameter: the bucket size for scheme 2, else 0
 *   12 u32   body length B
 *   16 u8[B] body
 *   ...      zero bytes up to the padded length of (16 + B)
 *
 * tensor record (the body of kind 1; repeated in a bundle)
 *   0  u8    source dtype (ONNX TensorProto.DataType code)
 *   1  u8    wire dtype (ONNX code: FLOAT, FLOAT16 or INT8 for float sources;
 *            equal to the source code for integer and bool sources)
 *   2  u8    compression: 0 none, 1 raw DEFLATE (RFC 1951)
 *   3  u8    flags: bit 0 sparse (top-k), bit 1 per-channel quantisation
 *   4  u8    rank R
 *   5  u8    channel axis (per-channel int8 only, else 0)
 *   6  u8    index encoding: 0 dense, 1 delta varints, 2 bitmap
 *   7  u8    reserved = 0
 *   8  u32[R] dims
 *      if wire dtype is INT8: u32 channel count C, f32[C] scales, i8[C] zero points
 *      if sparse:             u32 kept count K
 *   u32    raw payload length (after inflation)
 *   u32    stored payload length
 *   u8[..] stored payload
 *
 * raw payload: dense → the elements in the wire dtype;
 *              sparse → the index section, then K elements in the wire dtype.
 *
 * bundle body: u16 count N, then N × (u8 name length, UTF-8 name, tensor record).
 * ```
 *
 * @example
 * ```ts
 * import { MAGIC, VERSION } from "./wire_format.ts";
 * console.log(new TextDecoder().decode(MAGIC), VERSION); // SGTC 1
 * ```
 * @module
 */

import type { DType } from "../../models/tensor.ts";
import {
  DTYPE_OF_ONNX_CODE,
  FLOAT_DTYPES as MODEL_FLOAT_DTYPES,
  ONNX_DTYPE_CODES,
} from "../../models/dtypes.ts";

/** The four magic bytes "SGTC" (splitgate tensor codec). */
export const MAGIC: Uint8Array = new Uint8Array([0x53, 0x47, 0x54, 0x43]);
/** The format version this code writes and reads. */
export const VERSION = 1;
/** Bytes in the envelope before the body. */
export const ENVELOPE_BYTES = 16;

/** Message kinds (envelope byte 5). */
export const KIND = { tensor: 1, bundle: 2 } as const;

/** Compression codes (record byte 2). */
export const COMPRESSION = { none: 0, deflate: 1 } as const;

/** Flag bits (record byte 3). */
export const FLAG = { sparse: 1, perChannel: 2 } as const;
/** Every flag bit this version defines; other bits must be zero. */
export const KNOWN_FLAGS: number = FLAG.sparse | FLAG.perChannel;

/** Index encodings (record byte 6). */
export const INDEX_ENCODING = { dense: 0, varint: 1, bitmap: 2 } as const;

/** Padding schemes (envelope byte 6). */
export const PADDING_CODE = { none: 0, pow2: 1, multiple: 2, padme: 3 } as const;

/** Largest rank the format can express (one byte), whatever the limits say. */
export const FORMAT_MAX_RANK = 255;
/** Largest bundle the format can express (u16 count). */
export const FORMAT_MAX_TENSORS = 0xffff;

/**
 * Dtype codes (record bytes 0 and 1: source and wire dtype), as numbered by ONNX
 * `TensorProto.DataType` (onnx/onnx.proto), so that a reader of a capture can name them
 * from the ONNX spec without this file. They are the one dtype table's codes
 * (models/dtypes.ts); tests/models/dtypes_test.ts pins them to the spec's numbers, so the
 * wire format cannot drift with that table.
 */
export const DTYPE_CODE: Readonly<Record<DType, number>> = ONNX_DTYPE_CODES;

/** The inverse of {@linkcode DTYPE_CODE}. */
export const DTYPE_OF_CODE: ReadonlyMap<number, DType> = DTYPE_OF_ONNX_CODE;

/** Source dtypes the codec treats as real numbers (decoded as float32). */
export const FLOAT_DTYPES: ReadonlySet<DType> = MODEL_FLOAT_DTYPES;
