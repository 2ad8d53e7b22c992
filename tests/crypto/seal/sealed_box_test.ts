import assert from "node:assert/strict";
import fc from "fast-check";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  open,
  seal,
  SEALED_BOX_INFO,
  SEALED_BOX_OVERHEAD,
} from "../../../crypto/seal/sealed_box.ts";
import { dh, generateKeyPair } from "../../../crypto/noise/dh.ts";
import { isNoiseError } from "../../../crypto/errors.ts";
import { LOW_ORDER_POINTS } from "../low_order_points.ts";

const utf8 = new TextEncoder();

Deno.test("seal/open round trip for any plaintext and aad", () => {
  const bob = generateKeyPair();
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2048 }),
      fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
      (pt, aad) => {
        const blob = seal(bob.publicKey, pt, aad);
        assert.equal(blob.length, pt.length + SEALED_BOX_OVERHEAD);
        assert.deepEqual(open(bob, blob, aad), pt);
      },
    ),
    { numRuns: 50 },
  );
});

Deno.test("the blob follows the documented construction (eph.pub || ChaChaPoly(HKDF(...)))", () => {
  const bob = generateKeyPair();
  const pt = utf8.encode("segment weights");
  const aad = utf8.encode("ctx");
  const blob = seal(bob.publicKey, pt, aad);
  const eph = blob.slice(0, 32);
  const shared = dh(bob, eph);
  const salt = new Uint8Array([...eph, ...bob.publicKey]);
  const key = hkdf(sha256, shared, salt, utf8.encode(SEALED_BOX_INFO), 32);
  const manual = chacha20poly1305(key, new Uint8Array(12), aad).decrypt(blob.slice(32));
  assert.deepEqual(manual, pt);
  // salt order matters: the swapped salt must not decrypt
  const swapped = hkdf(
    sha256,
    shared,
    new Uint8Array([...bob.publicKey, ...eph]),
    utf8.encode(SEALED_BOX_INFO),
    32,
  );
  assert.throws(() => chacha20poly1305(swapped, new Uint8Array(12), aad).decrypt(blob.slice(32)));
});

Deno.test("two seals of the same plaintext differ (fresh ephemeral key)", () => {
  const bob = generateKeyPair();
  const pt = new Uint8Array(32);
  const a = seal(bob.publicKey, pt), b = seal(bob.publicKey, pt);
  assert.notDeepEqual(a.slice(0, 32), b.slice(0, 32));
  assert.notDeepEqual(a.slice(32), b.slice(32));
});

Deno.test("any flipped bit is rejected with BAD_TAG (or LOW_ORDER_POINT in the key)", () => {
  const bob = generateKeyPair();
  const blob = seal(bob.publicKey, utf8.encode("hello clinic b"));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: blob.length * 8 - 1 }), (bit) => {
      const t = blob.slice();
      t[bit >> 3] ^= 1 << (bit & 7);
      assert.throws(
        () => open(bob, t),
        (e) => isNoiseError(e, "BAD_TAG") || isNoiseError(e, "LOW_ORDER_POINT"),
      );
    }),
    { numRuns: 200 },
  );
});

Deno.test("wrong recipient, wrong aad, missing aad: BAD_TAG with a vague message", () => {
  const bob = generateKeyPair(), carol = generateKeyPair();
  const blob = seal(bob.publicKey, utf8.encode("for bob"), utf8.encode("round 1"));
  for (
    const attempt of [
      () => open(carol, blob, utf8.encode("round 1")),
      () => open(bob, blob, utf8.encode("round 2")),
      () => open(bob, blob),
    ]
  ) {
    assert.throws(
      attempt,
      (e) => isNoiseError(e, "BAD_TAG") && (e as Error).message === "invalid tag",
    );
  }
  assert.deepEqual(open(bob, blob, utf8.encode("round 1")), utf8.encode("for bob"));
});

Deno.test("truncated blobs are MALFORMED_MESSAGE, truncated ciphertext is BAD_TAG", () => {
  const bob = generateKeyPair();
  const blob = seal(bob.publicKey, utf8.encode("abc"));
  for (const n of [0, 1, 32, 47]) {
    assert.throws(() => open(bob, blob.slice(0, n)), (e) => isNoiseError(e, "MALFORMED_MESSAGE"));
  }
  assert.throws(() => open(bob, blob.slice(0, blob.length - 1)), (e) => isNoiseError(e, "BAD_TAG"));
  // the empty plaintext is a valid 48-byte box
  assert.deepEqual(open(bob, seal(bob.publicKey, new Uint8Array(0))), new Uint8Array(0));
});

Deno.test("low-order points are refused on both sides", () => {
  const bob = generateKeyPair();
  const blob = seal(bob.publicKey, utf8.encode("x"));
  for (const p of LOW_ORDER_POINTS) {
    assert.throws(() => seal(p, utf8.encode("x")), (e) => isNoiseError(e, "LOW_ORDER_POINT"));
    const forged = blob.slice();
    forged.set(p, 0);
    assert.throws(() => open(bob, forged), (e) => isNoiseError(e, "LOW_ORDER_POINT"));
  }
});

Deno.test("bad argument types and key lengths", () => {
  const bob = generateKeyPair();
  assert.throws(
    () => seal(new Uint8Array(31), new Uint8Array(1)),
    (e) => isNoiseError(e, "INVALID_KEY"),
  );
  assert.throws(() => seal(bob.publicKey, "text" as unknown as Uint8Array), TypeError);
  assert.throws(() => open(bob, [1, 2] as unknown as Uint8Array), TypeError);
});
