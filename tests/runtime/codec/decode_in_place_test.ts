/**
 * Decoders read payloads in place where they can (runtime/codec/tensor_record.ts): int8 codes
 * always, float32 values when they start on a 4-byte boundary. Whatever the message's offset
 * in its buffer, the values are the same as a decode of a private copy.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeQuantizedTensor,
  decodeTensor,
  decodeTensors,
  encodeQuantizedTensor,
  encodeTensor,
  encodeTensors,
} from "../../../runtime/codec/mod.ts";
import { tensor } from "../../../models/tensor.ts";

/** `bytes` copied into a larger buffer at byte `offset`, as a view of it. */
function at(bytes: Uint8Array, offset: number): Uint8Array {
  const host = new Uint8Array(offset + bytes.length + 3);
  host.set(bytes, offset);
  return host.subarray(offset, offset + bytes.length);
}

const floats = fc.array(fc.float({ noDefaultInfinity: true }), { minLength: 1, maxLength: 64 });
/** Finite floats: what the int8 wire dtype carries (it refuses NaN and ±Infinity). */
const finite = fc.array(fc.float({ noDefaultInfinity: true, noNaN: true }), {
  minLength: 1,
  maxLength: 64,
});

Deno.test("float32 decodes to the same bits from any offset; an aligned payload is a view", () => {
  fc.assert(
    fc.property(floats, fc.integer({ min: 0, max: 7 }), (v, offset) => {
      const t = tensor("float32", [v.length], Float32Array.from(v));
      const message = encodeTensor(t, { dtype: "float32", level: 0 });
      // The payload's offset in the message, from a decode at offset 0 (a view there).
      const first = decodeTensor(message).data as Float32Array;
      assert.equal(first.buffer, message.buffer, "a single-tensor message's payload is aligned");
      const payloadOffset = first.byteOffset;
      const placed = at(message, offset);
      const got = decodeTensor(placed).data as Float32Array;
      assert.deepEqual(
        new Uint8Array(got.buffer, got.byteOffset, got.byteLength),
        new Uint8Array(t.data.buffer),
      );
      const aligned = (placed.byteOffset + payloadOffset) % 4 === 0;
      assert.equal(got.buffer === placed.buffer, aligned, `offset ${offset}`);
    }),
  );
});

Deno.test("int8 codes are read in place, from a single-tensor message and from a bundle", () => {
  fc.assert(
    fc.property(finite, fc.integer({ min: 0, max: 7 }), (v, offset) => {
      const x = tensor("float32", [1, v.length], Float32Array.from(v));
      const q = encodeQuantizedTensor({
        dims: [1, v.length],
        q: Int8Array.from(v, (_, i) => (i % 256) - 128),
        params: { axis: null, scales: new Float32Array([0.5]), zeroPoints: new Int8Array([3]) },
      });
      const placed = at(q, offset);
      const got = decodeQuantizedTensor(placed);
      assert.equal(got.q.buffer, placed.buffer);
      assert.deepEqual([...got.q], v.map((_, i) => (i % 256) - 128));
      // A bundle of a JavaScript-quantised tensor: dequantised from codes read in place, the
      // same floats as from a private copy of the message.
      const bundle = encodeTensors({ x }, { dtype: "int8", level: 0 });
      const fromPlaced = decodeTensors(at(bundle, offset)).get("x")!.data;
      assert.deepEqual(fromPlaced, decodeTensors(bundle.slice()).get("x")!.data);
    }),
  );
});
