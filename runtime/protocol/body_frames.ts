/**
 * The HTTP body of `POST /v1/session/:id/msg`: the sealed frames of one message
 * (crypto/channel `sealChunked` output), each preceded by its length as a big-endian u32.
 * Frames are self-delimiting only through this prefix; the frame itself is authenticated.
 *
 * @example
 * ```ts
 * import { packFrames, unpackFrames } from "./body_frames.ts";
 * const body = packFrames([Uint8Array.of(1, 2), Uint8Array.of(3)]);
 * console.log(unpackFrames(body).length); // 2
 * ```
 * @module
 */
import { NoiseError } from "../../crypto/errors.ts";

/**
 * Concatenates frames with a u32 big-endian length before each.
 *
 * @example
 * ```ts
 * import { packFrames } from "./body_frames.ts";
 * console.log(packFrames([Uint8Array.of(9)])); // Uint8Array [0, 0, 0, 1, 9]
 * ```
 */
export function packFrames(frames: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const f of frames) n += 4 + f.length;
  const out = new Uint8Array(n);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const f of frames) {
    view.setUint32(off, f.length, false);
    out.set(f, off + 4);
    off += 4 + f.length;
  }
  return out;
}

/**
 * Splits a body into frames (views into `body`).
 *
 * @throws {NoiseError} `MALFORMED_FRAME` for an empty body, a zero-length frame, a length
 *   running past the end, more than `maxFrames` frames, or a frame over `maxFrameSize`.
 * @example
 * ```ts
 * import { unpackFrames } from "./body_frames.ts";
 * try {
 *   unpackFrames(Uint8Array.of(0, 0, 0, 9, 1));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // MALFORMED_FRAME
 * }
 * ```
 */
export function unpackFrames(
  body: Uint8Array,
  options: { maxFrames?: number; maxFrameSize?: number } = {},
): Uint8Array[] {
  const maxFrames = options.maxFrames ?? 65536;
  const maxFrameSize = options.maxFrameSize ?? 16 * 1024 * 1024;
  if (body.length === 0) throw new NoiseError("MALFORMED_FRAME", "body holds no frames");
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const frames: Uint8Array[] = [];
  let off = 0;
  while (off < body.length) {
    if (body.length - off < 4) {
      throw new NoiseError("MALFORMED_FRAME", `${body.length - off} trailing bytes cannot hold a frame length`);
    }
    const len = view.getUint32(off, false);
    if (len === 0 || len > maxFrameSize) {
      throw new NoiseError("MALFORMED_FRAME", `frame ${frames.length} declares ${len} bytes: expected 1 to ${maxFrameSize}`);
    }
    if (len > body.length - off - 4) {
      throw new NoiseError("MALFORMED_FRAME", `frame ${frames.length} declares ${len} bytes, ${body.length - off - 4} remain`);
    }
    if (frames.length === maxFrames) throw new NoiseError("MALFORMED_FRAME", `more than ${maxFrames} frames`);
    frames.push(body.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return frames;
}
