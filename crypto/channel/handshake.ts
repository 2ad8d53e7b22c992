/**
 * The splitgate channel handshake: Noise IK (or IKpsk2 with a consortium
 * pre-shared key), clinic = initiator, server = responder. Pure: message
 * bytes in, message bytes out; the transport is the caller's business.
 *
 * Why IK (Noise rev 34 §7.5): the clinic knows the server's static key in
 * advance, so one round trip authenticates both sides and transmits the
 * clinic's static key encrypted. The first IK message's payload has no
 * forward secrecy and can be replayed (§7.7 payload security properties:
 * source 1, destination 2), so this helper forbids application data in
 * both handshake messages; application data flows only through the
 * SecureChannel afterwards. Message 1's payload is exactly a 12-byte TAI64N
 * timestamp (`./tai64n.ts`), WireGuard's answer to that replayability
 * (WireGuard paper §5.1): encrypted to the server's static key and
 * authenticated by the "ss" DH, it lets the server refuse a message 1 that
 * is not newer than the last one it accepted from the same clinic key.
 *
 * @module
 */
import { NoiseError } from "../errors.ts";
import type { CipherBackend, CipherName } from "../noise/cipher_functions.ts";
import type { KeyPair } from "../noise/dh.ts";
import { HandshakeState } from "../noise/handshake_state.ts";
import type { HashName } from "../noise/hash.ts";
import { type ChannelOptions, SecureChannel } from "./secure_channel.ts";
import { TAI64N_BYTES, Tai64nClock } from "./tai64n.ts";

/** The clock of message 1 timestamps when the caller gives none: one per process. */
const PROCESS_CLOCK = new Tai64nClock();

/** Fixed prologue prefix (§6): binds the handshake to this application and version. */
export const CHANNEL_PROLOGUE = "splitgate/channel/v1";

/**
 * The channel's cipher as configured (`cipher` in the server and clinic configs), and its
 * protocol-name spelling: `chachapoly` → `ChaChaPoly` (Noise rev 34 §12.3), `aesgcm` →
 * `AESGCM` (§12.4).
 *
 * @example
 * ```ts
 * import type { ChannelCipher } from "./handshake.ts";
 * const c: ChannelCipher = "aesgcm";
 * ```
 */
export type ChannelCipher = "chachapoly" | "aesgcm";

/**
 * The protocol-name spelling of each {@link ChannelCipher}.
 *
 * @example
 * ```ts
 * import { CHANNEL_CIPHERS } from "./handshake.ts";
 * console.log(CHANNEL_CIPHERS.aesgcm); // "AESGCM"
 * ```
 */
export const CHANNEL_CIPHERS: Readonly<Record<ChannelCipher, CipherName>> = Object.freeze({
  chachapoly: "ChaChaPoly",
  aesgcm: "AESGCM",
});

/**
 * The Noise protocol name of the channel for a cipher, psk setting and hash: both ends
 * agree on all three through it, because it is the first input of the handshake hash (§5.2).
 *
 * @example
 * ```ts
 * import { channelProtocolName } from "./handshake.ts";
 * console.log(channelProtocolName({ cipher: "aesgcm" })); // "Noise_IK_25519_AESGCM_SHA256"
 * ```
 */
export function channelProtocolName(o: CommonHandshakeOptions): string {
  const cipher = o.cipher ?? "chachapoly";
  if (!Object.hasOwn(CHANNEL_CIPHERS, cipher)) {
    throw new TypeError(`cipher must be "chachapoly" or "aesgcm", got ${JSON.stringify(cipher)}`);
  }
  return `Noise_${o.psk ? "IKpsk2" : "IK"}_25519_${CHANNEL_CIPHERS[cipher]}_${o.hash ?? "SHA256"}`;
}

/**
 * Options shared by both sides; both must agree on `psk`, `hash`, `cipher` and `prologue`.
 *
 * @example
 * ```ts
 * import type { CommonHandshakeOptions } from "./handshake.ts";
 * const o: CommonHandshakeOptions = { hash: "BLAKE2s" };
 * ```
 */
export interface CommonHandshakeOptions {
  /** Consortium pre-shared key (32 bytes): switches to IKpsk2 (§9). */
  psk?: Uint8Array;
  /** Hash function. Default `"SHA256"`. */
  hash?: HashName;
  /** Cipher of handshake and frames. Default `"chachapoly"`. */
  cipher?: ChannelCipher;
  /**
   * Implementation of the cipher for transport frames: `"native"` (default, `node:crypto`;
   * `@noble/ciphers` with a warning on stderr where the native one fails its self-test) or
   * `"noble"`. Local only: it does not change a byte on the wire.
   */
  transport?: CipherBackend;
  /** Extra prologue bytes appended to {@link CHANNEL_PROLOGUE} (e.g. a deployment id). */
  prologue?: Uint8Array;
  /** Options of the resulting {@link SecureChannel}. */
  channel?: ChannelOptions;
}

