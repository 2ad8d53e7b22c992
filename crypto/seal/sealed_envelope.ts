/**
 * Sealed envelopes: sender-authenticated one-way encryption to one recipient, for relaying a
 * clinic's weights through a server that must neither read nor forge, substitute or roll them
 * back. The anonymous sealed box (`sealed_box.ts`) proves nothing about who sealed: anyone
 * holding the recipient's public key (the server does) can make one. Here the sender's static
 * key takes part in the key agreement, with the one-way Noise pattern `K` (Noise rev 34 §7.4):
 *
 * ```
 * K:  -> s          (pre-message: the recipient knows the sender's static key, from its peers file)
 *     <- s          (pre-message: the sender knows the recipient's static key)
 *     ...
 *     -> e, es, ss  (the one handshake message; "ss" is what only the real sender can compute)
 * ```
 *
 * with `Noise_K_25519_ChaChaPoly_SHA256`, whose cacophony vectors pass with
 * `crypto/noise/vectors.ts` (tests/fixtures/vectors/noise-25519-chachapoly.json).
 *
 * Wire format, version 2 (version 1 was the headerless anonymous box); integers big-endian:
 *
 * ```
 * offset  size  field
 * 0       4     magic "SGWE"
 * 4       1     version = 2
 * 5       1     sender name length s (1..64), then s bytes of sender name (a key name)
 * ..      1     recipient name length r (1..64), then r bytes of recipient name
 * ..      32    run id (runId(): SHA-256 over the server's static key and a run label)
 * ..      4     epoch (u32)
 * ..      8     seq (u64, at most 2^53 - 1)
 * ..      8     plaintext length P (u64, at most 2^53 - 1)
 * header  = everything above (59 + s + r bytes)
 * body    = Noise K message 1: e (32) || tag (16) of the empty payload           (48 bytes)
 *           || transport messages: P split into chunks of 65519 bytes, each
 *              ChaCha20-Poly1305 with the split() cipher, nonces 0, 1, …          (P + 16·⌈P/65519⌉)
 * ```
 *
 * The Noise prologue (§6) is `header || context`, so every header field (sender, recipient,
 * run, epoch, seq, size) and the caller's context (e.g. the split mode) is authenticated by
 * the handshake tag: change one bit and the recipient refuses with `BAD_TAG`. Transport
 * messages are at most 65535 bytes (§3), hence the chunks; their implicit nonces refuse
 * reordering, and the authenticated length refuses truncation. The header is readable by the
 * relay, so it can check an envelope's shape (`readEnvelopeHeader`) before storing it.
 *
 * What the recipient must still do: keep the last accepted (epoch, seq) per sender and refuse
 * anything not newer (no rollback); this module has no memory.
 *
 * @example
 * ```ts
 * import { openEnvelope, runId, sealEnvelope } from "./sealed_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const a = generateKeyPair(), b = generateKeyPair();
 * const run = runId(generateKeyPair().publicKey);
 * const blob = sealEnvelope({ sender: a, recipientPublicKey: b.publicKey,
 *   header: { sender: "clinic-a", recipient: "clinic-b", run, epoch: 0, seq: 1 }, plaintext: Uint8Array.of(7) });
 * const got = openEnvelope({ recipient: b, recipientName: "clinic-b", run, senderKey: () => a.publicKey, blob });
 * console.log(got.header.sender, got.plaintext); // clinic-a Uint8Array(1) [ 7 ]
 * ```
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { equalBytes } from "@noble/ciphers/utils.js";
import { NoiseError } from "../errors.ts";
import { KEY_NAME_PATTERN } from "../keys/key_name.ts";
import { DHLEN, type KeyPair } from "../noise/dh.ts";
import { HandshakeState, MAX_MESSAGE_LENGTH } from "../noise/handshake_state.ts";
import { TAGLEN } from "../noise/cipher_state.ts";

/** The Noise protocol of envelope version 2 (one-way pattern K, §7.4). */
export const ENVELOPE_PROTOCOL = "Noise_K_25519_ChaChaPoly_SHA256";
/** The envelope format version this module writes and reads. */
export const ENVELOPE_VERSION = 2;
/** Plaintext bytes per transport message: the 65535-byte Noise message limit (§3) less the tag. */
export const ENVELOPE_CHUNK = MAX_MESSAGE_LENGTH - TAGLEN;

