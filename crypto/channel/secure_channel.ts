/**
 * The secure channel: authenticated, replay-protected transport frames on
 * top of a finished Noise handshake.
 *
 * Design (Noise rev 34 §11.4 "out-of-order transport messages"): each frame
 * carries its 64-bit counter in clear, and the counter is the Noise nonce
 * (CipherState.SetNonce, §5.1). A receiver can therefore decrypt frames that
 * arrive out of order, and a sliding window (RFC 4303-style bitmap) rejects
 * replays. The associated data binds the session id (first 16 bytes of the
 * handshake hash, §11.2 channel binding), the direction, and the whole
 * header (version, type, flags, counter).
 *
 * Rekeying (§11.3) follows a schedule both sides derive from the counter:
 * counter c is sealed under the key of epoch ⌊c / rekeyInterval⌋, where the
 * key of epoch i+1 is REKEY(key of epoch i). The receiver keeps the current
 * and the previous epoch's key; because `rekeyInterval ≥ windowSize`, every
 * counter inside the replay window belongs to one of those two epochs, so
 * reordering within the window works across a rekey. Old keys are wiped as
 * the window moves on (forward secrecy for older frames).
 *
 * A rejected frame never changes the channel: every check, and the tag
 * verification, happens before the window and epoch keys are committed.
 *
 * @module
 */
import { NoiseError } from "../errors.ts";
import { CipherState, MAX_NONCE, TAGLEN } from "../noise/cipher_state.ts";
import {
  decodeFrameHeader,
  encodeFrameHeader,
  FRAME_HEADER_LENGTH,
  MESSAGE_TYPE_CLOSE,
} from "./frame.ts";
import { ReplayWindow } from "./replay_window.ts";

/** Bytes of the handshake hash used as session id in the associated data. */
export const SESSION_ID_LENGTH = 16;
/** Default hard bound on a frame's size: the Noise message limit of §3. */
export const DEFAULT_MAX_FRAME_SIZE = 65535;
/** Largest configurable frame size (16 MiB). */
export const MAX_FRAME_SIZE_LIMIT = 16 * 1024 * 1024;
/** Default rekey interval in frames per direction. */
export const DEFAULT_REKEY_INTERVAL = 65536;
/** Default anti-replay window size. */
export const DEFAULT_WINDOW_SIZE = 64;
/** Default limit on how many rekey epochs a receiver derives ahead to follow a counter jump. */
export const DEFAULT_MAX_EPOCH_SKIP = 8;

/**
 * Tunables of a {@link SecureChannel}; both sides must agree on `rekeyInterval`.
 *
 * @example
 * ```ts
 * import type { ChannelOptions } from "./secure_channel.ts";
 * const opts: ChannelOptions = { maxFrameSize: 1 << 20, rekeyInterval: 4096 };
 * ```
 */
export interface ChannelOptions {
  /**
   * Hard bound on a frame's total size in bytes, checked before anything is
   * decrypted or allocated. Default 65535 (the Noise message limit, §3);
   * 64 .. 16 MiB. Larger frames cut per-frame overhead for big tensors but
   * exceed the §3 limit, so only use them between splitgate peers.
   */
  maxFrameSize?: number;
  /**
   * Frames per rekey epoch (§11.3); 0 disables rekeying. Must be 0 or
   * ≥ `windowSize`. Default 65536. Both sides must use the same value.
   */
  rekeyInterval?: number;
  /** Replay window size in frames, 1..4096. Default 64. */
  windowSize?: number;
  /**
   * How many epochs ahead of the current one a frame may be (a counter jump
   * over lost frames); bounds the REKEY work a single frame can cause. Default 8.
   */
  maxEpochSkip?: number;
}

/**
 * A successfully opened frame.
 *
 * @example
 * ```ts
 * import type { OpenedFrame } from "./secure_channel.ts";
 * function isLast(f: OpenedFrame) { return f.final; }
 * ```
 */
