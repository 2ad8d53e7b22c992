/**
 * ByteWriter.copyTo, and the envelope that copies a writer's body straight into the message:
 * the same bytes as joining the body first.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { ByteWriter } from "../../../runtime/codec/byte_io.ts";
import { sealEnvelope } from "../../../runtime/codec/envelope.ts";
import type { Padding } from "../../../runtime/codec/padding.ts";

const chunks = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 });
const padding: fc.Arbitrary<Padding> = fc.oneof(
  fc.constant({ mode: "none" } as Padding),
  fc.constant({ mode: "pow2" } as Padding),
  fc.constant({ mode: "padme" } as Padding),
  fc.integer({ min: 1, max: 512 }).map((bucket) => ({ mode: "multiple", bucket }) as Padding),
);

function writerOf(parts: Uint8Array[]): ByteWriter {
  const w = new ByteWriter().u8(3).u32(0xdeadbeef);
  for (const p of parts) w.bytes(p);
  return w;
}

Deno.test("ByteWriter.copyTo writes what finish() joins, from the offset, and nothing else", () => {
  fc.assert(fc.property(chunks, fc.integer({ min: 0, max: 40 }), (parts, offset) => {
    const w = writerOf(parts);
    const out = new Uint8Array(offset + w.length + 5).fill(0xaa);
    assert.equal(w.copyTo(out, offset), out);
    assert.deepEqual(out.subarray(offset, offset + w.length), w.finish());
    assert.ok(out.subarray(0, offset).every((b) => b === 0xaa));
    assert.ok(out.subarray(offset + w.length).every((b) => b === 0xaa));
  }));
});

Deno.test("ByteWriter.copyTo refuses an array too short from the offset, naming both sizes", () => {
  const w = new ByteWriter().u32(1).u8(2);
  assert.throws(() => w.copyTo(new Uint8Array(7), 3), {
    name: "RangeError",
    message: "copyTo: 5 bytes do not fit 7 bytes from offset 3",
  });
  assert.throws(() => w.copyTo(new Uint8Array(9), -1), { name: "RangeError" });
});

Deno.test("sealEnvelope of a ByteWriter body gives the bytes of its joined body", () => {
  fc.assert(fc.property(chunks, padding, fc.integer({ min: 1, max: 2 }), (parts, pad, kind) => {
    const w = writerOf(parts);
    assert.deepEqual(sealEnvelope(kind, w, pad), sealEnvelope(kind, w.finish(), pad));
  }));
});
