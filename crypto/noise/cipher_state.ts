/**
 * CipherState of Noise rev 34 §5.1 over the cipher functions of §4.2: ChaChaPoly (§12.3) or
 * AESGCM (§12.4), each from `@noble/ciphers` or `node:crypto` (see `cipher_select.ts`).
 *
 * @module
 */
import { NoiseError } from "../errors.ts";
import { KEYLEN, type NoiseCipher, TAGLEN } from "./cipher_functions.ts";
import { nobleCipher } from "./noble_ciphers.ts";

export { KEYLEN, TAGLEN };
/** 2^64-1: reserved by §5.1 for REKEY and never used as a message nonce. */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn;

const ZEROS32 = new Uint8Array(32);
const NOBLE_CHACHAPOLY = nobleCipher("ChaChaPoly");

/**
 * A Noise CipherState: a key `k` (or none) and a 64-bit nonce `n` (§5.1).
 *
 * The nonce 2^64-1 is reserved: once `n` reaches it, encrypting or decrypting
 * throws `NONCE_EXHAUSTED`. A failed decryption leaves `n` unchanged, as §5.1
 * requires. `destroy()` wipes the key. The cipher is fixed at construction: @noble's
 * ChaChaPoly unless another {@link NoiseCipher} is given.
 *
 * @example
 * ```ts
 * import { CipherState } from "./cipher_state.ts";
 * const a = new CipherState(new Uint8Array(32).fill(7));
 * const b = new CipherState(new Uint8Array(32).fill(7));
 * const ct = a.encryptWithAd(new Uint8Array(0), new TextEncoder().encode("hi"));
 * console.assert(new TextDecoder().decode(b.decryptWithAd(new Uint8Array(0), ct)) === "hi");
 * ```
 */
export class CipherState {
  #k: Uint8Array | null = null;
  #n = 0n;
  #destroyed = false;
  readonly #cipher: NoiseCipher;

  /**
   * InitializeKey(key) at construction; omit `key` for an empty CipherState. `cipher`
   * (default @noble's ChaChaPoly) computes ENCRYPT and DECRYPT.
   */
  constructor(key?: Uint8Array, cipher: NoiseCipher = NOBLE_CHACHAPOLY) {
    this.#cipher = cipher;
    if (key !== undefined) this.initializeKey(key);
  }

  /**
   * The cipher functions this state uses.
   *
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * console.log(new CipherState().cipher.name); // "ChaChaPoly"
   * ```
   */
  get cipher(): NoiseCipher {
    return this.#cipher;
  }

  /**
   * InitializeKey(key): sets `k` (copied) and resets `n` to 0 (§5.1).
   *
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * const c = new CipherState();
   * c.initializeKey(new Uint8Array(32));
   * console.assert(c.hasKey());
   * ```
   */
  initializeKey(key: Uint8Array): void {
    this.#assertLive();
    if (!(key instanceof Uint8Array) || key.length !== KEYLEN) {
      throw new NoiseError("INVALID_KEY", `cipher key must be ${KEYLEN} bytes`);
    }
    this.#k?.fill(0);
    this.#k = key.slice();
    this.#n = 0n;
  }

  /**
   * HasKey(): whether `k` is set (§5.1).
   *
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * console.assert(!new CipherState().hasKey());
   * ```
   */
  hasKey(): boolean {
    return this.#k !== null;
  }

  /**
   * SetNonce(nonce) (§5.1), used for explicit-nonce transports (§11.4).
   *
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * const c = new CipherState(new Uint8Array(32));
   * c.setNonce(41n);
   * console.assert(c.nonce === 41n);
   * ```
   */
  setNonce(nonce: bigint): void {
    this.#assertLive();
    if (typeof nonce !== "bigint" || nonce < 0n || nonce > MAX_NONCE) {
      throw new RangeError(`nonce must be a bigint in [0, 2^64-1], got ${String(nonce)}`);
    }
    this.#n = nonce;
  }

  /**
   * The current nonce `n`.
   *
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * console.assert(new CipherState().nonce === 0n);
   * ```
   */
  get nonce(): bigint {
    return this.#n;
  }

