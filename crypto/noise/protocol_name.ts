/**
 * Parsing of Noise protocol names (Noise rev 34 §8).
 *
 * @module
 */
import { NoiseError } from "../errors.ts";
import type { CipherName } from "./cipher_functions.ts";
import { getHash, type NoiseHash } from "./hash.ts";
import { getPattern, type HandshakePattern } from "./patterns.ts";

/**
 * A parsed protocol name `Noise_<pattern>_25519_<ChaChaPoly|AESGCM>_<hash>`.
 *
 * @example
 * ```ts
 * import { parseProtocolName } from "./protocol_name.ts";
 * const p = parseProtocolName("Noise_XX_25519_ChaChaPoly_BLAKE2s");
 * console.assert(p.pattern.name === "XX" && p.hash.name === "BLAKE2s" && p.cipher === "ChaChaPoly");
 * ```
 */
export interface Protocol {
  /** The full protocol name, as mixed into the handshake hash (§5.2). */
  readonly name: string;
  /** The handshake pattern with its modifiers applied. */
  readonly pattern: HandshakePattern;
  /** The cipher (§12.3 ChaChaPoly or §12.4 AESGCM). */
  readonly cipher: CipherName;
  /** The hash function. */
  readonly hash: NoiseHash;
}

/**
 * Parses `Noise_<pattern>_25519_<cipher>_<hash>` — the only DH this implementation offers
 * is 25519 (§12.1); the ciphers are ChaChaPoly (§12.3) and AESGCM (§12.4).
 *
 * @throws {NoiseError} `UNSUPPORTED_PROTOCOL` for anything else.
 * @example
 * ```ts
 * import { parseProtocolName } from "./protocol_name.ts";
 * console.assert(parseProtocolName("Noise_IKpsk2_25519_ChaChaPoly_SHA256").pattern.pskCount === 1);
 * console.assert(parseProtocolName("Noise_IK_25519_AESGCM_SHA256").cipher === "AESGCM");
 * ```
 */
export function parseProtocolName(name: string): Protocol {
  if (typeof name !== "string") {
    throw new NoiseError("UNSUPPORTED_PROTOCOL", `protocol name must be a string`);
  }
  const parts = name.split("_");
  if (parts.length !== 5 || parts[0] !== "Noise") {
    throw new NoiseError(
      "UNSUPPORTED_PROTOCOL",
      `protocol name "${name}" is not of the form Noise_<pattern>_<dh>_<cipher>_<hash>`,
    );
  }
  const [, patternName, dhName, cipherName, hashName] = parts;
  if (dhName !== "25519") {
    throw new NoiseError("UNSUPPORTED_PROTOCOL", `unsupported DH "${dhName}": expected 25519`);
  }
  if (cipherName !== "ChaChaPoly" && cipherName !== "AESGCM") {
    throw new NoiseError(
      "UNSUPPORTED_PROTOCOL",
      `unsupported cipher "${cipherName}": expected ChaChaPoly or AESGCM`,
    );
  }
  return Object.freeze({
    name,
    pattern: getPattern(patternName),
    cipher: cipherName,
    hash: getHash(hashName),
  });
}
