/**
 * Messages larger than one frame: split into chunks on the sending side,
 * reassembled with truncation, reordering and size checks on the receiving
 * side.
 *
 * A message is a run of frames of one type with consecutive counters; every
 * frame but the last has the final flag clear. The counters are
 * authenticated (they are in the frame's associated data), so the receiver
 * can tell a dropped, repeated or reordered chunk from the counters alone,
 * and a missing last chunk from the absent final flag.
 *
 * @module
 */
import { NoiseError } from "../errors.ts";
import { MESSAGE_TYPE_CLOSE } from "./frame.ts";
import type { OpenedFrame, SecureChannel } from "./secure_channel.ts";

/** Default cap on a reassembled message: 256 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024;

/**
 * A reassembled message.
 *
 * @example
 * ```ts
 * import type { Message } from "./chunker.ts";
 * const m: Message = { type: 1, payload: new Uint8Array(0) };
 * ```
 */
export interface Message {
  /** Message type shared by all its chunks. */
  readonly type: number;
  /** The concatenated payload. */
  readonly payload: Uint8Array;
}

/**
 * Seals `payload` as one or more frames of at most `channel.maxFrameSize`
 * bytes; the last carries the final flag. An empty payload gives one frame.
 * The frames must be sent in order (they take consecutive counters).
 *
 * @throws {NoiseError} as {@link SecureChannel.seal}.
 * @example
 * ```ts
 * import { sealChunked } from "./chunker.ts";
 * import type { SecureChannel } from "./secure_channel.ts";
 * function sendTensor(c: SecureChannel, bytes: Uint8Array) { return sealChunked(c, 2, bytes); }
 * ```
 */
export function sealChunked(
  channel: SecureChannel,
  type: number,
  payload: Uint8Array,
): Uint8Array[] {
  return [...sealFrames(channel, type, payload)];
}

/**
 * {@linkcode sealChunked}, one frame at a time: each frame is sealed when the iterator is
 * advanced, so a sender can put one frame on the wire while it seals the next (and the
 * receiver opens the first meanwhile). The frames must be sent in the order they come.
 *
 * @throws {NoiseError} as {@link SecureChannel.seal}, when the frame is sealed.
 * @example
 * ```ts
 * import { sealFrames } from "./chunker.ts";
 * import type { SecureChannel } from "./secure_channel.ts";
 * function* framesOf(c: SecureChannel, bytes: Uint8Array) { yield* sealFrames(c, 2, bytes); }
 * ```
 */
export function* sealFrames(
  channel: SecureChannel,
  type: number,
  payload: Uint8Array,
): Generator<Uint8Array, void, undefined> {
  if (!(payload instanceof Uint8Array)) {
    throw new TypeError(`payload must be a Uint8Array, got ${typeof payload}`);
  }
  const step = channel.maxPayloadSize;
  let off = 0;
  do {
    const end = Math.min(off + step, payload.length);
    yield channel.seal(type, payload.subarray(off, end), { final: end === payload.length });
    off = end;
  } while (off < payload.length);
}

/**
 * Reassembles chunked messages from opened frames, one message at a time.
 *
 * Any error discards the partial message (the reassembler is then idle
 * again); the frame that caused it is not part of any message.
 *
 * @example
 * ```ts
 * import { Reassembler } from "./chunker.ts";
 * const r = new Reassembler({ maxMessageSize: 1024 });
 * r.push({ type: 1, payload: Uint8Array.of(1), final: false, counter: 0n });
 * const m = r.push({ type: 1, payload: Uint8Array.of(2), final: true, counter: 1n });
 * console.assert(m !== null && m.payload.length === 2);
 * ```
 */
export class Reassembler {
  /** Cap on a message's total size in bytes. */
  readonly maxMessageSize: number;
  #type = -1;
  #next = 0n;
  #chunks: Uint8Array[] = [];
  #size = 0;