  /**
   * EncryptWithAd(ad, plaintext) (§5.1): ENCRYPT(k, n++, ad, plaintext), or
   * the plaintext unchanged if there is no key. With `out` (exactly `plaintext.length + 16`
   * bytes) the ciphertext is written there, so a frame is sealed into its own buffer.
   *
   * @throws {NoiseError} `NONCE_EXHAUSTED` when `n` is 2^64-1.
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * const c = new CipherState(new Uint8Array(32));
   * console.assert(c.encryptWithAd(new Uint8Array(0), new Uint8Array(5)).length === 21);
   * ```
   */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array, out?: Uint8Array): Uint8Array {
    this.#assertLive();
    if (this.#k === null) return plaintext.slice();
    this.#assertNonceUsable();
    const ct = this.#cipher.encrypt(this.#k, this.#n, ad, plaintext, out);
    this.#n++;
    return ct;
  }

  /**
   * DecryptWithAd(ad, ciphertext) (§5.1): DECRYPT(k, n, ad, ciphertext), then
   * `n++` only on success. With no key the ciphertext is returned unchanged.
   *
   * @throws {NoiseError} `BAD_TAG` (message "invalid tag") when authentication fails,
   *   `NONCE_EXHAUSTED` when `n` is 2^64-1.
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * const c = new CipherState(new Uint8Array(32));
   * try { c.decryptWithAd(new Uint8Array(0), new Uint8Array(16)); } catch (e) {
   *   console.assert((e as { code: string }).code === "BAD_TAG" && c.nonce === 0n);
   * }
   * ```
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    this.#assertLive();
    if (this.#k === null) return ciphertext.slice();
    this.#assertNonceUsable();
    if (ciphertext.length < TAGLEN) throw new NoiseError("BAD_TAG", "invalid tag");
    let out: Uint8Array;
    try {
      out = this.#cipher.decrypt(this.#k, this.#n, ad, ciphertext);
    } catch {
      // Deliberately vague: the reason a tag failed is of use only to an attacker.
      throw new NoiseError("BAD_TAG", "invalid tag");
    }
    this.#n++;
    return out;
  }

  /**
   * Rekey() (§5.1, §11.3): k = REKEY(k) = ENCRYPT(k, 2^64-1, zerolen, zeros)[0:32], the
   * default REKEY of §4.2 for both ciphers. The nonce is left unchanged, as the spec says.
   *
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * const a = new CipherState(new Uint8Array(32)), b = new CipherState(new Uint8Array(32));
   * a.rekey(); b.rekey();
   * const ct = a.encryptWithAd(new Uint8Array(0), new Uint8Array(1));
   * console.assert(b.decryptWithAd(new Uint8Array(0), ct).length === 1);
   * ```
   */
  rekey(): void {
    this.#assertLive();
    if (this.#k === null) throw new NoiseError("INVALID_STATE", "cannot rekey: no key set");
    const full = this.#cipher.encrypt(this.#k, MAX_NONCE, new Uint8Array(0), ZEROS32);
    this.#k.fill(0);
    this.#k = full.slice(0, KEYLEN);
    full.fill(0);
  }

  /**
   * An independent copy (same key and nonce), e.g. to try a candidate
   * rekeyed key without committing it.
   *
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * const a = new CipherState(new Uint8Array(32));
   * const b = a.clone();
   * b.rekey();
   * console.assert(a.nonce === b.nonce);
   * ```
   */
  clone(): CipherState {
    this.#assertLive();
    const c = new CipherState(undefined, this.#cipher);
    if (this.#k !== null) c.initializeKey(this.#k);
    c.#n = this.#n;
    return c;
  }

  /**
   * Wipes the key; any later use throws `INVALID_STATE`.
   *
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * const c = new CipherState(new Uint8Array(32));
   * c.destroy();
   * console.assert(c.destroyed);
   * ```
   */
  destroy(): void {
    this.#k?.fill(0);
    this.#k = null;
    this.#destroyed = true;
  }

  /**
   * Whether {@link CipherState.destroy} was called.
   *
   * @example
   * ```ts
   * import { CipherState } from "./cipher_state.ts";
   * console.assert(!new CipherState().destroyed);
   * ```
   */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  #assertLive(): void {
    if (this.#destroyed) throw new NoiseError("INVALID_STATE", "CipherState was destroyed");
  }

  #assertNonceUsable(): void {
    if (this.#n >= MAX_NONCE) {
      throw new NoiseError("NONCE_EXHAUSTED", "nonce 2^64-1 is reserved; the key is exhausted");
    }
  }
}