const MAGIC = new TextEncoder().encode("SGWE");
const RUN_LENGTH = 32;
const HANDSHAKE_LENGTH = DHLEN + TAGLEN;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/**
 * The readable header of an envelope: who sealed it to whom, for which run, epoch and sequence
 * number, and how long the plaintext is. Authenticated by the handshake, not by itself.
 *
 * @example
 * ```ts
 * import type { EnvelopeHeader } from "./sealed_envelope.ts";
 * const h: EnvelopeHeader = { version: 2, sender: "clinic-a", recipient: "clinic-b",
 *   run: new Uint8Array(32), epoch: 3, seq: 7, plaintextLength: 1024 };
 * ```
 */
export interface EnvelopeHeader {
  readonly version: number;
  readonly sender: string;
  readonly recipient: string;
  /** 32 bytes (see {@linkcode runId}). */
  readonly run: Uint8Array;
  /** The sender's round when it sealed (u32). */
  readonly epoch: number;
  /** The sender's sealing counter: increases with every envelope it seals (safe integer). */
  readonly seq: number;
  readonly plaintextLength: number;
}

/**
 * The run id that binds envelopes to one training run: SHA-256 of a domain string, the
 * server's static public key and an optional run label (a study id), so a blob of another
 * server's run, or of another labelled run on the same server, does not open.
 *
 * @example
 * ```ts
 * import { runId } from "./sealed_envelope.ts";
 * console.log(runId(new Uint8Array(32), "study-1").length); // 32
 * ```
 */
export function runId(serverPublicKey: Uint8Array, label = ""): Uint8Array {
  if (!(serverPublicKey instanceof Uint8Array) || serverPublicKey.length !== DHLEN) {
    throw new NoiseError("INVALID_KEY", `server public key must be ${DHLEN} bytes`);
  }
  const l = utf8.encode(label);
  const d = utf8.encode("splitgate/run/v1");
  const buf = new Uint8Array(d.length + 1 + DHLEN + l.length);
  buf.set(d, 0);
  buf.set(serverPublicKey, d.length + 1);
  buf.set(l, d.length + 1 + DHLEN);
  return sha256(buf);
}

/**
 * The body length of an envelope whose plaintext is `plaintextLength` bytes.
 *
 * @example
 * ```ts
 * import { envelopeBodyLength } from "./sealed_envelope.ts";
 * console.log(envelopeBodyLength(0), envelopeBodyLength(10)); // 48 74
 * ```
 */
export function envelopeBodyLength(plaintextLength: number): number {
  return HANDSHAKE_LENGTH + plaintextLength + TAGLEN * Math.ceil(plaintextLength / ENVELOPE_CHUNK);
}

function bad(message: string): NoiseError {
  return new NoiseError("ENVELOPE_INVALID", message);
}

function checkName(name: string, field: string): Uint8Array {
  if (typeof name !== "string" || !KEY_NAME_PATTERN.test(name)) {
    throw bad(`${field} ${JSON.stringify(name)} is not a key name (${KEY_NAME_PATTERN})`);
  }
  return utf8.encode(name);
}

function checkCount(v: number, field: string, max: number): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > max) {
    throw bad(`${field} ${v} is not an integer in [0, ${max}]`);
  }
}