/**
 * Options of the clinic (initiator) side.
 *
 * @example
 * ```ts
 * import type { InitiatorHandshakeOptions } from "./handshake.ts";
 * import { generateStaticKeyPair } from "../keys/key_pair.ts";
 * const o: InitiatorHandshakeOptions = {
 *   staticKeyPair: generateStaticKeyPair(), serverPublicKey: generateStaticKeyPair().publicKey };
 * ```
 */
export interface InitiatorHandshakeOptions extends CommonHandshakeOptions {
  /** The clinic's static key pair. */
  staticKeyPair: KeyPair;
  /** The server's static public key, pinned in advance. */
  serverPublicKey: Uint8Array;
  /**
   * Message 1's TAI64N timestamp (12 bytes; `Tai64nClock.next()`). Default: the process's
   * own strictly increasing clock over `Date.now()`.
   */
  timestamp?: Uint8Array;
}

/**
 * Options of the server (responder) side.
 *
 * @example
 * ```ts
 * import type { ResponderHandshakeOptions } from "./handshake.ts";
 * import { Allowlist } from "../keys/allowlist.ts";
 * import { generateStaticKeyPair } from "../keys/key_pair.ts";
 * const allow = new Allowlist([]);
 * const o: ResponderHandshakeOptions = {
 *   staticKeyPair: generateStaticKeyPair(), lookupPeer: (k) => allow.lookup(k) };
 * ```
 */
export interface ResponderHandshakeOptions extends CommonHandshakeOptions {
  /** The server's static key pair. */
  staticKeyPair: KeyPair;
  /**
   * Maps the clinic's authenticated static key to its identity, or
   * `undefined`/`null` for an unknown clinic (e.g. `allowlist.lookup`).
   */
  lookupPeer: (publicKey: Uint8Array) => { readonly name: string } | null | undefined;
}

/**
 * The clinic's side between sending message 1 and receiving message 2.
 *
 * @example
 * ```ts
 * import type { InitiatorHandshake } from "./handshake.ts";
 * function first(h: InitiatorHandshake) { return h.message1; }
 * ```
 */
export interface InitiatorHandshake {
  /** Handshake message 1 (→ e, es, s, ss [, psk]) to send to the server. */
  readonly message1: Uint8Array;
  /**
   * Processes the server's message 2 and returns the established channel.
   *
   * @throws {NoiseError} `BAD_TAG` (wrong server key, tampering, or a psk mismatch),
   *   `MALFORMED_MESSAGE`, `LOW_ORDER_POINT`, `UNEXPECTED_PAYLOAD`, `INVALID_STATE`.
   */
  finish(message2: Uint8Array): SecureChannel;
}

/**
 * The server's side after a successful message 1.
 *
 * @example
 * ```ts
 * import type { ResponderHandshake } from "./handshake.ts";
 * function who(h: ResponderHandshake) { return h.peerName; }
 * ```
 */
export interface ResponderHandshake {
  /** Handshake message 2 (← e, ee, se [, psk]) to return to the clinic. */
  readonly message2: Uint8Array;
  /** The established channel (usable once message 2 is delivered). */
  readonly channel: SecureChannel;
  /** The clinic's name from `lookupPeer`. */
  readonly peerName: string;
  /** The clinic's authenticated static public key. */
  readonly peerPublicKey: Uint8Array;
  /**
   * Message 1's authenticated TAI64N timestamp. The caller refuses the handshake (and
   * destroys `channel`) when it is not greater than the last one it accepted from
   * `peerPublicKey`: that is what makes a replayed message 1 useless.
   */
  readonly timestamp: Uint8Array;
}

function prologue(o: CommonHandshakeOptions): Uint8Array {
  const base = new TextEncoder().encode(CHANNEL_PROLOGUE);
  const extra = o.prologue ?? new Uint8Array(0);
  const out = new Uint8Array(base.length + extra.length);
  out.set(base);
  out.set(extra, base.length);
  return out;
}

function requireTimestamp(payload: Uint8Array): Uint8Array {
  if (payload.length !== TAI64N_BYTES) {
    throw new NoiseError(
      "UNEXPECTED_PAYLOAD",
      `handshake message 1 carries ${payload.length} payload bytes; expected a ${TAI64N_BYTES}-byte TAI64N ` +
        "timestamp (a gateway older than the server sends none)",
    );
  }
  return payload;
}

