/**
 * SymmetricState of Noise rev 34 §5.2.
 *
 * @module
 */
import { CipherState, KEYLEN } from "./cipher_state.ts";
import type { NoiseCipher } from "./cipher_functions.ts";
import { hkdf, type NoiseHash } from "./hash.ts";

/**
 * A Noise SymmetricState: a CipherState plus the chaining key `ck` and the handshake hash `h`.
 *
 * @example
 * ```ts
 * import { SymmetricState } from "./symmetric_state.ts";
 * import { getHash } from "./hash.ts";
 * const s = new SymmetricState(getHash("SHA256"), "Noise_NN_25519_ChaChaPoly_SHA256");
 * s.mixHash(new Uint8Array(0));
 * console.assert(s.handshakeHash.length === 32);
 * ```
 */
export class SymmetricState {
  readonly #hash: NoiseHash;
  #ck: Uint8Array;
  #h: Uint8Array;
  readonly #cipher: CipherState;

  /**
   * InitializeSymmetric(protocol_name) (§5.2). `cipher` encrypts handshake payloads and
   * static keys (default @noble's ChaChaPoly); it must be the protocol name's cipher.
   */
  constructor(hash: NoiseHash, protocolName: string, cipher?: NoiseCipher) {
    this.#hash = hash;
    this.#cipher = new CipherState(undefined, cipher);
    const name = new TextEncoder().encode(protocolName);
    // §5.2: a name of at most HASHLEN bytes is zero-padded, a longer one hashed.
    if (name.length <= hash.hashLen) {
      this.#h = new Uint8Array(hash.hashLen);
      this.#h.set(name);
    } else {
      this.#h = hash.hash(name);
    }
    this.#ck = this.#h.slice();
  }

  /**
   * MixKey(input_key_material) (§5.2).
   *
   * @example
   * ```ts
   * import { SymmetricState } from "./symmetric_state.ts";
   * import { getHash } from "./hash.ts";
   * const s = new SymmetricState(getHash("SHA256"), "x");
   * s.mixKey(new Uint8Array(32));
   * console.assert(s.hasKey());
   * ```
   */
  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, tempK] = hkdf(this.#hash, this.#ck, inputKeyMaterial, 2);
    this.#ck.fill(0);
    this.#ck = ck;
    // §5.2: with HASHLEN 64, temp_k is truncated to 32 bytes.
    this.#cipher.initializeKey(tempK.subarray(0, KEYLEN));
    tempK.fill(0);
  }

  /**
   * MixHash(data): h = HASH(h || data) (§5.2).
   *
   * @example
   * ```ts
   * import { SymmetricState } from "./symmetric_state.ts";
   * import { getHash } from "./hash.ts";
   * const s = new SymmetricState(getHash("BLAKE2b"), "x");
   * s.mixHash(Uint8Array.of(1));
   * console.assert(s.handshakeHash.length === 64);
   * ```
   */
  mixHash(data: Uint8Array): void {
    const buf = new Uint8Array(this.#h.length + data.length);
    buf.set(this.#h);
    buf.set(data, this.#h.length);
    this.#h = this.#hash.hash(buf);
  }

  /**
   * MixKeyAndHash(input_key_material) (§5.2), used for "psk" tokens (§9).
   *
   * @example
   * ```ts
   * import { SymmetricState } from "./symmetric_state.ts";
   * import { getHash } from "./hash.ts";
   * const s = new SymmetricState(getHash("SHA256"), "x");
   * s.mixKeyAndHash(new Uint8Array(32));
   * console.assert(s.hasKey());
   * ```
   */
  mixKeyAndHash(inputKeyMaterial: Uint8Array): void {
    const [ck, tempH, tempK] = hkdf(this.#hash, this.#ck, inputKeyMaterial, 3);
    this.#ck.fill(0);
    this.#ck = ck;
    this.mixHash(tempH);
    this.#cipher.initializeKey(tempK.subarray(0, KEYLEN));
    tempK.fill(0);
  }

  /**
   * Whether the inner CipherState has a key.
   *
   * @example
   * ```ts
   * import { SymmetricState } from "./symmetric_state.ts";
   * import { getHash } from "./hash.ts";
   * console.assert(!new SymmetricState(getHash("SHA256"), "x").hasKey());
   * ```
   */
  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  /**
   * GetHandshakeHash() (§5.2): a copy of `h`.
   *
   * @example
   * ```ts
   * import { SymmetricState } from "./symmetric_state.ts";
   * import { getHash } from "./hash.ts";
   * console.assert(new SymmetricState(getHash("SHA256"), "x").handshakeHash[0] === 0x78);
   * ```
   */
  get handshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  /**
   * EncryptAndHash(plaintext) (§5.2).
   *
   * @example
   * ```ts
   * import { SymmetricState } from "./symmetric_state.ts";
   * import { getHash } from "./hash.ts";
   * const s = new SymmetricState(getHash("SHA256"), "x");
   * console.assert(s.encryptAndHash(Uint8Array.of(1, 2)).length === 2); // no key yet
   * ```
   */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ct = this.#cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(ct);
    return ct;
  }

  /**
   * DecryptAndHash(ciphertext) (§5.2). On a tag failure `h` is not updated.
   *
   * @example
   * ```ts
   * import { SymmetricState } from "./symmetric_state.ts";
   * import { getHash } from "./hash.ts";
   * const s = new SymmetricState(getHash("SHA256"), "x");
   * console.assert(s.decryptAndHash(Uint8Array.of(9)).length === 1);
   * ```
   */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const pt = this.#cipher.decryptWithAd(this.#h, ciphertext);
    this.mixHash(ciphertext);
    return pt;
  }

  /**
   * Split() (§5.2): two CipherStates, initiator→responder first, computing with
   * `transport` (default: the handshake's own cipher functions). Wipes `ck` and the
   * handshake cipher key afterwards (§5.3: the SymmetricState may be deleted once split).
   *
   * @example
   * ```ts
   * import { SymmetricState } from "./symmetric_state.ts";
   * import { getHash } from "./hash.ts";
   * const [c1, c2] = new SymmetricState(getHash("SHA256"), "x").split();
   * console.assert(c1.hasKey() && c2.hasKey());
   * ```
   */
  split(transport: NoiseCipher = this.#cipher.cipher): [CipherState, CipherState] {
    if (transport.name !== this.#cipher.cipher.name) {
      throw new TypeError(
        `transport cipher must be the handshake's ${this.#cipher.cipher.name}, got ${transport.name}`,
      );
    }
    const [k1, k2] = hkdf(this.#hash, this.#ck, new Uint8Array(0), 2);
    const c1 = new CipherState(k1.subarray(0, KEYLEN), transport);
    const c2 = new CipherState(k2.subarray(0, KEYLEN), transport);
    k1.fill(0);
    k2.fill(0);
    this.destroy();
    return [c1, c2];
  }

  /**
   * Wipes the chaining key and the handshake cipher key (the hash `h` is public).
   *
   * @example
   * ```ts
   * import { SymmetricState } from "./symmetric_state.ts";
   * import { getHash } from "./hash.ts";
   * new SymmetricState(getHash("SHA256"), "x").destroy();
   * ```
   */
  destroy(): void {
    this.#ck.fill(0);
    this.#cipher.destroy();
  }
}
