/**
 * The index section of a sparse (top-k) payload, in the smaller of two
 * encodings of a strictly increasing index list over n elements:
 *
 * - delta varints: the first index, then each gap minus one (consecutive
 *   indices cost a 0 byte), as unsigned LEB128 (at most 5 bytes for a u32;
 *   overlong forms are refused, so each list has exactly one encoding);
 * - bitmap: n bits, least significant bit first; bits past n must be zero.
 *
 * Gap-minus-one coding makes "strictly increasing" true by construction: the
 * decoder only has to check that indices stay below n and that the count and
 * section length match what the header declared.
 *
 * @example
 * ```ts
 * import { decodeIndices, encodeIndices } from "./sparse_indices.ts";
 * const { encoding, bytes } = encodeIndices(new Uint32Array([2, 3, 200]), 1000);
 * decodeIndices(encoding, bytes, 3, 1000); // Uint32Array [2, 3, 200]
 * ```
 * @module
 */

import { CodecError } from "./codec_error.ts";
import { INDEX_ENCODING } from "./wire_format.ts";

function varintLength(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Largest index-section length a list of `count` indices over `n` elements may have. */
export function maxIndexBytes(encoding: number, count: number, n: number): number {
  return encoding === INDEX_ENCODING.bitmap ? Math.ceil(n / 8) : 5 * count;
}

/** Smallest index-section length a list of `count` indices over `n` elements may have. */
export function minIndexBytes(encoding: number, count: number, n: number): number {
  return encoding === INDEX_ENCODING.bitmap ? Math.ceil(n / 8) : count;
}

/**
 * Encodes strictly increasing `indices` (all `< n`) in whichever encoding is
 * shorter.
 *
 * @example
 * ```ts
 * import { encodeIndices } from "./sparse_indices.ts";
 * encodeIndices(new Uint32Array([0, 1, 2, 3]), 8).encoding; // 2 (bitmap: 1 byte)
 * ```
 */
export function encodeIndices(
  indices: Uint32Array,
  n: number,
): { encoding: number; bytes: Uint8Array } {
  let varintBytes = 0;
  for (let j = 0, prev = -1; j < indices.length; j++) {
    varintBytes += varintLength(indices[j] - prev - 1);
    prev = indices[j];
  }
  const bitmapBytes = Math.ceil(n / 8);
  if (bitmapBytes < varintBytes) {
    const bytes = new Uint8Array(bitmapBytes);
    for (const i of indices) bytes[i >>> 3] |= 1 << (i & 7);
    return { encoding: INDEX_ENCODING.bitmap, bytes };
  }
  const bytes = new Uint8Array(varintBytes);
  let o = 0;
  for (let j = 0, prev = -1; j < indices.length; j++) {
    let v = indices[j] - prev - 1;
    prev = indices[j];
    while (v >= 0x80) {
      bytes[o++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    bytes[o++] = v;
  }
  return { encoding: INDEX_ENCODING.varint, bytes };
}

const POPCOUNT = new Uint8Array(256).map((_, b) => {
  let c = 0;
  for (let v = b; v; v >>= 1) c += v & 1;
  return c;
});

/**
 * Decodes an index section, checking that it holds exactly `count` indices,
 * all `< n`, and nothing else.
 *
 * @throws {CodecError} `MALFORMED` naming `sparse.indices` when it does not.
 *
 * @example
 * ```ts
 * import { decodeIndices } from "./sparse_indices.ts";
 * decodeIndices(2, new Uint8Array([0b101]), 2, 3); // Uint32Array [0, 2]
 * ```
 */
export function decodeIndices(
  encoding: number,
  bytes: Uint8Array,
  count: number,
  n: number,
): Uint32Array {
  const field = "sparse.indices";
  const out = new Uint32Array(count); // count ≤ n ≤ maxElements, checked by the caller
  if (encoding === INDEX_ENCODING.bitmap) {
    if (bytes.length !== Math.ceil(n / 8)) {
      throw new CodecError(
        "MALFORMED",
        field,
        `bitmap has ${bytes.length} bytes, expected ${Math.ceil(n / 8)}`,
      );
    }
    let bits = 0;
    for (const b of bytes) bits += POPCOUNT[b];
    if (bits !== count) {
      throw new CodecError(
        "MALFORMED",
        field,
        `bitmap marks ${bits} elements, sparse.count says ${count}`,
      );
    }
    if (n % 8 !== 0 && bytes[bytes.length - 1] >> (n % 8) !== 0) {
      throw new CodecError(
        "MALFORMED",
        field,
        `bitmap marks elements past the last index ${n - 1}`,
      );
    }
    let j = 0;
    for (let byte = 0; byte < bytes.length; byte++) {
      for (let b = bytes[byte], bit = 0; b; b >>= 1, bit++) {
        if (b & 1) out[j++] = byte * 8 + bit;
      }
    }
    return out;
  }
  if (encoding !== INDEX_ENCODING.varint) {
    throw new CodecError(
      "MALFORMED",
      "index encoding",
      `value ${encoding} is not a sparse index encoding`,
    );
  }
  let o = 0, prev = -1;
  for (let j = 0; j < count; j++) {
    let v = 0, scale = 1, len = 0;
    for (;;) {
      if (o >= bytes.length) {
        throw new CodecError(
          "MALFORMED",
          `${field}[${j}]`,
          `varint runs past the index section (${bytes.length} bytes)`,
        );
      }
      const b = bytes[o++];
      len++;
      v += (b & 0x7f) * scale;
      if (!(b & 0x80)) {
        if (len > 1 && b === 0) {
          throw new CodecError(
            "MALFORMED",
            `${field}[${j}]`,
            "overlong varint (trailing zero byte)",
          );
        }
        break;
      }
      if (len === 5) {
        throw new CodecError("MALFORMED", `${field}[${j}]`, "varint longer than 5 bytes");
      }
      scale *= 128;
    }
    const index = prev + 1 + v;
    if (index >= n) {
      throw new CodecError(
        "MALFORMED",
        `${field}[${j}]`,
        `index ${index} out of range: expected < ${n}`,
      );
    }
    out[j] = prev = index;
  }
  if (o !== bytes.length) {
    throw new CodecError(
      "MALFORMED",
      field,
      `${bytes.length - o} bytes left after ${count} indices`,
    );
  }
  return out;
}
