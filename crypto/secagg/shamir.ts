/**
 * Shamir t-of-n secret sharing (Shamir, "How to share a secret", CACM 1979), bytewise over
 * GF(2^8) (`gf256.ts`): each byte of the secret is the constant term of its own random
 * polynomial of degree t − 1, and the share at index x is the polynomial's value at x. Any t
 * shares give the secret back by Lagrange interpolation at 0; t − 1 shares are uniformly
 * distributed whatever the secret, so they tell nothing about it.
 *
 * Why GF(2^8) rather than GF(p) with p > 2^256: a 32-byte seed splits into 32 independent
 * byte sharings whose shares are 32 bytes too (no encoding of field elements, no bias from
 * reducing random numbers mod p), and the arithmetic runs on small integers in constant time.
 * The price is at most 255 share holders (indices 1..255), far above a consortium's size.
 *
 * Index 0 is refused: the value at 0 *is* the secret. Duplicate indices are refused: two
 * shares at one index are one share, and a threshold counted over them would be a lie.
 *
 * @example
 * ```ts
 * import { combineShares, splitSecret } from "./shamir.ts";
 * const shares = splitSecret(Uint8Array.of(1, 2, 3), 2, [1, 2, 3]);
 * console.log(combineShares([shares[2], shares[0]], 2)); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 * @module
 */
import { gfInv, gfMul } from "./gf256.ts";
import { SecAggError } from "./secagg_error.ts";

/** The largest share index (and so the largest number of holders): the field has 255 non-zero elements. */
export const MAX_SHARE_INDEX = 255;

/**
 * One share: the holder's index (1..255) and the polynomials' values there, one byte per
 * byte of the secret.
 *
 * @example
 * ```ts
 * import type { Share } from "./shamir.ts";
 * const s: Share = { index: 3, value: new Uint8Array(32) };
 * ```
 */
export interface Share {
  readonly index: number;
  readonly value: Uint8Array;
}

/**
 * Fills a buffer with random bytes; the platform CSPRNG by default, injectable for tests.
 *
 * @example
 * ```ts
 * import type { RandomBytes } from "./shamir.ts";
 * const r: RandomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));
 * ```
 */
export type RandomBytes = (length: number) => Uint8Array;

/**
 * The platform CSPRNG as a {@link RandomBytes} (in slices, as `getRandomValues` takes at most
 * 65536 bytes a call).
 *
 * @example
 * ```ts
 * import { cryptoRandomBytes } from "./shamir.ts";
 * console.log(cryptoRandomBytes(70000).length); // 70000
 * ```
 */
export function cryptoRandomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/**
 * Checks a list of share indices: each an integer in 1..255, no two equal.
 *
 * @throws {SecAggError} `BAD_SHARE_INDEX` naming the index and what was expected
 * @example
 * ```ts
 * import { checkShareIndices } from "./shamir.ts";
 * try {
 *   checkShareIndices([1, 2, 2]);
 * } catch (e) {
 *   console.log((e as { code: string }).code); // BAD_SHARE_INDEX
 * }
 * ```
 */
export function checkShareIndices(indices: readonly number[]): void {
  const seen = new Set<number>();
  for (const x of indices) {
    if (!Number.isInteger(x) || x < 1 || x > MAX_SHARE_INDEX) {
      throw new SecAggError(
        "BAD_SHARE_INDEX",
        `share index ${x} is not an integer in 1..${MAX_SHARE_INDEX} (0 would be the secret itself)`,
      );
    }
    if (seen.has(x)) throw new SecAggError("BAD_SHARE_INDEX", `share index ${x} appears twice`);
    seen.add(x);
  }
}

function checkThreshold(threshold: number, holders: number): void {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > holders) {
    throw new SecAggError(
      "INVALID_PARAMS",
      `threshold ${threshold} is not an integer in 1..${holders} (the number of share indices)`,
    );
  }
}