function encodeHeader(h: Omit<EnvelopeHeader, "version">): Uint8Array {
  const s = checkName(h.sender, "sender"), r = checkName(h.recipient, "recipient");
  if (!(h.run instanceof Uint8Array) || h.run.length !== RUN_LENGTH) {
    throw bad(`run must be ${RUN_LENGTH} bytes`);
  }
  checkCount(h.epoch, "epoch", 0xffff_ffff);
  checkCount(h.seq, "seq", Number.MAX_SAFE_INTEGER);
  checkCount(h.plaintextLength, "plaintext length", Number.MAX_SAFE_INTEGER);
  const out = new Uint8Array(4 + 1 + 1 + s.length + 1 + r.length + RUN_LENGTH + 4 + 8 + 8);
  const v = new DataView(out.buffer);
  let o = 0;
  out.set(MAGIC, o), o += 4;
  out[o++] = ENVELOPE_VERSION;
  out[o++] = s.length, out.set(s, o), o += s.length;
  out[o++] = r.length, out.set(r, o), o += r.length;
  out.set(h.run, o), o += RUN_LENGTH;
  v.setUint32(o, h.epoch), o += 4;
  v.setBigUint64(o, BigInt(h.seq)), o += 8;
  v.setBigUint64(o, BigInt(h.plaintextLength));
  return out;
}

/** Reads one length-prefixed key name at `o`; returns it and the offset after it. */
function readName(blob: Uint8Array, o: number, field: string): [string, number] {
  if (o >= blob.length) throw bad(`envelope ends before its ${field} name`);
  const n = blob[o];
  if (n < 1 || o + 1 + n > blob.length) {
    throw bad(`${field} name length ${n} does not fit the envelope`);
  }
  let name: string;
  try {
    name = utf8Strict.decode(blob.subarray(o + 1, o + 1 + n));
  } catch {
    throw bad(`${field} name is not UTF-8`);
  }
  if (!KEY_NAME_PATTERN.test(name)) throw bad(`${field} ${JSON.stringify(name)} is not a key name`);
  return [name, o + 1 + n];
}

/**
 * Parses and checks an envelope's header and sizes, without any key: magic, version, names,
 * and that the blob is exactly header + the body its plaintext length implies. What a relay
 * checks before storing a blob; authenticity is only established by {@linkcode openEnvelope}.
 *
 * @throws {NoiseError} `ENVELOPE_INVALID` naming the field that does not check
 * @example
 * ```ts
 * import { readEnvelopeHeader } from "./sealed_envelope.ts";
 * try {
 *   readEnvelopeHeader(new Uint8Array(100));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // ENVELOPE_INVALID
 * }
 * ```
 */
export function readEnvelopeHeader(
  blob: Uint8Array,
): { header: EnvelopeHeader; headerLength: number } {
  if (!(blob instanceof Uint8Array)) throw new TypeError("envelope must be a Uint8Array");
  if (blob.length < 5 || !equalBytes(blob.subarray(0, 4), MAGIC)) {
    throw bad("not a sealed envelope (no SGWE magic)");
  }
  if (blob[4] !== ENVELOPE_VERSION) {
    throw bad(`envelope version ${blob[4]}; expected ${ENVELOPE_VERSION}`);
  }
  const [sender, o1] = readName(blob, 5, "sender");
  const [recipient, o2] = readName(blob, o1, "recipient");
  const headerLength = o2 + RUN_LENGTH + 4 + 8 + 8;
  if (blob.length < headerLength) {
    throw bad(`envelope of ${blob.length} bytes ends inside its ${headerLength}-byte header`);
  }
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const run = blob.slice(o2, o2 + RUN_LENGTH);
  const o = o2 + RUN_LENGTH;
  const epoch = v.getUint32(o);
  const seq = v.getBigUint64(o + 4), len = v.getBigUint64(o + 12);
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`seq ${seq} exceeds 2^53 - 1`);
  if (len > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`plaintext length ${len} exceeds 2^53 - 1`);
  const plaintextLength = Number(len);
  const want = headerLength + envelopeBodyLength(plaintextLength);
  if (blob.length !== want) {
    throw bad(
      `envelope is ${blob.length} bytes; its header (plaintext ${plaintextLength} bytes) implies ${want}`,
    );
  }
  const header = {
    version: ENVELOPE_VERSION,
    sender,
    recipient,
    run,
    epoch,
    seq: Number(seq),
    plaintextLength,
  };
  return { header, headerLength };
}

