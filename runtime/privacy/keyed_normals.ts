/**
 * Standard normal variates drawn from a secret-keyed ChaCha20 keystream (RFC 8439 §2.4),
 * for the noise the clinic adds to the activations it sends (`noise_defence.ts`).
 *
 * Why not {@linkcode Rng}: the clinic's `seed` is no secret — the server builds the same
 * model from it — and `Rng` keeps only 32 bits of its seed. Noise the server can regenerate
 * (or find by trying 2³² seeds) can be subtracted, which would undo the defence. Here the
 * stream is keyed by HMAC-SHA-256 (RFC 2104) of a clinic secret over a context string, so the
 * same context gives the same noise (a retried or replayed step sends the identical tensor)
 * while nobody without the secret can predict it.
 *
 * Uniforms take 53 bits from 8 keystream bytes; normals come in pairs from the Box–Muller
 * transform (Box & Muller, Ann. Math. Statist. 29(2), 1958).
 *
 * @example
 * ```ts
 * import { KeyedNormals } from "./keyed_normals.ts";
 * const secret = new Uint8Array(32);
 * const a = new KeyedNormals(secret, "train/1/0"), b = new KeyedNormals(secret, "train/1/0");
 * a.normal() === b.normal(); // true
 * ```
 * @module
 */
import { chacha20 } from "@noble/ciphers/chacha.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** Keystream bytes produced at a time (a multiple of ChaCha20's 64-byte block). */
const CHUNK = 4096;
const utf8 = new TextEncoder();

/** A keyed, reproducible source of N(0, 1) variates. */
export class KeyedNormals {
  readonly #key: Uint8Array;
  readonly #nonce = new Uint8Array(12);
  readonly #buf = new Uint8Array(CHUNK);
  readonly #view = new DataView(this.#buf.buffer);
  #pos = CHUNK;
  #block = 0;
  #spare: number | undefined;

  /**
   * @param secret the clinic's noise secret (at least 16 bytes; never sent anywhere)
   * @param context what this stream is for (e.g. `"train/<epoch>/<batch>/<digest>"`); a
   *   different context gives an independent stream
   * @throws {TypeError} for a secret shorter than 16 bytes
   */
  constructor(secret: Uint8Array, context: string) {
    if (!(secret instanceof Uint8Array) || secret.length < 16) {
      throw new TypeError(`keyed normals: secret must be at least 16 bytes, got ${secret?.length}`);
    }
    // One key per context (HMAC as a PRF), so the nonce can stay zero.
    this.#key = hmac(sha256, secret, utf8.encode(`splitgate/cut-noise/v1/${context}`));
  }

  #refill(): void {
    this.#buf.fill(0);
    // The keystream itself: ChaCha20 over zeros, from block counter #block.
    chacha20(this.#key, this.#nonce, this.#buf, this.#buf, this.#block);
    this.#block += CHUNK / 64;
    this.#pos = 0;
  }

  /**
   * A uniform float in (0, 1) with 53 random bits (never 0, so its logarithm is finite).
   *
   * @example
   * ```ts
   * import { KeyedNormals } from "./keyed_normals.ts";
   * new KeyedNormals(new Uint8Array(32), "x").float();
   * ```
   */
  float(): number {
    if (this.#pos + 8 > CHUNK) this.#refill();
    const hi = this.#view.getUint32(this.#pos) >>> 5, lo = this.#view.getUint32(this.#pos + 4) >>> 6;
    this.#pos += 8;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /**
   * A standard normal variate.
   *
   * @example
   * ```ts
   * import { KeyedNormals } from "./keyed_normals.ts";
   * new KeyedNormals(new Uint8Array(32), "x").normal();
   * ```
   */
  normal(): number {
    if (this.#spare !== undefined) {
      const z = this.#spare;
      this.#spare = undefined;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(this.float())), t = 2 * Math.PI * this.float();
    this.#spare = r * Math.sin(t);
    return r * Math.cos(t);
  }
}