  /**
   * Creates an idle reassembler.
   *
   * @param options `maxMessageSize`: cap on a message's total size (default 256 MiB)
   */
  constructor(options: { maxMessageSize?: number } = {}) {
    const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(`maxMessageSize must be a non-negative integer, got ${max}`);
    }
    this.maxMessageSize = max;
  }

  /**
   * Whether a message is partly received.
   *
   * @example
   * ```ts
   * import { Reassembler } from "./chunker.ts";
   * console.assert(!new Reassembler().inProgress);
   * ```
   */
  get inProgress(): boolean {
    return this.#type !== -1;
  }

  /**
   * Adds one opened frame; returns the message when its final chunk arrives, else `null`.
   *
   * @throws {NoiseError} `DUPLICATE_CHUNK` (counter already used by this message),
   *   `OUT_OF_ORDER` (a gap: a chunk is missing or early), `CHUNK_TYPE_MISMATCH`,
   *   `MALFORMED_FRAME` (an empty non-final chunk), `MESSAGE_TOO_LARGE`.
   * @example
   * ```ts
   * import { Reassembler } from "./chunker.ts";
   * const m = new Reassembler().push({ type: 4, payload: Uint8Array.of(9), final: true, counter: 5n });
   * console.assert(m?.type === 4);
   * ```
   */
  push(frame: OpenedFrame): Message | null {
    try {
      return this.#push(frame);
    } catch (e) {
      this.#reset();
      throw e;
    }
  }

  #push(frame: OpenedFrame): Message | null {
    if (this.inProgress) {
      const first = this.#next - BigInt(this.#chunks.length);
      if (frame.counter < this.#next && frame.counter >= first) {
        throw new NoiseError("DUPLICATE_CHUNK", `chunk with counter ${frame.counter} repeated`);
      }
      if (frame.counter !== this.#next) {
        throw new NoiseError(
          "OUT_OF_ORDER",
          `chunk with counter ${frame.counter} arrived, expected ${this.#next}`,
        );
      }
      if (frame.type !== this.#type) {
        throw new NoiseError(
          "CHUNK_TYPE_MISMATCH",
          `chunk of type ${frame.type} inside a message of type ${this.#type}`,
        );
      }
    }
    if (!frame.final && frame.payload.length === 0) {
      throw new NoiseError("MALFORMED_FRAME", "non-final chunk is empty");
    }
    if (this.#size + frame.payload.length > this.maxMessageSize) {
      throw new NoiseError(
        "MESSAGE_TOO_LARGE",
        `message exceeds ${this.maxMessageSize} bytes (at least ${
          this.#size + frame.payload.length
        })`,
      );
    }
    if (!this.inProgress) this.#type = frame.type;
    this.#chunks.push(frame.payload);
    this.#size += frame.payload.length;
    this.#next = frame.counter + 1n;
    if (!frame.final) return null;
    const payload = this.#chunks.length === 1 ? this.#chunks[0] : new Uint8Array(this.#size);
    if (this.#chunks.length > 1) {
      let off = 0;
      for (const c of this.#chunks) {
        payload.set(c, off);
        off += c.length;
      }
    }
    const message = { type: this.#type, payload };
    this.#reset();
    return message;
  }

  /**
   * Declares the end of the stream (e.g. the request body ended).
   *
   * @throws {NoiseError} `TRUNCATED` if a message is incomplete (its final chunk never came).
   * @example
   * ```ts
   * import { Reassembler } from "./chunker.ts";
   * new Reassembler().finish(); // nothing pending: fine
   * ```
   */
  finish(): void {
    if (this.inProgress) {
      const n = this.#chunks.length;
      this.#reset();
      throw new NoiseError(
        "TRUNCATED",
        `stream ended after ${n} chunk(s) of a message without its final chunk`,
      );
    }
  }

  #reset(): void {
    this.#type = -1;
    this.#chunks = [];
    this.#size = 0;
  }
}

/**
 * Opens a complete chunked message from its frames (e.g. one HTTP body that
 * was split into frames by the transport).
 *
 * @throws {NoiseError} everything `SecureChannel.open` and `Reassembler.push` throw,
 *   `TRUNCATED` (no final chunk), `MALFORMED_FRAME` (frames after the final chunk),
 *   `CLOSED` (the peer closed the channel mid-message).
 * @example
 * ```ts
 * import { openChunked, sealChunked } from "./chunker.ts";
 * import type { SecureChannel } from "./secure_channel.ts";
 * function roundTrip(a: SecureChannel, b: SecureChannel, x: Uint8Array) {
 *   return openChunked(b, sealChunked(a, 2, x)).payload;
 * }
 * ```
 */
export function openChunked(
  channel: SecureChannel,
  frames: readonly Uint8Array[],
  options: { maxMessageSize?: number } = {},
): Message {
  const opener = new MessageOpener(channel, options);
  for (const f of frames) opener.push(f);
  return opener.finish();
}

/**
 * {@linkcode openChunked}, one frame at a time: each sealed frame is opened as soon as it
 * has arrived, so that opening overlaps with the rest of the transfer (and with the
 * sender's sealing of the next frames).
 *
 * @example
 * ```ts
 * import { MessageOpener, sealChunked } from "./chunker.ts";
 * import type { SecureChannel } from "./secure_channel.ts";
 * function roundTrip(a: SecureChannel, b: SecureChannel, x: Uint8Array) {
 *   const o = new MessageOpener(b);
 *   for (const f of sealChunked(a, 2, x)) o.push(f);
 *   return o.finish().payload;
 * }
 * ```
 */
export class MessageOpener {
  readonly #channel: SecureChannel;
  readonly #r: Reassembler;
  #message: Message | null = null;
  #frames = 0;

  /**
   * @param channel the channel the frames were sealed for
   * @param options `maxMessageSize`: cap on the message (default 256 MiB)
   */
  constructor(channel: SecureChannel, options: { maxMessageSize?: number } = {}) {
    this.#channel = channel;
    this.#r = new Reassembler(options);
  }

  /** Whether the final chunk has been opened. */
  get done(): boolean {
    return this.#message !== null;
  }

  /**
   * Opens the next sealed frame.
   *
   * @throws {NoiseError} everything `SecureChannel.open` and `Reassembler.push` throw,
   *   `MALFORMED_FRAME` (a frame after the final chunk), `CLOSED` (the peer closed the
   *   channel mid-message).
   */
  push(frame: Uint8Array): void {
    if (this.#message !== null) {
      throw new NoiseError("MALFORMED_FRAME", `frame ${this.#frames} follows the final chunk of the message`);
    }
    this.#frames++;
    const opened = this.#channel.open(frame);
    if (opened.type === MESSAGE_TYPE_CLOSE) {
      throw new NoiseError("CLOSED", "peer closed the channel in the middle of a message");
    }
    this.#message = this.#r.push(opened);
  }

  /**
   * The message, once every frame has been pushed.
   *
   * @throws {NoiseError} `TRUNCATED` when no frame, or no final chunk, came.
   */
  finish(): Message {
    if (this.#message === null) {
      this.#r.finish();
      throw new NoiseError("TRUNCATED", "no frames were received");
    }
    return this.#message;
  }
}
