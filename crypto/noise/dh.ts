/**
 * The 25519 DH functions of Noise rev 34 §12.1, over @noble/curves' X25519.
 *
 * @module
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { NoiseError } from "../errors.ts";

/** DHLEN for Curve25519 (§12.1). */
export const DHLEN = 32;

/**
 * An X25519 key pair. `secretKey` is the raw 32-byte scalar (clamped by X25519 on use).
 *
 * @example
 * ```ts
 * import { generateKeyPair, type KeyPair } from "./dh.ts";
 * const kp: KeyPair = generateKeyPair();
 * console.assert(kp.publicKey.length === 32);
 * ```
 */
export interface KeyPair {
  /** 32-byte X25519 public key (u-coordinate, little-endian). */
  readonly publicKey: Uint8Array;
  /** 32-byte X25519 secret key. Wipe with `secretKey.fill(0)` when done. */
  readonly secretKey: Uint8Array;
}

/**
 * GENERATE_KEYPAIR() of §4.1, or the key pair of a given secret (for fixed test ephemerals).
 *
 * @throws {NoiseError} `INVALID_KEY` if `secretKey` is not 32 bytes.
 * @example
 * ```ts
 * import { generateKeyPair } from "./dh.ts";
 * const a = generateKeyPair();
 * const b = generateKeyPair(a.secretKey);
 * console.assert(a.publicKey.every((x, i) => x === b.publicKey[i]));
 * ```
 */
export function generateKeyPair(secretKey?: Uint8Array): KeyPair {
  let sk: Uint8Array;
  if (secretKey === undefined) {
    sk = x25519.utils.randomSecretKey();
  } else {
    assertKeyLength(secretKey, "secret key");
    sk = secretKey.slice();
  }
  return { publicKey: x25519.getPublicKey(sk), secretKey: sk };
}

/**
 * DH(key_pair, public_key) of §4.1 with low-order rejection.
 *
 * noble rejects the five low-order u-coordinates of Curve25519 (and their
 * non-canonical aliases) before running the ladder; §12.1 permits an
 * implementation to reject such points, and we additionally refuse an
 * all-zero output (RFC 7748 §6.1), so a peer can never force a predictable
 * shared secret.
 *
 * @throws {NoiseError} `LOW_ORDER_POINT` for a low-order peer key, `INVALID_KEY` for a wrong length.
 * @example
 * ```ts
 * import { dh, generateKeyPair } from "./dh.ts";
 * const a = generateKeyPair(), b = generateKeyPair();
 * const s1 = dh(a, b.publicKey), s2 = dh(b, a.publicKey);
 * console.assert(s1.every((x, i) => x === s2[i]));
 * ```
 */
export function dh(keyPair: KeyPair, publicKey: Uint8Array): Uint8Array {
  assertKeyLength(keyPair.secretKey, "secret key");
  assertKeyLength(publicKey, "public key");
  let out: Uint8Array;
  try {
    out = x25519.getSharedSecret(keyPair.secretKey, publicKey);
  } catch (cause) {
    throw new NoiseError("LOW_ORDER_POINT", "peer public key is a low-order X25519 point", {
      cause,
    });
  }
  let acc = 0;
  for (let i = 0; i < out.length; i++) acc |= out[i];
  if (acc === 0) {
    throw new NoiseError("LOW_ORDER_POINT", "X25519 output is all zeros (low-order point)");
  }
  return out;
}

// Fixed scalar used only to probe a public key; no secret is involved.
const PROBE_SCALAR = new Uint8Array(32).fill(0x5a);

/**
 * Whether `publicKey` is one of the X25519 points that must never be accepted as a peer key
 * (a low-order point, or one aliasing it), checked without any secret.
 *
 * @example
 * ```ts
 * import { generateKeyPair, isLowOrderPoint } from "./dh.ts";
 * console.assert(isLowOrderPoint(new Uint8Array(32)));
 * console.assert(!isLowOrderPoint(generateKeyPair().publicKey));
 * ```
 */
export function isLowOrderPoint(publicKey: Uint8Array): boolean {
  assertKeyLength(publicKey, "public key");
  try {
    dh({ publicKey: PROBE_SCALAR, secretKey: PROBE_SCALAR }, publicKey);
    return false;
  } catch {
    return true;
  }
}

function assertKeyLength(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== DHLEN) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    throw new NoiseError("INVALID_KEY", `X25519 ${what} must be ${DHLEN} bytes, got ${got}`);
  }
}
