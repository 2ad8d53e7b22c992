import assert from "node:assert/strict";
import fc from "fast-check";
import { PROBE_MIN_BYTES, worthDeflating } from "../../../runtime/codec/deflate.ts";
import { decodeTensor, encodeTensor } from "../../../runtime/codec/mod.ts";
import { tensor } from "../../../models/tensor.ts";

/** Deterministic bytes DEFLATE cannot shrink (xorshift32 stream). */
function noise(n: number, seed = 1): Uint8Array {
  let x = seed | 1;
  return new Uint8Array(n).map(() => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 24;
  });
}

Deno.test("worthDeflating: large noise is skipped, large zeros and small payloads are tried", () => {
  assert.equal(worthDeflating(noise(1 << 20), 6), false);
  assert.equal(worthDeflating(new Uint8Array(1 << 20), 6), true);
  assert.equal(worthDeflating(noise(PROBE_MIN_BYTES - 1), 6), true);
});

Deno.test("worthDeflating: a compressible tail alone does not fool the probe into compressing noise", () => {
  const b = noise(1 << 20);
  b.fill(0, b.length - 1024); // only the last KiB is compressible
  assert.equal(worthDeflating(b, 6), false);
});

Deno.test("a large incompressible float32 tensor goes uncompressed at level 6 and round-trips exactly", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
      const data = new Float32Array(noise(512 * 1024, seed).buffer);
      const t = tensor("float32", [data.length], data);
      const bytes = encodeTensor(t, { dtype: "float32", level: 6, padding: { mode: "none" } });
      // Envelope + record header only: the payload travels as it is.
      assert.ok(bytes.length >= data.byteLength && bytes.length < data.byteLength + 128, `${bytes.length}`);
      assert.deepEqual(decodeTensor(bytes).data, data);
    }),
    { numRuns: 3 },
  );
});

Deno.test("a large compressible tensor is still deflated", () => {
  const t = tensor("float32", [256 * 1024], new Float32Array(256 * 1024).fill(0.5));
  const bytes = encodeTensor(t, { dtype: "float32", level: 6 });
  assert.ok(bytes.length < 64 * 1024, `${bytes.length}`);
  assert.deepEqual(decodeTensor(bytes).data, t.data);
});
