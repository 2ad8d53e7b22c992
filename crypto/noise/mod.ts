/**
 * The Noise Protocol Framework, revision 34, for `Noise_*_25519_ChaChaPoly_*` and
 * `Noise_*_25519_AESGCM_*` (each cipher from `@noble/ciphers` or, for transport messages,
 * `node:crypto`):
 * CipherState (§5.1), SymmetricState (§5.2), HandshakeState (§5.3), the
 * one-way, interactive and deferred patterns with psk modifiers (§7, §9, §18),
 * and a test-vector runner.
 *
 * @example
 * ```ts
 * import { generateKeyPair, HandshakeState } from "./mod.ts";
 * const protocolName = "Noise_NN_25519_ChaChaPoly_SHA256";
 * const alice = new HandshakeState({ protocolName, initiator: true });
 * const bob = new HandshakeState({ protocolName, initiator: false });
 * bob.readMessage(alice.writeMessage(new Uint8Array(0)));
 * alice.readMessage(bob.writeMessage(new Uint8Array(0)));
 * const a = alice.split(), b = bob.split();
 * const sealed = a.send!.encryptWithAd(new Uint8Array(0), new TextEncoder().encode("hi"));
 * console.log(new TextDecoder().decode(b.receive!.decryptWithAd(new Uint8Array(0), sealed))); // "hi"
 * console.log(generateKeyPair().publicKey.length); // 32
 * ```
 *
 * @module
 */
export { CipherState, KEYLEN, MAX_NONCE, TAGLEN } from "./cipher_state.ts";
export {
  CIPHER_NAMES,
  type CipherBackend,
  type CipherName,
  type NoiseCipher,
} from "./cipher_functions.ts";
export { type CipherReport, describeNoiseCipher, getNoiseCipher } from "./cipher_select.ts";
export { dh, DHLEN, generateKeyPair, isLowOrderPoint, type KeyPair } from "./dh.ts";
export {
  type HandshakeOptions,
  type HandshakeResult,
  HandshakeState,
  MAX_MESSAGE_LENGTH,
  PSK_LENGTH,
} from "./handshake_state.ts";
export { getHash, type HashName, hkdf, type NoiseHash } from "./hash.ts";
export { BASE_PATTERNS, getPattern, type HandshakePattern, type Token } from "./patterns.ts";
export { parseProtocolName, type Protocol } from "./protocol_name.ts";
export { SymmetricState } from "./symmetric_state.ts";
export {
  runVector,
  runVectors,
  summarize,
  type VectorResult,
  type VectorSummary,
} from "./vectors.ts";
