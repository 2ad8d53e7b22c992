/**
 * Sealing for one recipient:
 *
 * - `sealed_envelope.ts`: sender-authenticated envelopes (Noise `K`, a readable header that
 *   binds sender, recipient, run, epoch and sequence), used to relay a clinic's segment
 *   weights through the server to the next clinic: the server can neither read nor forge them;
 * - `sealed_box.ts`: anonymous sealed boxes (X25519 + HKDF-SHA256 + ChaCha20-Poly1305), which
 *   prove nothing about the sender; kept for callers that only need confidentiality.
 *
 * @example
 * ```ts
 * import { open, seal } from "./mod.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const next = generateKeyPair();
 * const box = seal(next.publicKey, new Uint8Array([1, 2, 3]));
 * console.log(open(next, box)); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 * @module
 */
export { open, seal, SEALED_BOX_INFO, SEALED_BOX_OVERHEAD } from "./sealed_box.ts";
export {
  ENVELOPE_CHUNK,
  ENVELOPE_PROTOCOL,
  ENVELOPE_VERSION,
  envelopeBodyLength,
  type EnvelopeHeader,
  openEnvelope,
  type OpenEnvelopeOptions,
  readEnvelopeHeader,
  runId,
  sealEnvelope,
  type SealEnvelopeOptions,
} from "./sealed_envelope.ts";