export interface OpenedFrame {
  /** Message type (255 = close). */
  readonly type: number;
  /** Decrypted payload. */
  readonly payload: Uint8Array;
  /** Final-chunk flag. */
  readonly final: boolean;
  /** The frame's counter (authenticated). */
  readonly counter: bigint;
}

/**
 * Counters for monitoring; `decryptAttempts` also lets tests prove that
 * size and header checks happen before any decryption.
 *
 * @example
 * ```ts
 * import type { ChannelStats } from "./secure_channel.ts";
 * const s: ChannelStats = { sealed: 0, opened: 0, rejected: 0, decryptAttempts: 0, rekeys: 0 };
 * ```
 */
export interface ChannelStats {
  /** Frames sealed. */
  readonly sealed: number;
  /** Frames opened successfully. */
  readonly opened: number;
  /** Frames rejected by `open`. */
  readonly rejected: number;
  /** AEAD verifications started by `open`. */
  readonly decryptAttempts: number;
  /** REKEY operations committed (both directions). */
  readonly rekeys: number;
}

/**
 * Construction parameters: the output of a finished handshake.
 *
 * @example
 * ```ts
 * import type { SecureChannelInit } from "./secure_channel.ts";
 * function role(i: SecureChannelInit) { return i.initiator; }
 * ```
 */
export interface SecureChannelInit {
  /** Whether this side was the handshake initiator (fixes the direction byte). */
  initiator: boolean;
  /** Transport CipherState for sending (taken over: the channel wipes it). */
  send: CipherState;
  /** Transport CipherState for receiving (taken over: the channel wipes it). */
  receive: CipherState;
  /** Handshake hash (§11.2); its first 16 bytes are the session id. */
  handshakeHash: Uint8Array;
  /** Peer's static public key, for the application's records. */
  remoteStaticKey?: Uint8Array | null;
  /** Tunables. */
  options?: ChannelOptions;
}

const DIRECTION_INITIATOR_TO_RESPONDER = 0x00;
const DIRECTION_RESPONDER_TO_INITIATOR = 0x01;
const AAD_LENGTH = SESSION_ID_LENGTH + 1 + FRAME_HEADER_LENGTH;
const MAX_INITIAL_EPOCHS = 1n << 20n;

let startSendCounter: (channel: SecureChannel, start: bigint) => void;

function intOption(v: number | undefined, def: number, min: number, max: number, name: string) {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return x;
}

/**
 * One side of an established secure channel.
 *
 * @example
 * ```ts
 * import { initiatorHandshake, responderHandshake } from "./handshake.ts";
 * import { generateStaticKeyPair } from "../keys/key_pair.ts";
 * const server = generateStaticKeyPair(), clinic = generateStaticKeyPair();
 * const hs = initiatorHandshake({ staticKeyPair: clinic, serverPublicKey: server.publicKey });
 * const r = responderHandshake(
 *   { staticKeyPair: server, lookupPeer: () => ({ name: "clinic-a" }) }, hs.message1);
 * const clinicChannel = hs.finish(r.message2);
 * const frame = clinicChannel.seal(1, new TextEncoder().encode("activations"));
 * console.assert(new TextDecoder().decode(r.channel.open(frame).payload) === "activations");
 * ```
 */
export class SecureChannel {
  /** Whether this side initiated the handshake. */
  readonly initiator: boolean;
  /** Hard frame-size bound in bytes. */
  readonly maxFrameSize: number;
  /** Largest payload one frame can carry. */
  readonly maxPayloadSize: number;
  /** Frames per rekey epoch (0: never). */
  readonly rekeyInterval: number;
  readonly #sessionId: Uint8Array;
  readonly #remoteStaticKey: Uint8Array | null;
  readonly #sendDirection: number;
  readonly #receiveDirection: number;
  readonly #maxEpochSkip: bigint;
  #send: CipherState;
  #sendCounter: bigint;
  #sendEpoch = 0n;
  #recv: CipherState;
  #recvPrev: CipherState | null = null;
  #recvEpoch = 0n;
  readonly #window: ReplayWindow;
  #closed = false;
  #stats = { sealed: 0, opened: 0, rejected: 0, decryptAttempts: 0, rekeys: 0 };

