import assert from "node:assert/strict";
import fc from "fast-check";
import { applyMask, expandMask } from "../../../crypto/secagg/mask_prg.ts";

const hexToBytes = (h: string) => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
const leWords = (h: string) => {
  const b = hexToBytes(h), v = new DataView(b.buffer);
  return Uint32Array.from({ length: b.length / 4 }, (_, i) => v.getUint32(4 * i, true));
};

Deno.test("KAT: RFC 8439 §A.1 test vectors #1 and #2 (key 0, nonce 0, blocks 0 and 1)", () => {
  const block0 = "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7" +
    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586";
  const block1 = "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed" +
    "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f";
  assert.deepEqual(expandMask(new Uint8Array(32), 32), leWords(block0 + block1));
});

Deno.test("KAT: key 00..1f, nonce 0 (keystream from `openssl enc -chacha20` over zeros)", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const want = "39fd2b7dd9c5196a8dbd0377b8dc4a498a35d86fbcde6accb2cc7d4cd8ea2492" +
    "2b23cce7a26023ab3f0eef693ac87f64258235eab1f7a32dc22762a0485b410c";
  assert.deepEqual(expandMask(key, 16), leWords(want));
  assert.deepEqual(expandMask(key, 5), leWords(want).subarray(0, 5), "a shorter mask is a prefix");
});

Deno.test("adding then subtracting a mask is the identity mod 2^32", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.array(fc.nat({ max: 0xffff_ffff }), { maxLength: 70 }),
      (seed, xs) => {
        const acc = Uint32Array.from(xs);
        applyMask(acc, seed, 1);
        applyMask(acc, seed, -1);
        assert.deepEqual(acc, Uint32Array.from(xs));
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("a seed that is not 32 bytes, and a negative length, are refused", () => {
  assert.throws(() => expandMask(new Uint8Array(31), 1), {
    code: "INVALID_PARAMS",
    message: /32 bytes, got 31/,
  });
  assert.throws(() => expandMask(new Uint8Array(32), -1), {
    code: "INVALID_PARAMS",
    message: /mask length -1/,
  });
});
