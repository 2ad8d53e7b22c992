/**
 * The `crypto/` room: who may talk, and sealing what they say. No I/O, no tensors.
 *
 * - `noise/`: the Noise Protocol Framework, revision 34 (CipherState, SymmetricState,
 *   HandshakeState, patterns, the cacophony test-vector runner);
 * - `channel/`: splitgate's IK handshake and the secure channel of transport frames;
 * - `keys/`: static keys, key files, fingerprints, allowlists;
 * - `seal/`: sender-authenticated envelopes for relaying a clinic's weights through the server
 *   (and anonymous sealed boxes).
 * - `secagg/`: secure aggregation of the clinics' weights (Bonawitz et al. 2017): the server
 *   learns the sample-weighted average only (docs/design/secure_aggregation.md).
 *
 * Test seams (a channel starting at a high send counter) live in `channel/_testing.ts`,
 * which no face exports. See docs/design/transport.md.
 *
 * @example
 * ```ts
 * import { fingerprint, generateStaticKeyPair, NoiseError } from "./mod.ts";
 * console.log(/^([0-9a-f]{4}:){3}[0-9a-f]{4}$/.test(fingerprint(generateStaticKeyPair().publicKey))); // true
 * try {
 *   fingerprint(new Uint8Array(31));
 * } catch (e) {
 *   console.log(e instanceof NoiseError && e.code); // "INVALID_KEY"
 * }
 * ```
 *
 * @module
 */
export { isNoiseError, NoiseError, type NoiseErrorCode } from "./errors.ts";
export {
  BASE_PATTERNS,
  CIPHER_NAMES,
  type CipherBackend,
  type CipherName,
  type CipherReport,
  CipherState,
  describeNoiseCipher,
  dh,
  DHLEN,
  generateKeyPair,
  getHash,
  getNoiseCipher,
  getPattern,
  type HandshakeOptions,
  type HandshakePattern,
  type HandshakeResult,
  HandshakeState,
  type HashName,
  hkdf,
  isLowOrderPoint,
  KEYLEN,
  MAX_MESSAGE_LENGTH,
  MAX_NONCE,
  type NoiseCipher,
  type NoiseHash,
  parseProtocolName,
  type Protocol,
  PSK_LENGTH,
  runVector,
  runVectors,
  summarize,
  SymmetricState,
  TAGLEN,
  type Token,
  type VectorResult,
  type VectorSummary,
} from "./noise/mod.ts";
export {
  addAllowlistEntry,
  Allowlist,
  type AllowlistEntry,
  assertPrivateKeyMode,
  describePublicKey,
  fingerprint,
  generateStaticKeyPair,
  KEY_NAME_PATTERN,
  type KeyPair,
  keyPairFromSecretKey,
  keyToHex,
  type NamedKeyPair,
  type NamedPublicKey,
  parseAllowlist,
  parseHexKey,
  parsePrivateKeyFile,
  parsePublicKeyFile,
  PRIVATE_KEY_FILE_MODE,
  PRIVATE_KEY_FILE_TYPE,
  removeAllowlistEntry,
  serializeAllowlist,
  serializePrivateKeyFile,
  serializePublicKeyFile,
  validateKeyName,
} from "./keys/mod.ts";
export {
  CHANNEL_CIPHERS,
  CHANNEL_PROLOGUE,
  type ChannelCipher,
  type ChannelOptions,
  channelProtocolName,
  type ChannelStats,
  type CommonHandshakeOptions,
  DEFAULT_MAX_EPOCH_SKIP,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_REKEY_INTERVAL,
  DEFAULT_WINDOW_SIZE,
  FLAG_FINAL,
  FRAME_HEADER_LENGTH,
  FRAME_VERSION,
  type FrameHeader,
  type InitiatorHandshake,
  initiatorHandshake,
  type InitiatorHandshakeOptions,
  MAX_FRAME_SIZE_LIMIT,
  type Message,
  MESSAGE_TYPE_CLOSE,
  MessageOpener,
  openChunked,
  type OpenedFrame,
  Reassembler,
  type ResponderHandshake,
  responderHandshake,
  type ResponderHandshakeOptions,
  sealChunked,
  sealFrames,
  SecureChannel,
  type SecureChannelInit,
  SESSION_ID_LENGTH,
  TAI64N_BYTES,
  Tai64nClock,
  compareTai64n,
  tai64nFromMs,
  tai64nToMs,
} from "./channel/mod.ts";
export {
  ENVELOPE_CHUNK,
  ENVELOPE_PROTOCOL,
  ENVELOPE_VERSION,
  envelopeBodyLength,
  type EnvelopeHeader,
  open,
  openEnvelope,
  type OpenEnvelopeOptions,
  readEnvelopeHeader,
  runId,
  seal,
  SEALED_BOX_INFO,
  SEALED_BOX_OVERHEAD,
  sealEnvelope,
  type SealEnvelopeOptions,
} from "./seal/mod.ts";
export {
  DEFAULT_FIXED_POINT,
  type FixedPointParams,
  isSecAggError,
  maxClinics,
  SECAGG_ERROR_CODES,
  SecAggClient,
  type SecAggClientOptions,
  SecAggError,
  type SecAggErrorCode,
  type SecAggMessage,
  type SecAggResult,
  SecAggServer,
  type SecAggServerOptions,
} from "./secagg/mod.ts";
export {
  checkIdentifiers,
  hashIdentifier,
  type IdentifierFormat,
  PSI_DST,
  PsiParty,
  type PsiOptions,
  type PsiResult,
  type PsiReveal,
} from "./psi/mod.ts";