  /**
   * Builds a channel from a finished handshake (normally via
   * `initiatorHandshake`/`responderHandshake`, not directly).
   *
   * @throws {RangeError} for out-of-range options.
   */
  constructor(init: SecureChannelInit) {
    const o = init.options ?? {};
    this.maxFrameSize = intOption(
      o.maxFrameSize,
      DEFAULT_MAX_FRAME_SIZE,
      64,
      MAX_FRAME_SIZE_LIMIT,
      "maxFrameSize",
    );
    this.maxPayloadSize = this.maxFrameSize - FRAME_HEADER_LENGTH - TAGLEN;
    const windowSize = intOption(o.windowSize, DEFAULT_WINDOW_SIZE, 1, 4096, "windowSize");
    this.rekeyInterval = intOption(
      o.rekeyInterval,
      DEFAULT_REKEY_INTERVAL,
      0,
      Number.MAX_SAFE_INTEGER,
      "rekeyInterval",
    );
    if (this.rekeyInterval !== 0 && this.rekeyInterval < windowSize) {
      // Otherwise the window could span three epochs and in-window frames would be undecryptable.
      throw new RangeError(
        `rekeyInterval (${this.rekeyInterval}) must be 0 or at least windowSize (${windowSize})`,
      );
    }
    this.#maxEpochSkip = BigInt(
      intOption(o.maxEpochSkip, DEFAULT_MAX_EPOCH_SKIP, 1, 1 << 16, "maxEpochSkip"),
    );
    if (!(init.handshakeHash instanceof Uint8Array) || init.handshakeHash.length < 32) {
      throw new TypeError("handshakeHash must be a Uint8Array of at least 32 bytes");
    }
    if (!(init.send instanceof CipherState) || !init.send.hasKey()) {
      throw new TypeError("send must be a keyed CipherState");
    }
    if (!(init.receive instanceof CipherState) || !init.receive.hasKey()) {
      throw new TypeError("receive must be a keyed CipherState");
    }
    if (init.send === init.receive) {
      // Noise rev 34 §5.2 Split() gives each direction its own key; one CipherState for both
      // would seal the peer's counter n and ours under the same key and nonce.
      throw new TypeError(
        "send and receive must be two distinct CipherState objects, got the same one for both",
      );
    }
    this.initiator = init.initiator === true;
    this.#sessionId = init.handshakeHash.slice(0, SESSION_ID_LENGTH);
    this.#remoteStaticKey = init.remoteStaticKey?.slice() ?? null;
    this.#sendDirection = this.initiator
      ? DIRECTION_INITIATOR_TO_RESPONDER
      : DIRECTION_RESPONDER_TO_INITIATOR;
    this.#receiveDirection = this.#sendDirection ^ 1;
    this.#window = new ReplayWindow(windowSize);
    this.#send = init.send;
    this.#recv = init.receive;
    this.#sendCounter = 0n;
  }

  static {
    startSendCounter = (channel, start) => channel.#startSendCounterAt(start);
  }

  /** The test seam behind `_testing.ts`: see {@link _startSendCounterAt}. */
  #startSendCounterAt(start: bigint): void {
    if (this.#stats.sealed !== 0 || this.#sendCounter !== 0n) {
      throw new TypeError(
        `the send counter can only be moved on a fresh channel; this one sealed ${this.#stats.sealed} frames`,
      );
    }
    if (typeof start !== "bigint" || start < 0n || start > MAX_NONCE) {
      throw new RangeError(`initialSendCounter must be a bigint in [0, 2^64-1], got ${start}`);
    }
    const startEpoch = this.#epochOf(start);
    if (startEpoch > MAX_INITIAL_EPOCHS) {
      throw new RangeError(
        `initialSendCounter ${start} would need ${startEpoch} rekeys; disable rekeying for such tests`,
      );
    }
    this.#sendCounter = start;
    while (this.#sendEpoch < startEpoch) {
      this.#send.rekey();
      this.#sendEpoch++;
    }
  }

  /**
   * Session id: the first 16 bytes of the handshake hash (public; suitable for logs).
   *
   * @example
   * ```ts
   * import type { SecureChannel } from "./secure_channel.ts";
   * function id(c: SecureChannel) { return c.sessionId.length; } // 16
   * ```
   */
  get sessionId(): Uint8Array {
    return this.#sessionId.slice();
  }

  /**
   * The peer's static public key, when the handshake authenticated one.
   *
   * @example
   * ```ts
   * import type { SecureChannel } from "./secure_channel.ts";
   * function peer(c: SecureChannel) { return c.remoteStaticKey; }
   * ```
   */
  get remoteStaticKey(): Uint8Array | null {
    return this.#remoteStaticKey?.slice() ?? null;
  }

  /**
   * Whether the channel is closed (by either side) or destroyed.
   *
   * @example
   * ```ts
   * import type { SecureChannel } from "./secure_channel.ts";
   * function usable(c: SecureChannel) { return !c.isClosed; }
   * ```
   */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * The next counter `seal` will use.
   *
   * @example
   * ```ts
   * import type { SecureChannel } from "./secure_channel.ts";
   * function next(c: SecureChannel) { return c.sendCounter; }
   * ```
   */
  get sendCounter(): bigint {
    return this.#sendCounter;
  }

  /**
   * A snapshot of the channel's counters.
   *
   * @example
   * ```ts
   * import type { SecureChannel } from "./secure_channel.ts";
   * function rejected(c: SecureChannel) { return c.stats.rejected; }
   * ```
   */
  get stats(): ChannelStats {
    return { ...this.#stats };
  }

  /**
   * Seals one frame. `type` is 0..254 (255 is reserved for close).
   * `final` (default true) marks the last chunk of a message.
   *
   * @throws {NoiseError} `CLOSED`, `FRAME_TOO_LARGE` (payload over `maxPayloadSize`),
   *   `NONCE_EXHAUSTED` (counter reached 2^64-1; the channel must be replaced).
   * @throws {RangeError} for a bad `type`.
   * @example
   * ```ts
   * import type { SecureChannel } from "./secure_channel.ts";
   * function send(c: SecureChannel, bytes: Uint8Array) { return c.seal(1, bytes); }
   * ```
   */
  seal(type: number, payload: Uint8Array, options: { final?: boolean } = {}): Uint8Array {
    if (!Number.isInteger(type) || type < 0 || type >= MESSAGE_TYPE_CLOSE) {
      throw new RangeError(`message type must be an integer in [0, 254], got ${type}`);
    }
    return this.#seal(type, payload, options.final ?? true);
  }

  /**
   * Seals a close frame (type 255, optional reason) and closes this side:
   * afterwards `seal` and `open` throw `CLOSED` and the keys are wiped.
   *
   * @throws {NoiseError} `CLOSED` if already closed.
   * @example
   * ```ts
   * import type { SecureChannel } from "./secure_channel.ts";
   * function bye(c: SecureChannel) { return c.close(); }
   * ```
   */
  close(reason: Uint8Array = new Uint8Array(0)): Uint8Array {
    const frame = this.#seal(MESSAGE_TYPE_CLOSE, reason, true);
    this.destroy();
    return frame;
  }

  #seal(type: number, payload: Uint8Array, final: boolean): Uint8Array {
    this.#assertOpen();
    if (!(payload instanceof Uint8Array)) {
      throw new TypeError(`payload must be a Uint8Array, got ${typeof payload}`);
    }
    if (payload.length > this.maxPayloadSize) {
      throw new NoiseError(
        "FRAME_TOO_LARGE",
        `payload of ${payload.length} bytes exceeds the ${this.maxPayloadSize}-byte frame payload limit`,
      );
    }
    const counter = this.#sendCounter;
    if (counter >= MAX_NONCE) {
      throw new NoiseError("NONCE_EXHAUSTED", "send counter exhausted; establish a new channel");
    }
    const epoch = this.#epochOf(counter);
    if (epoch > this.#sendEpoch) {
      // §11.3: REKEY at each epoch boundary; counters grow by one, so one step suffices.
      this.#send.rekey();
      this.#sendEpoch = epoch;
      this.#stats.rekeys++;
    }
    const frame = new Uint8Array(FRAME_HEADER_LENGTH + payload.length + TAGLEN);
    encodeFrameHeader({ type, final, counter }, frame);
    const aad = this.#aad(this.#sendDirection, frame);
    this.#send.setNonce(counter);
    // Sealed straight into the frame's body (no intermediate ciphertext buffer).
    this.#send.encryptWithAd(aad, payload, frame.subarray(FRAME_HEADER_LENGTH));
    this.#sendCounter = counter + 1n;
    this.#stats.sealed++;
    return frame;
  }

  /**
   * Verifies and decrypts one frame. A close frame (type 255) is returned
   * and closes the channel. On any error the channel is left exactly as it
   * was: a following valid frame still opens.
   *
   * @throws {NoiseError} `CLOSED`, `FRAME_TOO_LARGE` (checked first, before any
   *   allocation or decryption), `MALFORMED_FRAME`, `NONCE_EXHAUSTED`
   *   (counter 2^64-1), `REPLAY`, `OUTSIDE_WINDOW`, `BAD_TAG` ("invalid tag").
   * @example
   * ```ts
   * import type { SecureChannel } from "./secure_channel.ts";
   * function receive(c: SecureChannel, frame: Uint8Array) { return c.open(frame).payload; }
   * ```
   */
  open(frame: Uint8Array): OpenedFrame {
    this.#assertOpen();
    try {
      return this.#open(frame);
    } catch (e) {
      this.#stats.rejected++;
      throw e;
    }
  }

  #open(frame: Uint8Array): OpenedFrame {
    if (!(frame instanceof Uint8Array)) {
      throw new NoiseError("MALFORMED_FRAME", `frame must be a Uint8Array, got ${typeof frame}`);
    }
    if (frame.length > this.maxFrameSize) {
      throw new NoiseError(
        "FRAME_TOO_LARGE",
        `frame of ${frame.length} bytes exceeds the ${this.maxFrameSize}-byte limit`,
      );
    }
    const header = decodeFrameHeader(frame);
    if (frame.length < FRAME_HEADER_LENGTH + TAGLEN) {
      throw new NoiseError(
        "MALFORMED_FRAME",
        `frame of ${frame.length} bytes is too short to hold a tag`,
      );
    }
    if (header.counter >= MAX_NONCE) {
      throw new NoiseError("NONCE_EXHAUSTED", "frame counter 2^64-1 is reserved (§5.1)");
    }
    this.#window.check(header.counter);

    // Pick (or tentatively derive) the epoch key without committing anything.
    const epoch = this.#epochOf(header.counter);
    let cipher: CipherState;
    let derived: CipherState[] = [];
    if (epoch === this.#recvEpoch) {
      cipher = this.#recv;
    } else if (epoch + 1n === this.#recvEpoch && this.#recvPrev !== null) {
      cipher = this.#recvPrev;
    } else if (epoch < this.#recvEpoch) {
      throw new NoiseError(
        "OUTSIDE_WINDOW",
        `frame counter ${header.counter} belongs to a retired key epoch`,
      );
    } else {
      const ahead = epoch - this.#recvEpoch;
      if (ahead > this.#maxEpochSkip) {
        throw new NoiseError(
          "OUTSIDE_WINDOW",
          `frame counter ${header.counter} is ${ahead} rekey epochs ahead (limit ${this.#maxEpochSkip})`,
        );
      }
      let c = this.#recv;
      for (let i = 0n; i < ahead; i++) {
        c = c.clone();
        c.rekey();
        derived.push(c);
      }
      cipher = c;
    }

    let payload: Uint8Array;
    try {
      const aad = this.#aad(this.#receiveDirection, frame);
      cipher.setNonce(header.counter);
      this.#stats.decryptAttempts++;
      payload = cipher.decryptWithAd(aad, frame.subarray(FRAME_HEADER_LENGTH));
    } catch (e) {
      for (const d of derived) d.destroy();
      throw e;
    }

    // Authenticated: commit the window and, if the frame opened a new epoch, the keys.
    this.#window.commit(header.counter);
    if (derived.length > 0) {
      const oldCurrent = this.#recv;
      const newPrev = derived.length >= 2 ? derived[derived.length - 2] : oldCurrent;
      this.#recvPrev?.destroy();
      if (newPrev !== oldCurrent) oldCurrent.destroy();
      for (const d of derived.slice(0, -2)) d.destroy();
      this.#recvPrev = newPrev;
      this.#recv = derived[derived.length - 1];
      this.#recvEpoch = epoch;
      this.#stats.rekeys += derived.length;
      derived = [];
    }
    this.#retireOldEpoch();
    this.#stats.opened++;
    if (header.type === MESSAGE_TYPE_CLOSE) this.destroy();
    return { type: header.type, payload, final: header.final, counter: header.counter };
  }

  /** Wipes the previous epoch's key once no in-window counter can still need it. */
  #retireOldEpoch(): void {
    if (this.#recvPrev === null || this.rekeyInterval === 0) return;
    const oldest = this.#window.highest - BigInt(this.#window.size) + 1n;
    if (oldest >= this.#recvEpoch * BigInt(this.rekeyInterval)) {
      this.#recvPrev.destroy();
      this.#recvPrev = null;
    }
  }

  /**
   * Wipes all keys and closes the channel without sending anything.
   *
   * @example
   * ```ts
   * import type { SecureChannel } from "./secure_channel.ts";
   * function drop(c: SecureChannel) { c.destroy(); }
   * ```
   */
  destroy(): void {
    this.#closed = true;
    this.#send.destroy();
    this.#recv.destroy();
    this.#recvPrev?.destroy();
    this.#recvPrev = null;
  }

  #epochOf(counter: bigint): bigint {
    return this.rekeyInterval === 0 ? 0n : counter / BigInt(this.rekeyInterval);
  }

  #aad(direction: number, frame: Uint8Array): Uint8Array {
    const aad = new Uint8Array(AAD_LENGTH);
    aad.set(this.#sessionId, 0);
    aad[SESSION_ID_LENGTH] = direction;
    aad.set(frame.subarray(0, FRAME_HEADER_LENGTH), SESSION_ID_LENGTH + 1);
    return aad;
  }

  #assertOpen(): void {
    if (this.#closed) throw new NoiseError("CLOSED", "channel is closed");
  }
}

