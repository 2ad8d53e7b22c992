/**
 * Test-only hand assembly of wire messages, field by field, independent of the
 * encoder, so hostile headers (lying shapes, bombs, bad counts) can be built.
 *
 * @example
 * ```ts
 * import { envelope, record } from "./wire_builder.ts";
 * const msg = envelope(1, record({ src: 7, wire: 7, dims: [1], payload: new Uint8Array(8) }));
 * ```
 * @module
 */

/**
 * Fields of a tensor record; unset ones get the values an honest encoder writes.
 *
 * @example
 * ```ts
 * import type { RecordFields } from "./wire_builder.ts";
 * const f: RecordFields = { src: 1, wire: 1, dims: [1], payload: new Uint8Array(4) };
 * ```
 */
export interface RecordFields {
  src: number;
  wire: number;
  compression?: number;
  flags?: number;
  rank?: number;
  axis?: number;
  indexEncoding?: number;
  reserved?: number;
  dims: number[];
  quant?: { channels?: number; scales: number[]; zeroPoints: number[] };
  count?: number;
  rawLength?: number;
  storedLength?: number;
  payload: Uint8Array;
}

class Out {
  bytes: number[] = [];
  u8(v: number) {
    this.bytes.push(v & 0xff);
  }
  u16(v: number) {
    this.u8(v), this.u8(v >>> 8);
  }
  u32(v: number) {
    for (let i = 0; i < 4; i++) this.u8(Math.floor(v / 2 ** (8 * i)));
  }
  f32(v: number) {
    for (const b of new Uint8Array(new Float32Array([v]).buffer)) this.u8(b);
  }
  raw(b: Uint8Array) {
    for (const x of b) this.u8(x);
  }
}

/**
 * Assembles one tensor record.
 *
 * @example
 * ```ts
 * import { record } from "./wire_builder.ts";
 * record({ src: 7, wire: 7, dims: [], payload: new Uint8Array(8) }).length; // 8 + 8 + 8
 * ```
 */
export function record(f: RecordFields): Uint8Array {
  const o = new Out();
  o.u8(f.src), o.u8(f.wire), o.u8(f.compression ?? 0), o.u8(f.flags ?? 0);
  o.u8(f.rank ?? f.dims.length),
    o.u8(f.axis ?? 0),
    o.u8(f.indexEncoding ?? 0),
    o.u8(f.reserved ?? 0);
  for (const d of f.dims) o.u32(d);
  if (f.quant) {
    o.u32(f.quant.channels ?? f.quant.scales.length);
    for (const s of f.quant.scales) o.f32(s);
    for (const z of f.quant.zeroPoints) o.u8(z);
  }
  if (f.count !== undefined) o.u32(f.count);
  o.u32(f.rawLength ?? f.payload.length);
  o.u32(f.storedLength ?? f.payload.length);
  o.raw(f.payload);
  return new Uint8Array(o.bytes);
}

/**
 * A bundle body: u16 count, then (u8 name length, name, record) per entry.
 *
 * @example
 * ```ts
 * import { bundleBody, record } from "./wire_builder.ts";
 * bundleBody([["step", record({ src: 7, wire: 7, dims: [], payload: new Uint8Array(8) })]]);
 * ```
 */
export function bundleBody(
  entries: [string | Uint8Array, Uint8Array][],
  count = entries.length,
): Uint8Array {
  const o = new Out();
  o.u16(count);
  for (const [name, rec] of entries) {
    const n = typeof name === "string" ? new TextEncoder().encode(name) : name;
    o.u8(n.length), o.raw(n), o.raw(rec);
  }
  return new Uint8Array(o.bytes);
}

/**
 * Wraps a body in an envelope with no padding (or the given header overrides).
 *
 * @example
 * ```ts
 * import { envelope } from "./wire_builder.ts";
 * envelope(1, new Uint8Array(0), { version: 2 }).length; // 16
 * ```
 */
export function envelope(
  kind: number,
  body: Uint8Array,
  h: {
    magic?: number[];
    version?: number;
    scheme?: number;
    reserved?: number;
    param?: number;
    bodyLength?: number;
    extra?: Uint8Array;
  } = {},
): Uint8Array {
  const o = new Out();
  for (const b of h.magic ?? [0x53, 0x47, 0x54, 0x43]) o.u8(b);
  o.u8(h.version ?? 1), o.u8(kind), o.u8(h.scheme ?? 0), o.u8(h.reserved ?? 0);
  o.u32(h.param ?? 0), o.u32(h.bodyLength ?? body.length);
  o.raw(body);
  if (h.extra) o.raw(h.extra);
  return new Uint8Array(o.bytes);
}
