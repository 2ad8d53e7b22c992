/**
 * Encrypted shares between clinics, relayed by the server (Bonawitz et al., CCS 2017, Fig. 4,
 * round 1 "ShareKeys": c_{u,v} = AE.enc(KA.agree(c_u, c_v), u ‖ v ‖ shares)). The server must
 * neither read a share nor forge one, and a share must name its sender, recipient, round and
 * study. The sealed envelope of `crypto/seal/sealed_envelope.ts` (Noise `K`, sender-
 * authenticated by the sender's static key) gives all of that:
 *
 * - sender and recipient: the envelope header, authenticated by the handshake (`es`, `ss`);
 * - round: the header's epoch; study: the header's run, SHA-256 over a domain string and the
 *   study id ({@link secaggRun});
 * - the context `splitgate/secagg/share/v1` is mixed into the prologue, so a weight-relay
 *   envelope between the same clinics cannot pass for a share envelope, nor the reverse.
 *
 * Plaintext (32 · |U1| bytes): the sender's share of its self-mask seed b_u, then its share of
 * s_{u,v} for every other clinic v of the roster U1, in roster order.
 *
 * Refusals, each with its own code: a blob of another round (`SHARE_REPLAYED`, checked on the
 * header, then authenticated by the handshake), another study (`SHARE_WRONG_STUDY`), another
 * recipient (`SHARE_MISADDRESSED`), not sealed by the named sender (`SHARE_FORGED`), a sender
 * outside the roster (`UNKNOWN_CLINIC`), or the wrong shape (`SHARE_MALFORMED`).
 *
 * @example
 * ```ts
 * import { openShares, sealShares } from "./share_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const a = generateKeyPair(), b = generateKeyPair();
 * const blob = sealShares({ sender: a, from: "a", to: "b", recipientKey: b.publicKey, study: "s", round: 3,
 *   plaintext: new Uint8Array(64) });
 * const got = openShares({ recipient: b, to: "b", study: "s", round: 3, senderKey: () => a.publicKey,
 *   from: "a", blob, expectedLength: 64 });
 * console.log(got.length); // 64
 * ```
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { isNoiseError } from "../errors.ts";
import type { KeyPair } from "../noise/dh.ts";
import { openEnvelope, readEnvelopeHeader, sealEnvelope } from "../seal/sealed_envelope.ts";
import { SecAggError, type SecAggErrorCode } from "./secagg_error.ts";

const CONTEXT = new TextEncoder().encode("splitgate/secagg/share/v1");
const utf8 = new TextEncoder();

/**
 * The envelope run id of a study's secure aggregation: SHA-256("splitgate/secagg/run/v1" ‖ 0 ‖ study).
 *
 * @example
 * ```ts
 * import { secaggRun } from "./share_envelope.ts";
 * console.log(secaggRun("study-1").length); // 32
 * ```
 */
export function secaggRun(study: string): Uint8Array {
  const d = utf8.encode("splitgate/secagg/run/v1"), s = utf8.encode(study);
  const buf = new Uint8Array(d.length + 1 + s.length);
  buf.set(d, 0);
  buf.set(s, d.length + 1);
  return sha256(buf);
}

/**
 * What {@link sealShares} needs.
 *
 * @example
 * ```ts
 * import type { SealSharesInput } from "./share_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const i: SealSharesInput = { sender: generateKeyPair(), from: "a", to: "b",
 *   recipientKey: generateKeyPair().publicKey, study: "s", round: 0, plaintext: new Uint8Array(32) };
 * ```
 */
export interface SealSharesInput {
  sender: KeyPair;
  from: string;
  to: string;
  recipientKey: Uint8Array;
  study: string;
  round: number;
  plaintext: Uint8Array;
}

/**
 * Seals one clinic's shares for another (see the module notes).
 *
 * @throws {NoiseError} `ENVELOPE_INVALID` for a name that is not a key name or a round over u32
 * @example
 * ```ts
 * import { sealShares } from "./share_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const blob = sealShares({ sender: generateKeyPair(), from: "a", to: "b",
 *   recipientKey: generateKeyPair().publicKey, study: "s", round: 0, plaintext: new Uint8Array(32) });
 * console.log(blob.length); // 157 (61-byte header + 48 + 32 + 16)
 * ```
 */
