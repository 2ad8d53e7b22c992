import assert from "node:assert/strict";
import fc from "fast-check";
import { deflateSync } from "fflate";
import { CodecError } from "../../../runtime/codec/codec_error.ts";
import { deflatePayload, inflateBounded } from "../../../runtime/codec/deflate.ts";

function codecError(code: string) {
  return (e: unknown) => e instanceof CodecError && e.code === code && e.field === "payload";
}

Deno.test("deflate: round trip at every level, exact length required", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 5000 }),
      fc.integer({ min: 1, max: 9 }),
      (raw, level) => {
        const stored = deflatePayload(raw, level);
        assert.deepEqual(inflateBounded(stored, raw.length), raw);
        assert.throws(() => inflateBounded(stored, raw.length + 1), codecError("TRUNCATED"));
        if (raw.length > 0) {
          assert.throws(
            () => inflateBounded(stored, raw.length - 1),
            codecError("BOMB"),
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("deflate: a 100 MB bomb declared as 1 kB is refused early", () => {
  const bomb = deflateSync(new Uint8Array(100_000_000), { level: 1 }); // ≈ 98 kB
  assert.ok(bomb.length < 200_000);
  const t0 = performance.now();
  assert.throws(() => inflateBounded(bomb, 1000), codecError("BOMB"));
  // Decoding stops at the first slice: a corrupted tail is never reached, so
  // the error is still BOMB (a decoder that ran to the end would report it as
  // malformed DEFLATE, or finish and allocate 100 MB).
  const corrupt = bomb.slice();
  corrupt.fill(0xff, corrupt.length - 64);
  assert.throws(() => inflateBounded(corrupt, 1000), codecError("BOMB"));
  assert.throws(
    () => inflateBounded(corrupt, 100_000_000),
    (e) => e instanceof CodecError && e.code !== "BOMB",
  );
  assert.ok(performance.now() - t0 < 5000);
});

Deno.test("deflate: truncated, empty and invalid streams are refused", () => {
  const raw = new Uint8Array(4000).map((_, i) => (i * 7919) % 251);
  const stored = deflatePayload(raw, 6);
  assert.throws(
    () => inflateBounded(stored.subarray(0, stored.length >> 1), raw.length),
    codecError("TRUNCATED"),
  );
  assert.throws(() => inflateBounded(new Uint8Array(0), 0), codecError("TRUNCATED"));
  // BFINAL = 1, BTYPE = 11 (reserved, RFC 1951 §3.2.3).
  assert.throws(() => inflateBounded(new Uint8Array([0x07, 0, 0]), 10), codecError("MALFORMED"));
});
