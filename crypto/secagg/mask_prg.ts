/**
 * The mask PRG of secure aggregation (Bonawitz et al., CCS 2017, §4: PRG(b_u), PRG(s_{u,v})):
 * the ChaCha20 keystream (RFC 8439 §2.4) under a 32-byte seed as key, nonce 0 and initial
 * block counter 0, read as little-endian uint32 words. Every seed is used for one vector of
 * one round only (pairwise seeds are bound to the round by HKDF, self seeds are drawn fresh),
 * so the fixed nonce never repeats under one key.
 *
 * A vector of L words takes ⌈L / 16⌉ ChaCha20 blocks; the 32-bit block counter allows
 * 2^36 words, far beyond any model.
 *
 * @example
 * ```ts
 * import { expandMask } from "./mask_prg.ts";
 * // RFC 8439 §A.1 test vector #1: key 0, nonce 0, counter 0 → keystream 76 b8 e0 ad …
 * console.log(expandMask(new Uint8Array(32), 1)[0].toString(16)); // ade0b876
 * ```
 * @module
 */
import { chacha20 } from "@noble/ciphers/chacha.js";
import { SecAggError } from "./secagg_error.ts";
import { SEED_LENGTH } from "./pairwise_seed.ts";

const NONCE = new Uint8Array(12);
/** The most words one seed may expand to: 2^32 ChaCha20 blocks of 16 words (RFC 8439 §2.3). */
export const MAX_MASK_WORDS = 2 ** 36;

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) {
    throw new SecAggError(
      "INVALID_PARAMS",
      `mask seed must be ${SEED_LENGTH} bytes, got ${
        seed instanceof Uint8Array ? seed.length : typeof seed
      }`,
    );
  }
}

/**
 * The first `length` uint32 words of the seed's ChaCha20 keystream.
 *
 * @throws {SecAggError} `INVALID_PARAMS` for a seed that is not 32 bytes or a length out of range
 * @example
 * ```ts
 * import { expandMask } from "./mask_prg.ts";
 * console.log(expandMask(new Uint8Array(32).fill(1), 5).length); // 5
 * ```
 */
export function expandMask(seed: Uint8Array, length: number): Uint32Array {
  checkSeed(seed);
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_MASK_WORDS) {
    throw new SecAggError("INVALID_PARAMS", `mask length ${length} is not an integer in [0, 2^36]`);
  }
  const bytes = new Uint8Array(length * 4);
  chacha20(seed, NONCE, bytes, bytes); // keystream XOR zeros = keystream
  const view = new DataView(bytes.buffer);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getUint32(4 * i, true);
  bytes.fill(0);
  return out;
}

/**
 * Adds (`sign` 1) or subtracts (`sign` −1) the seed's mask into `acc`, word by word mod 2^32.
 *
 * @example
 * ```ts
 * import { applyMask } from "./mask_prg.ts";
 * const acc = new Uint32Array(3), seed = new Uint8Array(32).fill(7);
 * applyMask(acc, seed, 1);
 * applyMask(acc, seed, -1);
 * console.log(acc); // Uint32Array(3) [ 0, 0, 0 ]
 * ```
 */
export function applyMask(acc: Uint32Array, seed: Uint8Array, sign: 1 | -1): void {
  const mask = expandMask(seed, acc.length);
  if (sign === 1) { for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] + mask[i]) >>> 0; }
  else for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] - mask[i]) >>> 0;
  mask.fill(0);
}
