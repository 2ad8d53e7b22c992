import assert from "node:assert/strict";
import fc from "fast-check";
import { CodecError } from "../../../runtime/codec/codec_error.ts";
import { decodeIndices, encodeIndices } from "../../../runtime/codec/sparse_indices.ts";

const VARINT = 1, BITMAP = 2;

Deno.test("sparse indices: round trip in the shorter encoding", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer(),
      (n, p, seed) => {
        let s = seed >>> 0;
        const picked: number[] = [];
        for (let i = 0; i < n; i++) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          if (s / 2 ** 32 < p) picked.push(i);
        }
        const idx = new Uint32Array(picked);
        const { encoding, bytes } = encodeIndices(idx, n);
        assert.ok(bytes.length <= Math.ceil(n / 8) || encoding === VARINT);
        assert.deepEqual([...decodeIndices(encoding, bytes, idx.length, n)], picked);
      },
    ),
    { numRuns: 300 },
  );
  // Dense selections pick the bitmap, sparse ones the varints.
  assert.equal(encodeIndices(new Uint32Array([0, 1, 2, 3, 4, 5, 6, 7]), 8).encoding, BITMAP);
  assert.equal(encodeIndices(new Uint32Array([3, 900]), 1000).encoding, VARINT);
  // Large gaps need multi-byte varints: 2^32 - 2 is the largest u32 index.
  const big = new Uint32Array([0, 2 ** 32 - 2]);
  const e = encodeIndices(big, 2 ** 32 - 1);
  assert.deepEqual([...decodeIndices(e.encoding, e.bytes, 2, 2 ** 32 - 1)], [0, 2 ** 32 - 2]);
});

function refused(f: () => unknown, field: RegExp) {
  assert.throws(f, (e) => e instanceof CodecError && e.code === "MALFORMED" && field.test(e.field));
}

Deno.test("sparse indices: hostile sections are refused", () => {
  refused(() => decodeIndices(VARINT, new Uint8Array([5]), 1, 5), /sparse\.indices\[0\]/); // out of range
  refused(() => decodeIndices(VARINT, new Uint8Array([1, 3]), 2, 5), /sparse\.indices\[1\]/); // 1, then 5
  refused(
    () => decodeIndices(VARINT, new Uint8Array([0x81, 0x00]), 1, 500),
    /sparse\.indices\[0\]/,
  ); // overlong
  refused(
    () => decodeIndices(VARINT, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1, 10),
    /\[0\]/,
  );
  refused(() => decodeIndices(VARINT, new Uint8Array([0x80]), 1, 500), /\[0\]/); // runs past the end
  refused(() => decodeIndices(VARINT, new Uint8Array([0, 0, 0]), 2, 10), /sparse\.indices/); // trailing byte
  refused(() => decodeIndices(BITMAP, new Uint8Array([0b11]), 1, 8), /sparse\.indices/); // count mismatch
  refused(() => decodeIndices(BITMAP, new Uint8Array([0b10001]), 2, 4), /sparse\.indices/); // bit past n
  refused(() => decodeIndices(BITMAP, new Uint8Array([1, 0]), 1, 8), /sparse\.indices/); // wrong length
  refused(() => decodeIndices(7, new Uint8Array([0]), 1, 8), /index encoding/);
});
