/**
 * ChaChaPoly (Noise rev 34 §12.3) and AESGCM (§12.4) on `@noble/ciphers`: the reference
 * implementation, used for every handshake message and, where the native one is missing or
 * not wanted, for transport messages.
 *
 * @module
 */
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { type CipherName, type NoiseCipher, nonce96 } from "./cipher_functions.ts";

/** Seals into `out` when given: noble's ChaCha20-Poly1305 takes an output buffer, its GCM not. */
function sealer(name: CipherName) {
  return (k: Uint8Array, nonce: Uint8Array, ad: Uint8Array, pt: Uint8Array, out?: Uint8Array) => {
    if (name === "ChaChaPoly") return chacha20poly1305(k, nonce, ad).encrypt(pt, out);
    const ct = gcm(k, nonce, ad).encrypt(pt);
    if (out === undefined) return ct;
    if (out.length !== ct.length) {
      throw new RangeError(`out must be ${ct.length} bytes, got ${out.length}`);
    }
    out.set(ct);
    return out;
  };
}

/**
 * The `@noble/ciphers` implementation of a Noise cipher. noble verifies the tag before it
 * decrypts (RFC 8439 §2.8, NIST SP 800-38D §7.2), with a constant-time comparison.
 *
 * @example
 * ```ts
 * import { nobleCipher } from "./noble_ciphers.ts";
 * const c = nobleCipher("AESGCM");
 * console.assert(c.encrypt(new Uint8Array(32), 0n, new Uint8Array(0), new Uint8Array(0)).length === 16);
 * ```
 */
export function nobleCipher(name: CipherName): NoiseCipher {
  const aead = name === "ChaChaPoly" ? chacha20poly1305 : gcm;
  const seal = sealer(name);
  return Object.freeze({
    name,
    backend: "noble" as const,
    encrypt(k: Uint8Array, n: bigint, ad: Uint8Array, pt: Uint8Array, out?: Uint8Array) {
      return seal(k, nonce96(name, n), ad, pt, out);
    },
    decrypt(k: Uint8Array, n: bigint, ad: Uint8Array, ct: Uint8Array) {
      return aead(k, nonce96(name, n), ad).decrypt(ct);
    },
  });
}
