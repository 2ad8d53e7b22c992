/**
 * Long-term (static) X25519 identity keys of clinics and servers.
 *
 * @module
 */
import { generateKeyPair, type KeyPair } from "../noise/dh.ts";

export type { KeyPair };

/**
 * Generates a fresh static X25519 key pair from the platform CSPRNG
 * (via @noble/curves' `randomSecretKey`, i.e. `crypto.getRandomValues`).
 *
 * @example
 * ```ts
 * import { generateStaticKeyPair } from "./key_pair.ts";
 * const kp = generateStaticKeyPair();
 * console.assert(kp.secretKey.length === 32 && kp.publicKey.length === 32);
 * ```
 */
export function generateStaticKeyPair(): KeyPair {
  return generateKeyPair();
}

/**
 * Rebuilds a key pair from its 32-byte secret key (the public key is derived).
 *
 * @throws {NoiseError} `INVALID_KEY` if the secret is not 32 bytes.
 * @example
 * ```ts
 * import { generateStaticKeyPair, keyPairFromSecretKey } from "./key_pair.ts";
 * const a = generateStaticKeyPair();
 * console.assert(keyPairFromSecretKey(a.secretKey).publicKey.join() === a.publicKey.join());
 * ```
 */
export function keyPairFromSecretKey(secretKey: Uint8Array): KeyPair {
  return generateKeyPair(secretKey);
}
