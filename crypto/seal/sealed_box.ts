/**
 * Anonymous sealed boxes: encrypt to a recipient's static X25519 public key, so that only the
 * holder of the matching private key can open the result, and a relay (the server that passes a
 * clinic's segment weights on to the next clinic) learns nothing but the length.
 *
 * Construction (ECIES-style, like libsodium's `crypto_box_seal`, but with the KDF and AEAD of
 * the Noise suite splitgate already uses):
 *
 * ```
 * e      = fresh X25519 key pair                          (RFC 7748 §5, @noble/curves)
 * shared = X25519(e.secret, recipient.public)              (low-order points refused, RFC 7748 §6.1)
 * key    = HKDF-SHA256(ikm = shared, salt = e.public || recipient.public,
 *                      info = "splitgate/sealed-box/v1", L = 32)   (RFC 5869 §2)
 * blob   = e.public || ChaCha20-Poly1305(key, nonce = 0^96, aad, plaintext)   (RFC 8439 §2.8)
 * ```
 *
 * A zero nonce is sound because every box has its own ephemeral key, so a (key, nonce) pair is
 * never used twice. Binding both public keys into the salt ties the key to this exact pair (the
 * "key-commitment to the recipient" libsodium gets by hashing them into the nonce).
 *
 * The box authenticates the content, not the sender: anyone can seal to a public key. Callers
 * that need to know who sealed (the relayed weights) rely on the authenticated channel the blob
 * travelled through, and bind context (e.g. the round) with `aad`.
 *
 * @example
 * ```ts
 * import { open, seal } from "./sealed_box.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const bob = generateKeyPair();
 * const blob = seal(bob.publicKey, new TextEncoder().encode("weights"));
 * console.log(new TextDecoder().decode(open(bob, blob))); // "weights"
 * ```
 * @module
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { NoiseError } from "../errors.ts";
import { dh, DHLEN, generateKeyPair, type KeyPair } from "../noise/dh.ts";

/** The HKDF `info` string: names the construction and its version (RFC 5869 §3.2). */
export const SEALED_BOX_INFO = "splitgate/sealed-box/v1";

/** Poly1305 tag length in bytes (RFC 8439 §2.5). */
const TAG_LENGTH = 16;

/**
 * Bytes a sealed box adds to its plaintext: the 32-byte ephemeral public key and the 16-byte tag.
 *
 * @example
 * ```ts
 * import { SEALED_BOX_OVERHEAD, seal } from "./sealed_box.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const blob = seal(generateKeyPair().publicKey, new Uint8Array(10));
 * console.assert(blob.length === 10 + SEALED_BOX_OVERHEAD);
 * ```
 */
export const SEALED_BOX_OVERHEAD = DHLEN + TAG_LENGTH;

const INFO_BYTES = new TextEncoder().encode(SEALED_BOX_INFO);
const ZERO_NONCE = new Uint8Array(12);
const EMPTY = new Uint8Array(0);

function boxKey(
  shared: Uint8Array,
  ephemeralPublic: Uint8Array,
  recipientPublic: Uint8Array,
): Uint8Array {
  const salt = new Uint8Array(2 * DHLEN);
  salt.set(ephemeralPublic, 0);
  salt.set(recipientPublic, DHLEN);
  return hkdf(sha256, shared, salt, INFO_BYTES, 32);
}

function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(
      `${what} must be a Uint8Array, got ${Object.prototype.toString.call(value)}`,
    );
  }
}

/**
 * Seals `plaintext` to `recipientPublicKey`. Each call uses a fresh ephemeral key, so sealing the
 * same plaintext twice gives different blobs.
 *
 * @param recipientPublicKey the recipient's 32-byte X25519 public key
 * @param plaintext the bytes to protect (any length, including 0)
 * @param aad associated data that is authenticated but not encrypted; `open` must be given the
 *   same bytes
 * @returns `ephemeralPublicKey (32) || ciphertext || tag (16)`
 * @throws {NoiseError} `INVALID_KEY` for a key that is not 32 bytes, `LOW_ORDER_POINT` for a
 *   low-order recipient key (it would give a predictable shared secret)
 * @example
 * ```ts
 * import { seal } from "./sealed_box.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const next = generateKeyPair();
 * const blob = seal(next.publicKey, new Uint8Array([1, 2, 3]), new TextEncoder().encode("epoch 3"));
 * console.assert(blob.length === 3 + 48);
 * ```
 */
export function seal(
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  checkBytes(plaintext, "plaintext");
  if (aad !== undefined) checkBytes(aad, "aad");
  const eph = generateKeyPair();
  let shared: Uint8Array | undefined;
  let key: Uint8Array | undefined;
  try {
    shared = dh(eph, recipientPublicKey);
    key = boxKey(shared, eph.publicKey, recipientPublicKey);
    const ct = chacha20poly1305(key, ZERO_NONCE, aad ?? EMPTY).encrypt(plaintext);
    const out = new Uint8Array(DHLEN + ct.length);
    out.set(eph.publicKey, 0);
    out.set(ct, DHLEN);
    return out;
  } finally {
    // Secrets wiped after use (noble convention); the ephemeral key is never needed again.
    eph.secretKey.fill(0);
    shared?.fill(0);
    key?.fill(0);
  }
}

/**
 * Opens a blob made by {@linkcode seal} with the recipient's key pair.
 *
 * @param recipientKeyPair the key pair whose public key the blob was sealed to
 * @param blob the sealed box
 * @param aad the associated data given to `seal` (none if none was given)
 * @returns the plaintext
 * @throws {NoiseError} `MALFORMED_MESSAGE` for a blob shorter than 48 bytes, `LOW_ORDER_POINT`
 *   for a forged low-order ephemeral key, `BAD_TAG` when the blob was altered, sealed to another
 *   key, or sealed with other `aad` (deliberately one vague message for all three),
 *   `INVALID_KEY` for a key pair with keys that are not 32 bytes
 * @example
 * ```ts
 * import { open, seal } from "./sealed_box.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const me = generateKeyPair();
 * const pt = open(me, seal(me.publicKey, new Uint8Array([7])));
 * console.assert(pt[0] === 7);
 * ```
 */
export function open(recipientKeyPair: KeyPair, blob: Uint8Array, aad?: Uint8Array): Uint8Array {
  checkBytes(blob, "sealed box");
  if (aad !== undefined) checkBytes(aad, "aad");
  if (blob.length < SEALED_BOX_OVERHEAD) {
    throw new NoiseError(
      "MALFORMED_MESSAGE",
      `sealed box is ${blob.length} bytes; expected at least ${SEALED_BOX_OVERHEAD} (ephemeral key + tag)`,
    );
  }
  const ephemeralPublic = blob.slice(0, DHLEN);
  const shared = dh(recipientKeyPair, ephemeralPublic);
  const key = boxKey(shared, ephemeralPublic, recipientKeyPair.publicKey);
  try {
    return chacha20poly1305(key, ZERO_NONCE, aad ?? EMPTY).decrypt(blob.subarray(DHLEN));
  } catch (cause) {
    throw new NoiseError("BAD_TAG", "invalid tag", { cause });
  } finally {
    shared.fill(0);
    key.fill(0);
  }
}
