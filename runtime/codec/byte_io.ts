/**
 * Bounds-checked little-endian byte reading and writing for the wire format.
 * The reader never reads past the end it was given: each read names the field
 * it is for, so a short message fails with a {@linkcode CodecError} of code
 * `TRUNCATED` that says which field was cut.
 *
 * @example
 * ```ts
 * import { ByteReader, ByteWriter } from "./byte_io.ts";
 * const w = new ByteWriter();
 * w.u32(7);
 * const r = new ByteReader(w.finish());
 * console.log(r.u32("count")); // 7
 * ```
 * @module
 */

import { CodecError } from "./codec_error.ts";

/**
 * True on little-endian hosts (every platform Deno ships for), where typed
 * arrays already hold the wire byte order; big-endian hosts swap bytes.
 *
 * @example
 * ```ts
 * import { HOST_LITTLE_ENDIAN } from "./byte_io.ts";
 * console.log(HOST_LITTLE_ENDIAN); // true on x86-64 and arm64
 * ```
 */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapInPlace(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * The little-endian bytes of a typed array's elements. On little-endian hosts
 * this is a view (no copy); bit patterns pass untouched, so NaN payloads and
 * −0 survive.
 *
 * @example
 * ```ts
 * import { littleEndianBytes } from "./byte_io.ts";
 * littleEndianBytes(new Uint16Array([0x0102])); // Uint8Array [2, 1]
 * ```
 */
export function littleEndianBytes(a: ArrayBufferView & { BYTES_PER_ELEMENT: number }): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (HOST_LITTLE_ENDIAN || a.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  swapInPlace(copy, a.BYTES_PER_ELEMENT);
  return copy;
}

/**
 * A fresh, aligned, host-order copy of little-endian element bytes, ready to be
 * viewed by a typed array of `width`-byte elements. `bytes.length` must be a
 * multiple of `width` (the caller has checked the lengths).
 *
 * @example
 * ```ts
 * import { hostOrderCopy } from "./byte_io.ts";
 * const buf = hostOrderCopy(new Uint8Array([2, 1]), 2);
 * new Uint16Array(buf)[0]; // 0x0102
 * ```
 */
export function hostOrderCopy(bytes: Uint8Array, width: number): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (!HOST_LITTLE_ENDIAN && width > 1) swapInPlace(copy, width);
  return copy.buffer;
}

/**
 * Appends little-endian fields and byte strings; {@linkcode ByteWriter.finish}
 * joins them into one array.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "./byte_io.ts";
 * const w = new ByteWriter();
 * w.u8(1).u16(2).bytes(new Uint8Array([3]));
 * w.finish(); // Uint8Array [1, 2, 0, 3]
 * ```
 */
export class ByteWriter {
  #parts: Uint8Array[] = [];
  #length = 0;
  #scratch = new DataView(new ArrayBuffer(8));

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  #push(n: number): this {
    this.#parts.push(new Uint8Array(this.#scratch.buffer.slice(0, n)));
    this.#length += n;
    return this;
  }

  /** Appends one unsigned byte. */
  u8(v: number): this {
    this.#scratch.setUint8(0, v);
    return this.#push(1);
  }
  /** Appends a little-endian u16. */
  u16(v: number): this {
    this.#scratch.setUint16(0, v, true);
    return this.#push(2);
  }
  /** Appends a little-endian u32. */
  u32(v: number): this {
    this.#scratch.setUint32(0, v, true);
    return this.#push(4);
  }
  /** Appends bytes (kept by reference until {@linkcode ByteWriter.finish}). */
  bytes(b: Uint8Array): this {
    this.#parts.push(b);
    this.#length += b.length;
    return this;
  }
  /** Joins everything written into one array. */
  finish(): Uint8Array {
    return this.copyTo(new Uint8Array(this.#length), 0);
  }

  /**
   * Copies everything written into `out` from `offset` on (a message's envelope writes its
   * body there, so the body is copied once, not joined first and copied again); returns `out`.
   *
   * @throws {RangeError} when `out` has fewer than {@linkcode ByteWriter.length} bytes from `offset`
   *
   * @example
   * ```ts
   * import { ByteWriter } from "./byte_io.ts";
   * const out = new ByteWriter().u8(7).u8(9).copyTo(new Uint8Array(3), 1);
   * console.log(out); // Uint8Array(3) [0, 7, 9]
   * ```
   */
  copyTo(out: Uint8Array, offset: number): Uint8Array {
    if (!Number.isInteger(offset) || offset < 0 || out.length - offset < this.#length) {
      throw new RangeError(
        `copyTo: ${this.#length} bytes do not fit ${out.length} bytes from offset ${offset}`,
      );
    }
    let o = offset;
    for (const p of this.#parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/**
 * Reads little-endian fields from `bytes[start, end)`; every read is checked
 * against `end` and names its field.
 *
 * @example
 * ```ts
 * import { ByteReader } from "./byte_io.ts";
 * const r = new ByteReader(new Uint8Array([5]));
 * r.u8("rank"); // 5
 * try {
 *   r.u8("axis");
 * } catch (e) {
 *   console.log(String(e)); // CodecError: axis: needs 1 bytes at offset 1, only 0 left
 * }
 * ```
 */
export class ByteReader {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  #pos: number;
  readonly #end: number;

  /** Reads `bytes[start, end)`. */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = start;
    this.#end = end;
  }

  /** Offset of the next read. */
  get pos(): number {
    return this.#pos;
  }
  /** Bytes left before the end. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** Throws `TRUNCATED` unless `n` more bytes are there for `field`. */
  need(n: number, field: string): void {
    if (n > this.remaining) {
      throw new CodecError(
        "TRUNCATED",
        field,
        `needs ${n} bytes at offset ${this.#pos}, only ${this.remaining} left`,
      );
    }
  }
  /** Reads one unsigned byte. */
  u8(field: string): number {
    this.need(1, field);
    return this.#view.getUint8(this.#pos++);
  }
  /** Reads one signed byte. */
  i8(field: string): number {
    this.need(1, field);
    return this.#view.getInt8(this.#pos++);
  }
  /** Reads a little-endian u16. */
  u16(field: string): number {
    this.need(2, field);
    const v = this.#view.getUint16(this.#pos, true);
    this.#pos += 2;
    return v;
  }
  /** Reads a little-endian u32. */
  u32(field: string): number {
    this.need(4, field);
    const v = this.#view.getUint32(this.#pos, true);
    this.#pos += 4;
    return v;
  }
  /** Reads a little-endian IEEE 754 binary32. */
  f32(field: string): number {
    this.need(4, field);
    const v = this.#view.getFloat32(this.#pos, true);
    this.#pos += 4;
    return v;
  }
  /** Returns a view of the next `n` bytes (no copy). */
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }
}