export function sealShares(i: SealSharesInput): Uint8Array {
  return sealEnvelope({
    sender: i.sender,
    recipientPublicKey: i.recipientKey,
    header: { sender: i.from, recipient: i.to, run: secaggRun(i.study), epoch: i.round, seq: 0 },
    plaintext: i.plaintext,
    context: CONTEXT,
  });
}

/**
 * What {@link openShares} needs: the recipient's key pair and name, the round and study it is
 * in, the name the relay says sent the blob, the sender's key by name (this clinic's
 * allowlist), and the plaintext length the roster implies.
 *
 * @example
 * ```ts
 * import type { OpenSharesInput } from "./share_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const i: OpenSharesInput = { recipient: generateKeyPair(), to: "b", study: "s", round: 0,
 *   from: "a", senderKey: () => undefined, blob: new Uint8Array(0), expectedLength: 64 };
 * ```
 */
export interface OpenSharesInput {
  recipient: KeyPair;
  to: string;
  study: string;
  round: number;
  from: string;
  senderKey: (name: string) => Uint8Array | undefined;
  blob: Uint8Array;
  expectedLength: number;
}

const NOISE_TO_SECAGG: Readonly<Record<string, SecAggErrorCode>> = {
  ENVELOPE_INVALID: "SHARE_MALFORMED",
  WRONG_RECIPIENT: "SHARE_MISADDRESSED",
  WRONG_RUN: "SHARE_WRONG_STUDY",
  UNKNOWN_PEER: "UNKNOWN_CLINIC",
  BAD_TAG: "SHARE_FORGED",
  LOW_ORDER_POINT: "SHARE_FORGED",
};

function refuse(code: SecAggErrorCode, message: string, cause?: unknown): SecAggError {
  return new SecAggError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * Opens the shares `from` sealed for this clinic, refusing anything not sealed by `from` to
 * `to` in this round of this study (codes in the module notes).
 *
 * @throws {SecAggError} `SHARE_REPLAYED`, `SHARE_WRONG_STUDY`, `SHARE_MISADDRESSED`,
 *   `SHARE_FORGED`, `SHARE_MALFORMED`, `UNKNOWN_CLINIC`
 * @example
 * ```ts
 * import { openShares, sealShares } from "./share_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const a = generateKeyPair(), b = generateKeyPair();
 * const blob = sealShares({ sender: a, from: "a", to: "b", recipientKey: b.publicKey, study: "s", round: 3, plaintext: new Uint8Array(32) });
 * try {
 *   openShares({ recipient: b, to: "b", study: "s", round: 4, from: "a", senderKey: () => a.publicKey, blob, expectedLength: 32 });
 * } catch (e) {
 *   console.log((e as { code: string }).code); // SHARE_REPLAYED
 * }
 * ```
 */
export function openShares(i: OpenSharesInput): Uint8Array {
  let header;
  try {
    header = readEnvelopeHeader(i.blob).header;
  } catch (e) {
    throw refuse("SHARE_MALFORMED", `share envelope from ${i.from} does not parse`, e);
  }
  if (header.sender !== i.from) {
    throw refuse(
      "SHARE_FORGED",
      `envelope relayed as from ${i.from} names ${header.sender} as sender`,
    );
  }
  if (header.epoch !== i.round) {
    throw refuse(
      "SHARE_REPLAYED",
      `share envelope from ${i.from} is of round ${header.epoch}, not ${i.round}`,
    );
  }
  let opened;
  try {
    opened = openEnvelope({
      recipient: i.recipient,
      recipientName: i.to,
      run: secaggRun(i.study),
      senderKey: i.senderKey,
      blob: i.blob,
      context: CONTEXT,
    });
  } catch (e) {
    const code = isNoiseError(e) ? NOISE_TO_SECAGG[e.code] : undefined;
    if (code === undefined) throw e;
    throw refuse(code, `share envelope from ${i.from} refused: ${(e as Error).message}`, e);
  }
  if (opened.plaintext.length !== i.expectedLength) {
    opened.plaintext.fill(0);
    throw refuse(
      "SHARE_MALFORMED",
      `shares from ${i.from} are ${opened.plaintext.length} bytes; the roster implies ${i.expectedLength}`,
    );
  }
  return opened.plaintext;
}
