/**
 * Short human-comparable fingerprints of public keys.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { NoiseError } from "../errors.ts";

/**
 * The first 64 bits of SHA-256(publicKey) as 16 hex digits in groups of four,
 * e.g. `"3f2a:91c0:5b7e:0d44"`. Meant for people to compare keys out of band
 * (on the phone, on paper); 64 bits resist accidental collisions, not a
 * determined second-preimage search, so the full key is what gets pinned.
 *
 * @throws {NoiseError} `INVALID_KEY` if `publicKey` is not 32 bytes.
 * @example
 * ```ts
 * import { fingerprint } from "./fingerprint.ts";
 * console.assert(/^[0-9a-f]{4}(:[0-9a-f]{4}){3}$/.test(fingerprint(new Uint8Array(32))));
 * ```
 */
export function fingerprint(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new NoiseError("INVALID_KEY", "fingerprint needs a 32-byte public key");
  }
  const hex = bytesToHex(sha256(publicKey)).slice(0, 16);
  return hex.match(/.{4}/g)!.join(":");
}