function requireEmpty(payload: Uint8Array, which: string): void {
  if (payload.length !== 0) {
    throw new NoiseError(
      "UNEXPECTED_PAYLOAD",
      `${which} carries ${payload.length} payload bytes; handshake payloads must be empty`,
    );
  }
}

/**
 * Starts the clinic's side: builds message 1, whose payload is the TAI64N timestamp.
 *
 * @throws {NoiseError} `INVALID_KEY`, `LOW_ORDER_POINT` (a low-order server key).
 * @throws {RangeError} a `timestamp` that is not 12 bytes.
 * @example
 * ```ts
 * import { initiatorHandshake } from "./handshake.ts";
 * import { generateStaticKeyPair } from "../keys/key_pair.ts";
 * const hs = initiatorHandshake({
 *   staticKeyPair: generateStaticKeyPair(), serverPublicKey: generateStaticKeyPair().publicKey });
 * console.assert(hs.message1.length === 32 + 48 + 12 + 16);
 * ```
 */
export function initiatorHandshake(options: InitiatorHandshakeOptions): InitiatorHandshake {
  const hs = new HandshakeState({
    protocolName: channelProtocolName(options),
    initiator: true,
    transport: options.transport,
    prologue: prologue(options),
    staticKeyPair: options.staticKeyPair,
    remoteStaticKey: options.serverPublicKey,
    psks: options.psk ? [options.psk] : [],
  });
  const timestamp = options.timestamp ?? PROCESS_CLOCK.next();
  if (timestamp.length !== TAI64N_BYTES) {
    hs.destroy();
    throw new RangeError(`timestamp of ${timestamp.length} bytes: expected a ${TAI64N_BYTES}-byte TAI64N label`);
  }
  const message1 = hs.writeMessage(timestamp);
  return {
    message1,
    finish(message2: Uint8Array): SecureChannel {
      let payload: Uint8Array;
      try {
        payload = hs.readMessage(message2);
        requireEmpty(payload, "handshake message 2");
      } catch (e) {
        hs.destroy();
        throw e;
      }
      const r = hs.split();
      return new SecureChannel({
        initiator: true,
        send: r.send!,
        receive: r.receive!,
        handshakeHash: r.handshakeHash,
        remoteStaticKey: r.remoteStaticKey,
        options: options.channel,
      });
    },
  };
}

/**
 * The server's side: reads message 1, checks the clinic's static key with
 * `lookupPeer`, and answers with message 2 and a ready channel.
 *
 * The lookup happens only after message 1's payload tag verified, i.e.
 * after the "ss" DH proved the clinic holds the static secret key.
 *
 * @throws {NoiseError} `UNKNOWN_PEER` (key not in the allowlist), `BAD_TAG`
 *   (clinic used a wrong server key, tampering, psk mismatch), `MALFORMED_MESSAGE`,
 *   `MESSAGE_TOO_LARGE`, `LOW_ORDER_POINT`, `UNEXPECTED_PAYLOAD` (message 1's payload is
 *   not a 12-byte timestamp).
 * @example
 * ```ts
 * import { initiatorHandshake, responderHandshake } from "./handshake.ts";
 * import { generateStaticKeyPair } from "../keys/key_pair.ts";
 * const server = generateStaticKeyPair();
 * const hs = initiatorHandshake({ staticKeyPair: generateStaticKeyPair(), serverPublicKey: server.publicKey });
 * try {
 *   responderHandshake({ staticKeyPair: server, lookupPeer: () => undefined }, hs.message1);
 * } catch (e) {
 *   console.assert((e as { code: string }).code === "UNKNOWN_PEER");
 * }
 * ```
 */
export function responderHandshake(
  options: ResponderHandshakeOptions,
  message1: Uint8Array,
): ResponderHandshake {
  const hs = new HandshakeState({
    protocolName: channelProtocolName(options),
    initiator: false,
    transport: options.transport,
    prologue: prologue(options),
    staticKeyPair: options.staticKeyPair,
    psks: options.psk ? [options.psk] : [],
  });
  try {
    const timestamp = requireTimestamp(hs.readMessage(message1));
    const peerPublicKey = hs.remoteStaticKey!;
    const peer = options.lookupPeer(peerPublicKey.slice());
    if (peer === null || peer === undefined) {
      throw new NoiseError("UNKNOWN_PEER", "clinic static key is not in the allowlist");
    }
    const message2 = hs.writeMessage(new Uint8Array(0));
    const r = hs.split();
    const channel = new SecureChannel({
      initiator: false,
      send: r.send!,
      receive: r.receive!,
      handshakeHash: r.handshakeHash,
      remoteStaticKey: r.remoteStaticKey,
      options: options.channel,
    });
    return { message2, channel, peerName: peer.name, peerPublicKey, timestamp };
  } catch (e) {
    hs.destroy();
    throw e;
  }
}