function prologue(header: Uint8Array, context: Uint8Array | undefined): Uint8Array {
  if (context === undefined) return header;
  const p = new Uint8Array(header.length + context.length);
  p.set(header, 0);
  p.set(context, header.length);
  return p;
}

/**
 * What {@linkcode sealEnvelope} needs: the sender's static key pair, the recipient's public
 * key, the header fields, the plaintext and an optional context bound like AAD.
 *
 * @example
 * ```ts
 * import type { SealEnvelopeOptions } from "./sealed_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const o: SealEnvelopeOptions = { sender: generateKeyPair(), recipientPublicKey: generateKeyPair().publicKey,
 *   header: { sender: "a", recipient: "b", run: new Uint8Array(32), epoch: 0, seq: 0 }, plaintext: new Uint8Array(0) };
 * ```
 */
export interface SealEnvelopeOptions {
  sender: KeyPair;
  recipientPublicKey: Uint8Array;
  header: Omit<EnvelopeHeader, "version" | "plaintextLength">;
  plaintext: Uint8Array;
  /** Authenticated but not sent (mixed into the prologue); `openEnvelope` needs the same bytes. */
  context?: Uint8Array;
}

/**
 * Seals `plaintext` from `sender` to the recipient (Noise K, see the module notes). A fresh
 * ephemeral key per envelope; secrets are wiped when done.
 *
 * @throws {NoiseError} `ENVELOPE_INVALID` for a header field out of range, `INVALID_KEY`,
 *   `LOW_ORDER_POINT` for a low-order recipient key
 * @example
 * ```ts
 * import { sealEnvelope } from "./sealed_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const blob = sealEnvelope({ sender: generateKeyPair(), recipientPublicKey: generateKeyPair().publicKey,
 *   header: { sender: "a", recipient: "b", run: new Uint8Array(32), epoch: 0, seq: 0 }, plaintext: new Uint8Array(10) });
 * console.log(blob.length); // 135 (61-byte header + 48 + 10 + 16)
 * ```
 */
export function sealEnvelope(o: SealEnvelopeOptions): Uint8Array {
  const { plaintext } = o;
  if (!(plaintext instanceof Uint8Array)) throw new TypeError("plaintext must be a Uint8Array");
  const header = encodeHeader({ ...o.header, plaintextLength: plaintext.length });
  const hs = new HandshakeState({
    protocolName: ENVELOPE_PROTOCOL,
    initiator: true,
    prologue: prologue(header, o.context),
    staticKeyPair: o.sender,
    remoteStaticKey: o.recipientPublicKey,
  });
  try {
    const first = hs.writeMessage(EMPTY);
    const send = hs.split().send!;
    const out = new Uint8Array(header.length + envelopeBodyLength(plaintext.length));
    out.set(header, 0);
    out.set(first, header.length);
    let w = header.length + first.length;
    try {
      for (let i = 0; i < plaintext.length; i += ENVELOPE_CHUNK) {
        const ct = send.encryptWithAd(EMPTY, plaintext.subarray(i, i + ENVELOPE_CHUNK));
        out.set(ct, w);
        w += ct.length;
      }
    } finally {
      send.destroy();
    }
    return out;
  } finally {
    hs.destroy();
  }
}

/**
 * What {@linkcode openEnvelope} needs: the recipient's key pair and name, the run it is in,
 * the sender's key by name (its peers file), the blob, and the context given to `seal`.
 *
 * @example
 * ```ts
 * import type { OpenEnvelopeOptions } from "./sealed_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const peers = new Map([["clinic-a", generateKeyPair().publicKey]]);
 * const o: OpenEnvelopeOptions = { recipient: generateKeyPair(), recipientName: "clinic-b",
 *   run: new Uint8Array(32), senderKey: (n) => peers.get(n), blob: new Uint8Array(0) };
 * ```
 */
