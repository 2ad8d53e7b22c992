import assert from "node:assert/strict";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { CipherState, MAX_NONCE } from "../../../crypto/noise/cipher_state.ts";
import { isNoiseError } from "../../../crypto/errors.ts";

const key = new Uint8Array(32).map((_, i) => i + 1);
const ad = Uint8Array.of(9, 8, 7);
const pt = new TextEncoder().encode("cut-layer activations");

function nonceFor(n: bigint): Uint8Array {
  // §12.3: 4 zero bytes then the counter little-endian.
  const b = new Uint8Array(12);
  for (let i = 0; i < 8; i++) b[4 + i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return b;
}

Deno.test("ChaChaPoly nonce is 32 zero bits then the 64-bit little-endian counter", () => {
  const c = new CipherState(key);
  const n = 0x0102030405060708n;
  c.setNonce(n);
  const got = c.encryptWithAd(ad, pt);
  const want = chacha20poly1305(key, nonceFor(n), ad).encrypt(pt);
  assert.deepEqual(got, want);
  assert.equal(c.nonce, n + 1n);
});

Deno.test("a failed decryption throws BAD_TAG with a vague message and keeps the nonce", () => {
  const a = new CipherState(key), b = new CipherState(key);
  const ct = a.encryptWithAd(ad, pt);
  ct[3] ^= 0x40;
  assert.throws(
    () => b.decryptWithAd(ad, ct),
    (e) => isNoiseError(e, "BAD_TAG") && e.message === "invalid tag",
  );
  assert.equal(b.nonce, 0n);
  ct[3] ^= 0x40;
  assert.deepEqual(b.decryptWithAd(ad, ct), pt);
  assert.equal(b.nonce, 1n);
  assert.throws(() => b.decryptWithAd(ad, new Uint8Array(5)), (e) => isNoiseError(e, "BAD_TAG"));
});

Deno.test("nonce 2^64-1 is reserved: encrypt and decrypt throw NONCE_EXHAUSTED", () => {
  const a = new CipherState(key), b = new CipherState(key);
  a.setNonce(MAX_NONCE - 1n);
  b.setNonce(MAX_NONCE - 1n);
  const ct = a.encryptWithAd(ad, pt);
  assert.deepEqual(b.decryptWithAd(ad, ct), pt);
  assert.equal(a.nonce, MAX_NONCE);
  assert.throws(() => a.encryptWithAd(ad, pt), (e) => isNoiseError(e, "NONCE_EXHAUSTED"));
  assert.throws(() => b.decryptWithAd(ad, ct), (e) => isNoiseError(e, "NONCE_EXHAUSTED"));
  assert.throws(() => a.setNonce(MAX_NONCE + 1n), RangeError);
});

Deno.test("rekey is k = ENCRYPT(k, 2^64-1, empty, zeros(32))[0:32] and keeps the nonce", () => {
  const a = new CipherState(key);
  a.setNonce(5n);
  a.rekey();
  assert.equal(a.nonce, 5n);
  const manual = chacha20poly1305(key, nonceFor(MAX_NONCE), new Uint8Array(0))
    .encrypt(new Uint8Array(32)).slice(0, 32);
  const b = new CipherState(manual);
  b.setNonce(5n);
  assert.deepEqual(a.encryptWithAd(ad, pt), b.encryptWithAd(ad, pt));
  const unrekeyed = new CipherState(key);
  unrekeyed.setNonce(6n);
  assert.notDeepEqual(a.encryptWithAd(ad, pt), unrekeyed.encryptWithAd(ad, pt));
});

Deno.test("empty CipherState passes data through; destroy wipes and blocks use", () => {
  const c = new CipherState();
  assert.equal(c.hasKey(), false);
  assert.deepEqual(c.encryptWithAd(ad, pt), pt);
  const k = new CipherState(key);
  const clone = k.clone();
  k.destroy();
  assert.equal(k.hasKey(), false);
  assert.throws(() => k.encryptWithAd(ad, pt), (e) => isNoiseError(e, "INVALID_STATE"));
  assert.equal(clone.encryptWithAd(ad, pt).length, pt.length + 16);
  assert.throws(() => new CipherState(new Uint8Array(31)), (e) => isNoiseError(e, "INVALID_KEY"));
});
