/**
 * The cipher functions of Noise rev 34 §4.2 (ENCRYPT, DECRYPT) for the two ciphers of §12.3
 * (ChaChaPoly) and §12.4 (AESGCM), as an interface that more than one implementation fills:
 * `@noble/ciphers` (pure JavaScript, the reference, always used for handshake messages) and
 * `node:crypto` (native, used for transport messages). Both produce byte-identical
 * ciphertexts and tags, which `tests/crypto/noise/cipher_functions_test.ts` checks.
 *
 * @module
 */

/**
 * A cipher name as it appears in a Noise protocol name (§8): `ChaChaPoly` or `AESGCM`.
 *
 * @example
 * ```ts
 * import type { CipherName } from "./cipher_functions.ts";
 * const c: CipherName = "AESGCM";
 * ```
 */
export type CipherName = "ChaChaPoly" | "AESGCM";

/** The cipher names this implementation offers, in protocol-name spelling. */
export const CIPHER_NAMES: readonly CipherName[] = Object.freeze(["ChaChaPoly", "AESGCM"]);

/**
 * Which code runs a cipher: `native` is `node:crypto` (OpenSSL in Node, Rust crates in Deno),
 * `noble` is `@noble/ciphers` (audited pure JavaScript).
 *
 * @example
 * ```ts
 * import type { CipherBackend } from "./cipher_functions.ts";
 * const b: CipherBackend = "noble";
 * ```
 */
export type CipherBackend = "native" | "noble";

/** Length of a cipher key, both ciphers (§4.2). */
export const KEYLEN = 32;
/** Length of the authentication tag appended to every ciphertext, both ciphers (§4.2). */
export const TAGLEN = 16;

/**
 * ENCRYPT and DECRYPT of Noise rev 34 §4.2 with a 64-bit nonce `n`.
 *
 * @example
 * ```ts
 * import { getNoiseCipher } from "./cipher_select.ts";
 * const c = getNoiseCipher("ChaChaPoly", "noble");
 * const k = new Uint8Array(32), ad = new Uint8Array(0);
 * const ct = c.encrypt(k, 0n, ad, Uint8Array.of(1, 2, 3));
 * console.assert(ct.length === 3 + 16 && c.decrypt(k, 0n, ad, ct)[2] === 3);
 * ```
 */
export interface NoiseCipher {
  /** The cipher's protocol-name spelling. */
  readonly name: CipherName;
  /** Which implementation this is. */
  readonly backend: CipherBackend;
  /**
   * ENCRYPT(k, n, ad, plaintext): ciphertext ‖ 16-byte tag. With `out` (exactly
   * `plaintext.length + 16` bytes, not overlapping `plaintext`) the result is written there and
   * `out` is returned, so a frame can be sealed into its own buffer.
   */
  encrypt(
    key: Uint8Array,
    n: bigint,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out?: Uint8Array,
  ): Uint8Array;
  /**
   * DECRYPT(k, n, ad, ciphertext): the plaintext, or a throw of any kind when authentication
   * fails (the caller turns it into `BAD_TAG`). No unauthenticated plaintext is returned.
   */
  decrypt(key: Uint8Array, n: bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

/**
 * The 96-bit nonce of a 64-bit counter: 32 zero bits, then the counter little-endian for
 * ChaChaPoly (§12.3) or big-endian for AESGCM (§12.4).
 *
 * @example
 * ```ts
 * import { nonce96 } from "./cipher_functions.ts";
 * console.assert(nonce96("ChaChaPoly", 1n)[4] === 1 && nonce96("AESGCM", 1n)[11] === 1);
 * ```
 */
export function nonce96(cipher: CipherName, n: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, n, cipher === "ChaChaPoly");
  return nonce;
}