/**
 * Test seam, not part of the API (no `mod.ts` exports it; tests reach it through
 * `crypto/channel/_testing.ts`): moves a fresh channel's first send counter to `start`,
 * deriving the rekey epochs on the way, so tests of nonce exhaustion (Noise rev 34 §5.1:
 * nonce 2^64-1 is reserved) need not seal 2^64 frames. Production channels always start at 0.
 *
 * @throws {TypeError} if the channel has already sealed a frame.
 * @throws {RangeError} for a counter outside [0, 2^64-1], or one more than 2^20 rekey epochs in.
 * @example
 * ```ts
 * import { _startSendCounterAt } from "./secure_channel.ts";
 * import { initiatorHandshake, responderHandshake } from "./handshake.ts";
 * import { generateStaticKeyPair } from "../keys/key_pair.ts";
 * const server = generateStaticKeyPair();
 * const hs = initiatorHandshake({ staticKeyPair: generateStaticKeyPair(),
 *   serverPublicKey: server.publicKey, channel: { rekeyInterval: 0 } });
 * const r = responderHandshake({ staticKeyPair: server, lookupPeer: () => ({ name: "c" }),
 *   channel: { rekeyInterval: 0 } }, hs.message1);
 * const clinic = hs.finish(r.message2);
 * _startSendCounterAt(clinic, 41n);
 * console.log(r.channel.open(clinic.seal(1, new Uint8Array(0))).counter); // 41n
 * ```
 */
export function _startSendCounterAt(channel: SecureChannel, start: bigint): void {
  startSendCounter(channel, start);
}
