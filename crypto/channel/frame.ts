/**
 * The transport frame layout of the splitgate secure channel.
 *
 * ```
 * offset size field
 *      0    1 version       (FRAME_VERSION = 1)
 *      1    1 message type  (0..254 application, 255 = close)
 *      2    1 flags         (bit 0: final chunk; other bits must be 0)
 *      3    1 reserved      (must be 0)
 *      4    8 counter       (big-endian u64, per direction; the Noise nonce)
 *     12    n ciphertext    (ChaChaPoly output: payload + 16-byte tag)
 * ```
 *
 * The whole header is authenticated as associated data, so only the
 * version/flags/reserved checks below can ever fail without a decryption.
 * A frame travels as one transport message (an HTTP body or WebSocket
 * message), so it carries no length field; truncation shows up as a tag
 * failure.
 *
 * @module
 */
import { NoiseError } from "../errors.ts";

/** Version byte of every frame. */
export const FRAME_VERSION = 1;
/** Header length in bytes. */
export const FRAME_HEADER_LENGTH = 12;
/** Flag bit: this frame is the last chunk of a message. */
export const FLAG_FINAL = 0x01;
/** Message type reserved for the close message. */
export const MESSAGE_TYPE_CLOSE = 0xff;

/**
 * A decoded frame header.
 *
 * @example
 * ```ts
 * import type { FrameHeader } from "./frame.ts";
 * const h: FrameHeader = { type: 1, final: true, counter: 0n };
 * ```
 */
export interface FrameHeader {
  /** Message type, 0..255. */
  readonly type: number;
  /** Final-chunk flag. */
  readonly final: boolean;
  /** Per-direction 64-bit frame counter. */
  readonly counter: bigint;
}

/**
 * Encodes a header into the first {@link FRAME_HEADER_LENGTH} bytes of `out`.
 *
 * @example
 * ```ts
 * import { encodeFrameHeader, FRAME_HEADER_LENGTH } from "./frame.ts";
 * const buf = new Uint8Array(FRAME_HEADER_LENGTH);
 * encodeFrameHeader({ type: 3, final: true, counter: 258n }, buf);
 * console.assert(buf[0] === 1 && buf[1] === 3 && buf[2] === 1 && buf[11] === 2);
 * ```
 */
export function encodeFrameHeader(header: FrameHeader, out: Uint8Array): void {
  out[0] = FRAME_VERSION;
  out[1] = header.type;
  out[2] = header.final ? FLAG_FINAL : 0;
  out[3] = 0;
  new DataView(out.buffer, out.byteOffset, FRAME_HEADER_LENGTH).setBigUint64(
    4,
    header.counter,
    false,
  );
}

/**
 * Decodes and checks a frame header (version, known flags, zero reserved byte).
 * Reads only the header bytes; allocates nothing proportional to the frame.
 *
 * @throws {NoiseError} `MALFORMED_FRAME`.
 * @example
 * ```ts
 * import { decodeFrameHeader } from "./frame.ts";
 * const h = decodeFrameHeader(Uint8Array.of(1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9));
 * console.assert(h.type === 7 && !h.final && h.counter === 9n);
 * ```
 */
export function decodeFrameHeader(frame: Uint8Array): FrameHeader {
  if (frame.length < FRAME_HEADER_LENGTH) {
    throw new NoiseError(
      "MALFORMED_FRAME",
      `frame of ${frame.length} bytes is shorter than its ${FRAME_HEADER_LENGTH}-byte header`,
    );
  }
  if (frame[0] !== FRAME_VERSION) {
    throw new NoiseError(
      "MALFORMED_FRAME",
      `frame version ${frame[0]} is not supported (expected ${FRAME_VERSION})`,
    );
  }
  if ((frame[2] & ~FLAG_FINAL) !== 0) {
    throw new NoiseError("MALFORMED_FRAME", `frame flags 0x${frame[2].toString(16)} are unknown`);
  }
  if (frame[3] !== 0) {
    throw new NoiseError("MALFORMED_FRAME", `frame reserved byte is ${frame[3]}, expected 0`);
  }
  const counter = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_LENGTH)
    .getBigUint64(4, false);
  return { type: frame[1], final: (frame[2] & FLAG_FINAL) !== 0, counter };
}
