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
  const p = new BodyFrameParser(options);
  const frames = p.push(body);
  p.end();
  return frames;
}

/**
 * {@linkcode unpackFrames} for a body that arrives in pieces (a streamed HTTP body): each
 * `push` returns the frames completed by that piece, so they can be opened while the rest
 * is still on the wire. A frame that lies whole inside one piece is returned as a view of
 * it; one split across pieces is copied together.
 *
 * @example
 * ```ts
 * import { BodyFrameParser, packFrames } from "./body_frames.ts";
 * const body = packFrames([Uint8Array.of(1, 2), Uint8Array.of(3)]);
 * const p = new BodyFrameParser();
 * console.log(p.push(body.subarray(0, 5)).length, p.push(body.subarray(5)).length); // 0 2
 * p.end();
 * ```
 */
export class BodyFrameParser {
  readonly #maxFrames: number;
  readonly #maxFrameSize: number;
  readonly #head = new Uint8Array(4);
  #headFill = 0;
  /** The frame being filled (its length known), or null between frames. */
  #frame: Uint8Array | null = null;
  #fill = 0;
  #count = 0;
  #bytes = 0;

  /** @param options `maxFrames` (default 65536) and `maxFrameSize` (default 16 MiB) */
  constructor(options: { maxFrames?: number; maxFrameSize?: number } = {}) {
    this.#maxFrames = options.maxFrames ?? 65536;
    this.#maxFrameSize = options.maxFrameSize ?? 16 * 1024 * 1024;
  }

  /** Bytes pushed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Adds the next piece of the body; returns the frames it completes.
   *
   * @throws {NoiseError} `MALFORMED_FRAME` for a zero-length frame, a frame over
   *   `maxFrameSize`, or more than `maxFrames` frames.
   */
  push(piece: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.#bytes += piece.length;
    let off = 0;
    while (off < piece.length) {
      if (this.#frame === null) {
        if (this.#headFill === 0 && piece.length - off >= 4) {
          const len = new DataView(piece.buffer, piece.byteOffset + off, 4).getUint32(0, false);
          off += 4;
          this.#start(len);
          // Whole inside this piece: a view, no copy.
          if (piece.length - off >= len) {
            out.push(piece.subarray(off, off + len));
            off += len;
            this.#frame = null;
          }
          continue;
        }
        const take = Math.min(4 - this.#headFill, piece.length - off);
        this.#head.set(piece.subarray(off, off + take), this.#headFill);
        this.#headFill += take;
        off += take;
        if (this.#headFill === 4) {
          this.#headFill = 0;
          this.#start(new DataView(this.#head.buffer).getUint32(0, false));
        }
        continue;
      }
      const frame = this.#frame;
      const take = Math.min(frame.length - this.#fill, piece.length - off);
      frame.set(piece.subarray(off, off + take), this.#fill);
      this.#fill += take;
      off += take;
      if (this.#fill === frame.length) {
        out.push(frame);
        this.#frame = null;
      }
    }
    return out;
  }

  /**
   * Declares the end of the body.
   *
   * @throws {NoiseError} `MALFORMED_FRAME` for an empty body or one that ends inside a
   *   frame or its length.
   */
  end(): void {
    if (this.#bytes === 0) throw new NoiseError("MALFORMED_FRAME", "body holds no frames");
    if (this.#headFill > 0) {
      throw new NoiseError("MALFORMED_FRAME", `${this.#headFill} trailing bytes cannot hold a frame length`);
    }
    if (this.#frame !== null) {
      throw new NoiseError("MALFORMED_FRAME", `frame ${this.#count - 1} declares ${this.#frame.length} bytes, ${this.#fill} remain`);
    }
  }

  #start(len: number): void {
    if (len === 0 || len > this.#maxFrameSize) {
      throw new NoiseError("MALFORMED_FRAME", `frame ${this.#count} declares ${len} bytes: expected 1 to ${this.#maxFrameSize}`);
    }
    if (this.#count === this.#maxFrames) throw new NoiseError("MALFORMED_FRAME", `more than ${this.#maxFrames} frames`);
    this.#count++;
    this.#frame = new Uint8Array(len);
    this.#fill = 0;
  }
}

/**
 * A body stream of frames with their length prefixes (the {@linkcode packFrames} layout),
 * taking the next frame from `frames` only when the reader asks for more: with a lazily
 * sealing iterator (`sealFrames`), each frame is sealed just before it is sent.
 * `onBytes` sees the size of each piece enqueued; `onEnd` is called once, with `true` when
 * every frame was handed over and `false` when the reader cancelled or a frame failed.
 *
 * @example
 * ```ts
 * import { frameStream } from "./body_frames.ts";
 * const s = frameStream([Uint8Array.of(9)][Symbol.iterator]());
 * ```
 */
export function frameStream(
  frames: Iterator<Uint8Array>,
  onBytes?: (n: number) => void,
  onEnd?: (complete: boolean) => void,
): ReadableStream<Uint8Array> {
  let ended = false;
  const end = (complete: boolean) => {
    if (!ended) {
      ended = true;
      onEnd?.(complete);
    }
  };
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = frames.next();
      } catch (e) {
        end(false);
        throw e;
      }
      if (next.done) {
        controller.close();
        end(true);
        return;
      }
      const piece = packFrames([next.value]);
      onBytes?.(piece.length);
      controller.enqueue(piece);
    },
    cancel() {
      end(false);
    },
  }, { highWaterMark: 0 });
}
