/**
 * Secure summation with every party present (no dropout recovery: for that see the full
 * secure aggregation in `crypto/secagg/`). Each party adds pairwise masks to its vector so a
 * relay that adds all the masked vectors learns the sum and nothing else: the masks cancel
 * in the sum, and each masked vector alone is uniformly random to someone without the
 * pairwise secrets (Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
 * Machine Learning", CCS 2017, §4, the all-present case).
 *
 * Per pair (i, j): s = X25519(sk_i, pk_j) (RFC 7748 §6.1), k = HKDF-SHA256(s, salt =
 * context, info = "splitgate secure-sum v1" ‖ name_lo ‖ 0 ‖ name_hi) (RFC 5869), the mask is the
 * ChaCha20 keystream of k with a zero nonce (RFC 8439 §2.4; the key is fresh per context, so
 * the nonce is never reused) read as little-endian 128-bit words. The party whose name sorts
 * first adds the mask, the other subtracts it. Arithmetic is in Z_2^128; real numbers go in
 * as fixed point with {@linkcode toFixedPoint}.
 *
 * The context must be unique per summation (e.g. study id and purpose): two sums under one
 * context reuse masks, and their difference would leak.
 *
 * @example
 * ```ts
 * import { x25519 } from "@noble/curves/ed25519.js";
 * import { maskedShare, sumShares } from "./secure_sum.ts";
 * const a = x25519.utils.randomSecretKey(), b = x25519.utils.randomSecretKey();
 * const peers = [{ name: "a", publicKey: x25519.getPublicKey(a) }, { name: "b", publicKey: x25519.getPublicKey(b) }];
 * const ctx = new TextEncoder().encode("study-1/schema");
 * const sa = maskedShare([5n], { name: "a", secretKey: a }, peers, ctx);
 * const sb = maskedShare([7n], { name: "b", secretKey: b }, peers, ctx);
 * sumShares([sa, sb]); // [12n]
 * ```
 * @module
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { chacha20 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

const BITS = 128;
/** Fixed-point scale of {@linkcode toFixedPoint}: 2^32 (about 2.3e-10 resolution). */
const SCALE = 2 ** 32;

/** This party: its name (as in the allowlist) and X25519 secret key. */
export interface SecureSumParty {
  name: string;
  secretKey: Uint8Array;
}

/** A party of the sum: its name and X25519 public key (the allowlist's). */
export interface SecureSumPeer {
  name: string;
  publicKey: Uint8Array;
}

function pairMask(
  self: SecureSumParty,
  peer: SecureSumPeer,
  context: Uint8Array,
  length: number,
): bigint[] {
  const shared = x25519.getSharedSecret(self.secretKey, peer.publicKey);
  const [lo, hi] = self.name < peer.name ? [self.name, peer.name] : [peer.name, self.name];
  const info = new TextEncoder().encode(`splitgate secure-sum v1${lo}\u0000${hi}`);
  const key = hkdf(sha256, shared, context, info, 32);
  const stream = chacha20(key, new Uint8Array(12), new Uint8Array(16 * length));
  shared.fill(0);
  key.fill(0);
  const words: bigint[] = new Array(length);
  for (let i = 0; i < length; i++) {
    let w = 0n;
    for (let b = 15; b >= 0; b--) w = (w << 8n) | BigInt(stream[16 * i + b]);
    words[i] = w;
  }
  return words;
}

/**
 * This party's masked vector: `values` (integers, taken mod 2^128) plus or minus one
 * keystream mask per other party in `parties` (this party itself, by name, is skipped).
 *
 * @throws {RangeError} when `parties` does not name this party exactly once, or names another twice
 * @example
 * ```ts
 * import { x25519 } from "@noble/curves/ed25519.js";
 * import { maskedShare } from "./secure_sum.ts";
 * const sk = x25519.utils.randomSecretKey(), other = x25519.utils.randomSecretKey();
 * const parties = [{ name: "a", publicKey: x25519.getPublicKey(sk) }, { name: "b", publicKey: x25519.getPublicKey(other) }];
 * maskedShare([1n, 2n], { name: "a", secretKey: sk }, parties, new Uint8Array(8)).length; // 2
 * ```
 */
export function maskedShare(
  values: readonly bigint[],
  self: SecureSumParty,
  parties: readonly SecureSumPeer[],
  context: Uint8Array,
): bigint[] {
  const names = parties.map((p) => p.name);
  if (new Set(names).size !== names.length || !names.includes(self.name)) {
    throw new RangeError(
      `secure sum: parties must name ${JSON.stringify(self.name)} once and no party twice, got [${
        names.join(", ")
      }]`,
    );
  }
  const out = values.map((v) => BigInt.asUintN(BITS, v));
  for (const peer of parties) {
    if (peer.name === self.name) continue;
    const mask = pairMask(self, peer, context, values.length);
    const sign = self.name < peer.name ? 1n : -1n;
    for (let i = 0; i < out.length; i++) out[i] = BigInt.asUintN(BITS, out[i] + sign * mask[i]);
  }
  return out;
}

/**
 * The sum of all parties' masked vectors, mod 2^128: the plain sum once every party's share is in.
 *
 * @throws {RangeError} for no shares or shares of different lengths
 * @example
 * ```ts
 * import { sumShares } from "./secure_sum.ts";
 * sumShares([[1n], [2n]]); // [3n]
 * ```
 */
export function sumShares(shares: readonly (readonly bigint[])[]): bigint[] {
  if (shares.length === 0) throw new RangeError("secure sum: no shares");
  const n = shares[0].length;
  const out = new Array<bigint>(n).fill(0n);
  for (const s of shares) {
    if (s.length !== n) throw new RangeError(`secure sum: shares of lengths ${n} and ${s.length}`);
    for (let i = 0; i < n; i++) out[i] = BigInt.asUintN(BITS, out[i] + s[i]);
  }
  return out;
}

/**
 * Real numbers as fixed-point integers (scale 2^32, two's complement mod 2^128).
 *
 * @throws {RangeError} for a value that is not finite or too large (|x| ≥ 2^90)
 * @example
 * ```ts
 * import { fromFixedPoint, toFixedPoint } from "./secure_sum.ts";
 * fromFixedPoint(toFixedPoint([-1.5, 2])); // [-1.5, 2]
 * ```
 */
export function toFixedPoint(values: ArrayLike<number>): bigint[] {
  return Array.from(values, (x, i) => {
    if (!Number.isFinite(x) || Math.abs(x) >= 2 ** 90) {
      throw new RangeError(
        `secure sum: value ${x} at ${i} must be finite and below 2^90 in magnitude`,
      );
    }
    return BigInt.asUintN(BITS, BigInt(Math.round(x * SCALE)));
  });
}

/**
 * The inverse of {@linkcode toFixedPoint} (on a sum: the sum of the real numbers).
 *
 * @example
 * ```ts
 * import { fromFixedPoint } from "./secure_sum.ts";
 * fromFixedPoint([2n ** 32n]); // [1]
 * ```
 */
export function fromFixedPoint(words: readonly bigint[]): number[] {
  return words.map((w) => Number(BigInt.asIntN(BITS, w)) / SCALE);
}
