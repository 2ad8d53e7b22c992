/**
 * Noise hash functions (Noise rev 34 §4.3, §12.4–§12.6) and the HKDF built on them.
 *
 * @module
 */
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { blake2b, blake2s } from "@noble/hashes/blake2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { NoiseError } from "../errors.ts";

/** Names of the hash functions of Noise rev 34 §12. */
export type HashName = "SHA256" | "SHA512" | "BLAKE2s" | "BLAKE2b";

/**
 * A Noise hash function: HASH, HASHLEN, BLOCKLEN and HMAC-HASH (§4.3).
 *
 * @example
 * ```ts
 * import { getHash } from "./hash.ts";
 * const h = getHash("BLAKE2s");
 * console.assert(h.hashLen === 32 && h.hash(new Uint8Array(0)).length === 32);
 * ```
 */
export interface NoiseHash {
  /** Name as it appears in a protocol name, e.g. `"SHA256"`. */
  readonly name: HashName;
  /** HASHLEN: 32 or 64 bytes. */
  readonly hashLen: number;
  /** BLOCKLEN: 64 or 128 bytes (used by HMAC). */
  readonly blockLen: number;
  /** HASH(data). */
  hash(data: Uint8Array): Uint8Array;
  /** HMAC-HASH(key, data) per RFC 2104. */
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array;
}

// noble's hashers carry their own blockLen/outputLen; HMAC uses blockLen, as §4.3 requires.
type NobleHash = typeof sha256 | typeof sha512 | typeof blake2s | typeof blake2b;

function make(name: HashName, h: NobleHash): NoiseHash {
  return {
    name,
    hashLen: h.outputLen,
    blockLen: h.blockLen,
    hash: (data) => h(data),
    hmac: (key, data) => hmac(h as typeof sha256, key, data),
  };
}

const HASHES: Readonly<Record<HashName, NoiseHash>> = {
  SHA256: make("SHA256", sha256),
  SHA512: make("SHA512", sha512),
  BLAKE2s: make("BLAKE2s", blake2s),
  BLAKE2b: make("BLAKE2b", blake2b),
};

/**
 * Looks up a Noise hash function by its protocol-name spelling.
 *
 * @throws {NoiseError} `UNSUPPORTED_PROTOCOL` for an unknown name.
 * @example
 * ```ts
 * import { getHash } from "./hash.ts";
 * console.assert(getHash("SHA512").hashLen === 64);
 * ```
 */
export function getHash(name: string): NoiseHash {
  if (Object.hasOwn(HASHES, name)) return HASHES[name as HashName];
  throw new NoiseError(
    "UNSUPPORTED_PROTOCOL",
    `unsupported hash "${name}": expected one of ${Object.keys(HASHES).join(", ")}`,
  );
}

/**
 * HKDF(chaining_key, input_key_material, num_outputs) of Noise rev 34 §4.3.
 *
 * This is Noise's own two/three-output HKDF (RFC 5869 with an empty `info`
 * and outputs of HASHLEN bytes), not a general RFC 5869 API.
 *
 * @example
 * ```ts
 * import { getHash, hkdf } from "./hash.ts";
 * const h = getHash("SHA256");
 * const [a, b] = hkdf(h, new Uint8Array(32), new Uint8Array(0), 2);
 * console.assert(a.length === 32 && b.length === 32);
 * ```
 */
export function hkdf(
  h: NoiseHash,
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
  numOutputs: 2 | 3,
): Uint8Array[] {
  const tempKey = h.hmac(chainingKey, inputKeyMaterial);
  const out1 = h.hmac(tempKey, Uint8Array.of(0x01));
  const in2 = new Uint8Array(out1.length + 1);
  in2.set(out1);
  in2[out1.length] = 0x02;
  const out2 = h.hmac(tempKey, in2);
  in2.fill(0);
  if (numOutputs === 2) {
    tempKey.fill(0);
    return [out1, out2];
  }
  const in3 = new Uint8Array(out2.length + 1);
  in3.set(out2);
  in3[out2.length] = 0x03;
  const out3 = h.hmac(tempKey, in3);
  in3.fill(0);
  tempKey.fill(0);
  return [out1, out2, out3];
}