export interface OpenEnvelopeOptions {
  recipient: KeyPair;
  recipientName: string;
  /** The run this recipient is in (32 bytes, {@linkcode runId}). */
  run: Uint8Array;
  /** The static public key of a named sender, undefined for a stranger. */
  senderKey: (name: string) => Uint8Array | undefined;
  blob: Uint8Array;
  context?: Uint8Array;
}

/**
 * Opens an envelope: checks its header, that it is addressed to this recipient and run and
 * comes from a known sender, then runs the Noise K handshake with that sender's key (which
 * authenticates the sender and the whole header) and decrypts every chunk. Nothing is
 * returned unless everything authenticates; the caller then checks (epoch, seq) freshness.
 *
 * @throws {NoiseError} `ENVELOPE_INVALID` (shape), `WRONG_RECIPIENT`, `WRONG_RUN`,
 *   `UNKNOWN_PEER` (a sender without a key), `BAD_TAG` (not sealed by that sender's key, to
 *   this key, with this header and context: one vague message for all), `LOW_ORDER_POINT`
 * @example
 * ```ts
 * import { openEnvelope, sealEnvelope } from "./sealed_envelope.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const a = generateKeyPair(), b = generateKeyPair(), run = new Uint8Array(32);
 * const blob = sealEnvelope({ sender: a, recipientPublicKey: b.publicKey,
 *   header: { sender: "a", recipient: "b", run, epoch: 0, seq: 0 }, plaintext: new Uint8Array(0) });
 * try {
 *   openEnvelope({ recipient: b, recipientName: "b", run, senderKey: () => generateKeyPair().publicKey, blob });
 * } catch (e) {
 *   console.log((e as { code: string }).code); // BAD_TAG
 * }
 * ```
 */
export function openEnvelope(
  o: OpenEnvelopeOptions,
): { header: EnvelopeHeader; plaintext: Uint8Array } {
  const { blob } = o;
  const { header, headerLength } = readEnvelopeHeader(blob);
  if (header.recipient !== o.recipientName) {
    throw new NoiseError(
      "WRONG_RECIPIENT",
      `envelope is addressed to ${header.recipient}, not ${o.recipientName}`,
    );
  }
  if (!equalBytes(header.run, o.run)) {
    throw new NoiseError(
      "WRONG_RUN",
      `envelope from ${header.sender} belongs to another run (another server key or run label)`,
    );
  }
  const senderKey = o.senderKey(header.sender);
  if (senderKey === undefined) {
    throw new NoiseError(
      "UNKNOWN_PEER",
      `envelope sender ${header.sender} is not in the peers file`,
    );
  }
  const hs = new HandshakeState({
    protocolName: ENVELOPE_PROTOCOL,
    initiator: false,
    prologue: prologue(blob.subarray(0, headerLength), o.context),
    staticKeyPair: o.recipient,
    remoteStaticKey: senderKey,
  });
  const plaintext = new Uint8Array(header.plaintextLength);
  try {
    hs.readMessage(blob.subarray(headerLength, headerLength + HANDSHAKE_LENGTH));
    const receive = hs.split().receive!;
    try {
      let r = headerLength + HANDSHAKE_LENGTH;
      for (let i = 0; i < plaintext.length; i += ENVELOPE_CHUNK) {
        const n = Math.min(ENVELOPE_CHUNK, plaintext.length - i) + TAGLEN;
        plaintext.set(receive.decryptWithAd(EMPTY, blob.subarray(r, r + n)), i);
        r += n;
      }
    } finally {
      receive.destroy();
    }
    return { header, plaintext };
  } catch (e) {
    plaintext.fill(0); // no partly decrypted weights survive a failure
    throw e;
  } finally {
    hs.destroy();
  }
}