/**
 * Splits `secret` into one share per index, any `threshold` of which rebuild it.
 * `coefficients` is the randomness: (threshold − 1) × secret.length bytes are drawn from it
 * (the CSPRNG by default), used as the polynomials' higher coefficients and wiped after.
 *
 * @throws {SecAggError} `BAD_SHARE_INDEX`, `INVALID_PARAMS` (threshold not in 1..indices.length)
 * @example
 * ```ts
 * import { splitSecret } from "./shamir.ts";
 * // f(x) = 0x00 + 0x57·x, evaluated at 0x83: {57}•{83} = {c1} (FIPS-197 §4.2)
 * const [s, t] = splitSecret(Uint8Array.of(0), 2, [0x83, 0x13], () => Uint8Array.of(0x57));
 * console.log(s.value[0].toString(16), t.value[0].toString(16)); // c1 fe
 * ```
 */
export function splitSecret(
  secret: Uint8Array,
  threshold: number,
  indices: readonly number[],
  random: RandomBytes = cryptoRandomBytes,
): Share[] {
  if (!(secret instanceof Uint8Array)) throw new TypeError("secret must be a Uint8Array");
  checkShareIndices(indices);
  checkThreshold(threshold, indices.length);
  const len = secret.length;
  const coef = random((threshold - 1) * len); // coef[(k - 1) * len + i]: x^k coefficient of byte i
  if (coef.length !== (threshold - 1) * len) {
    throw new TypeError(
      `random source gave ${coef.length} bytes, expected ${(threshold - 1) * len}`,
    );
  }
  try {
    return indices.map((x) => {
      const value = new Uint8Array(len);
      for (let i = 0; i < len; i++) {
        let y = 0; // Horner: ((c_{t-1} x + c_{t-2}) x + …) x + secret
        for (let k = threshold - 1; k >= 1; k--) y = gfMul(y, x) ^ coef[(k - 1) * len + i];
        value[i] = gfMul(y, x) ^ secret[i];
      }
      return { index: x, value };
    });
  } finally {
    coef.fill(0);
  }
}

/**
 * Rebuilds the secret from at least `threshold` shares by Lagrange interpolation at 0:
 * s = Σ_i y_i · Π_{j≠i} x_j / (x_i + x_j) (in GF(2^8), minus is plus). It uses the first
 * `threshold` shares; with fewer it refuses rather than return a wrong secret.
 *
 * @throws {SecAggError} `TOO_FEW_SHARES`, `BAD_SHARE_INDEX`, `MALFORMED_MESSAGE` (shares of
 *   different lengths)
 * @example
 * ```ts
 * import { combineShares } from "./shamir.ts";
 * try {
 *   combineShares([{ index: 1, value: Uint8Array.of(9) }], 2);
 * } catch (e) {
 *   console.log((e as { code: string }).code); // TOO_FEW_SHARES
 * }
 * ```
 */
export function combineShares(shares: readonly Share[], threshold: number): Uint8Array {
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new SecAggError("INVALID_PARAMS", `threshold ${threshold} is not a positive integer`);
  }
  if (shares.length < threshold) {
    throw new SecAggError(
      "TOO_FEW_SHARES",
      `${shares.length} shares given; the threshold is ${threshold}`,
    );
  }
  const use = shares.slice(0, threshold);
  checkShareIndices(use.map((s) => s.index));
  const len = use[0].value.length;
  for (const s of use) {
    if (s.value.length !== len) {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `share ${s.index} is ${s.value.length} bytes; share ${use[0].index} is ${len}`,
      );
    }
  }
  const out = new Uint8Array(len);
  for (let i = 0; i < use.length; i++) {
    let basis = 1; // the Lagrange basis polynomial of x_i, evaluated at 0
    for (let j = 0; j < use.length; j++) {
      if (j !== i) basis = gfMul(basis, gfMul(use[j].index, gfInv(use[i].index ^ use[j].index)));
    }
    const y = use[i].value;
    for (let b = 0; b < len; b++) out[b] ^= gfMul(y[b], basis);
  }
  return out;
}
