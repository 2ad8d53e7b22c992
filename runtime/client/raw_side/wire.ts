/**
 * The framing of the pipe between the sandboxed raw-data process and its parent (stdin/stdout):
 * length-prefixed binary frames, each one call, reply, error or the process's "ready" notice.
 *
 * ```
 * frame  = u32 bodyLength (big-endian) || body
 * body   = u32 id || u8 kind || u8 methodLength || method (UTF-8)
 *          || u32 headerLength || header (UTF-8 JSON) || tensors (runtime/codec bundle)
 * kind   = 1 request | 2 reply | 3 error | 4 ready
 * ```
 *
 * Tensors travel as an `encodeTensors` bundle without padding, float32 exact and DEFLATE level
 * 0 unless the frame names a wire encoding ({@linkcode FrameEncoding}): the raw side encodes
 * the cut tensors it sends out (activations, the head's input gradient) in the clinic's wire
 * codec, so that the courier relays those records into the channel as they are instead of
 * decoding and quantising them again — 4× fewer pipe bytes with int8, and one rounding, not
 * two. Labels stay exact. Padding and encryption are the courier's job.
 *
 * @example
 * ```ts
 * import { decodeFrame, encodeFrame, FRAME_KIND } from "./wire.ts";
 * const frame = encodeFrame({ id: 7, kind: FRAME_KIND.request, method: "info", header: {}, tensors: new Map() });
 * const back = decodeFrame(frame.subarray(4));
 * console.log(back.method, back.id); // "info" 7
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { decodeTensors, encodeTensors, type TensorEncoding } from "../../codec/mod.ts";
import type { CodecConfig } from "../../config/json_config.ts";
import { RawSideError } from "./error.ts";

/**
 * Frame kinds.
 *
 * @example
 * ```ts
 * import { FRAME_KIND } from "./wire.ts";
 * console.assert(FRAME_KIND.reply === 2);
 * ```
 */
export const FRAME_KIND = { request: 1, reply: 2, error: 3, ready: 4 } as const;

/**
 * A frame kind value.
 *
 * @example
 * ```ts
 * import type { FrameKind } from "./wire.ts";
 * const k: FrameKind = 1;
 * ```
 */
export type FrameKind = (typeof FRAME_KIND)[keyof typeof FRAME_KIND];

/**
 * One decoded frame.
 *
 * @example
 * ```ts
 * import type { WireMessage } from "./wire.ts";
 * const m: WireMessage = { id: 1, kind: 1, method: "checkpoint", header: { epoch: 2 }, tensors: new Map() };
 * ```
 */
export interface WireMessage {
  /** Request id; a reply or error carries its request's id; `ready` uses 0. */
  id: number;
  kind: FrameKind;
  /** The `RawSide` method (`"info"`, `"forward"`, ...). */
  method: string;
  /** Scalars and strings of the call (JSON). */
  header: unknown;
  /** Tensors of the call, by name. */
  tensors: Map<string, Tensor>;
}

/**
 * How a frame's tensors are encoded (default: float32 exact, DEFLATE level 0).
 *
 * @example
 * ```ts
 * import type { FrameEncoding } from "./wire.ts";
 * const raw: FrameEncoding = { codec: { dtype: "int8", level: 0 } }; // the raw side's forward reply
 * const courier: FrameEncoding = { reuseRecords: true }; // relaying the server's int8 gradient
 * ```
 */
export interface FrameEncoding {
  /** Wire dtype and DEFLATE level of float tensors other than `labels` (the clinic's codec). */
  codec?: CodecConfig;
  /** Write tensors decoded with `keepRecords` as the records they arrived in (the courier). */
  reuseRecords?: boolean;
}

/** Largest frame body accepted by default (512 MiB): bigger than any activation batch or weight blob. */
export const DEFAULT_MAX_FRAME_BYTES = 512 * 1024 * 1024;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes one frame, length prefix included.
 *
 * @throws {RangeError} for an id outside u32, a method name over 255 bytes, or tensors the codec refuses
 * @example
 * ```ts
 * import { encodeFrame, FRAME_KIND } from "./wire.ts";
 * import { tensor } from "../../../models/tensor.ts";
 * encodeFrame({ id: 1, kind: FRAME_KIND.reply, method: "forward", header: {},
 *   tensors: new Map([["activation", tensor("float32", [1, 2])]]) });
 * ```
 */
export function encodeFrame(m: WireMessage, enc: FrameEncoding = {}): Uint8Array {
  if (!Number.isInteger(m.id) || m.id < 0 || m.id > 0xffffffff) {
    throw new RangeError(`frame id must be a u32, got ${m.id}`);
  }
  const method = utf8.encode(m.method);
  if (method.length > 255) {
    throw new RangeError(`method name is ${method.length} bytes; at most 255`);
  }
  const header = utf8.encode(JSON.stringify(m.header ?? {}));
  const perTensor: Record<string, TensorEncoding> = {};
  if (enc.codec) {
    // Labels are targets: quantising them would change the loss (as in message_codec.ts).
    for (const name of m.tensors.keys()) {
      if (name !== "labels") perTensor[name] = { dtype: enc.codec.dtype, level: enc.codec.level };
    }
  }
  // The bundle is encoded with room for the frame's prefix in front, so the tensors are
  // written once (not copied again into the frame).
  const prefix = 4 + 4 + 1 + 1 + method.length + 4 + header.length;
  const out = encodeTensors(m.tensors, {
    dtype: "float32",
    level: 0,
    padding: { mode: "none" },
    perTensor,
    reuseRecords: enc.reuseRecords === true,
  }, prefix);
  const bodyLength = out.length - 4;
  const v = new DataView(out.buffer, out.byteOffset);
  let at = 0;
  v.setUint32(at, bodyLength);
  v.setUint32(at += 4, m.id);
  v.setUint8(at += 4, m.kind);
  v.setUint8(at += 1, method.length);
  out.set(method, at += 1);
  v.setUint32(at += method.length, header.length);
  out.set(header, at += 4);
  return out;
}

/**
 * Decodes a frame body (without its length prefix). With `keepRecords`, the tensors remember
 * their wire records, for the courier to relay them (see {@linkcode FrameEncoding}). With
 * `int8Views`, float tensors sent as dense int8 come back as views
 * (runtime/codec/quantized_view.ts): the same values, dequantised only if read, their codes
 * and record kept.
 *
 * @throws {RawSideError} `PROTOCOL` for a truncated or malformed body (codec errors included)
 * @example
 * ```ts
 * import { decodeFrame, encodeFrame, FRAME_KIND } from "./wire.ts";
 * const f = encodeFrame({ id: 3, kind: FRAME_KIND.ready, method: "ready", header: { ok: true }, tensors: new Map() });
 * console.log(decodeFrame(f.subarray(4)).header); // { ok: true }
 * ```
 */
export function decodeFrame(
  body: Uint8Array,
  maxElements = 2 ** 28,
  keepRecords = false,
  int8Views = false,
): WireMessage {
  const bad = (msg: string, cause?: unknown) =>
    new RawSideError("PROTOCOL", `malformed frame: ${msg}`, { cause });
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body.length < 10) throw bad(`${body.length} bytes is shorter than the 10-byte minimum`);
  const id = v.getUint32(0);
  const kind = v.getUint8(4);
  if (kind < 1 || kind > 4) throw bad(`unknown kind ${kind}`);
  const methodLength = v.getUint8(5);
  if (6 + methodLength + 4 > body.length) throw bad("method runs past the end");
  let method: string, header: unknown;
  try {
    method = utf8d.decode(body.subarray(6, 6 + methodLength));
  } catch (e) {
    throw bad("method is not UTF-8", e);
  }
  const headerLength = v.getUint32(6 + methodLength);
  const hStart = 10 + methodLength;
  if (hStart + headerLength > body.length) throw bad("header runs past the end");
  try {
    header = JSON.parse(utf8d.decode(body.subarray(hStart, hStart + headerLength)));
  } catch (e) {
    throw bad("header is not UTF-8 JSON", e);
  }
  let tensors: Map<string, Tensor>;
  try {
    tensors = decodeTensors(body.subarray(hStart + headerLength), { maxElements, maxTensors: 16 }, {
      keepRecords,
      int8Views,
    });
  } catch (e) {
    throw bad(`tensors: ${(e as Error).message}`, e);
  }
  return { id, kind: kind as FrameKind, method, header, tensors };
}

/**
 * Reads length-prefixed frame bodies from a byte stream (a pipe delivers arbitrary chunks).
 *
 * @example
 * ```ts
 * import { encodeFrame, FRAME_KIND, FrameReader } from "./wire.ts";
 * const f = encodeFrame({ id: 1, kind: FRAME_KIND.request, method: "info", header: {}, tensors: new Map() });
 * const reader = new FrameReader(ReadableStream.from([f.subarray(0, 3), f.subarray(3)]));
 * console.log((await reader.next())?.length); // f.length - 4
 * console.log(await reader.next()); // null (end of stream)
 * ```
 */
export class FrameReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #max: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #done = false;

  /**
   * @param stream the byte stream (child stdout, or stdin in the child)
   * @param maxFrameBytes largest body accepted; a larger declared length is a `PROTOCOL` error
   * @param onBytes sees every chunk read, before parsing (for audits and the canary test)
   */
  constructor(
    stream: ReadableStream<Uint8Array>,
    maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    readonly onBytes?: (chunk: Uint8Array) => void,
  ) {
    this.#reader = stream.getReader();
    this.#max = maxFrameBytes;
  }

  async #fill(n: number): Promise<boolean> {
    while (this.#buffered < n) {
      if (this.#done) return false;
      const r = await this.#reader.read();
      if (r.done) {
        this.#done = true;
        return false;
      }
      this.onBytes?.(r.value);
      this.#chunks.push(r.value);
      this.#buffered += r.value.length;
    }
    return true;
  }

  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= n;
    return out;
  }

  /**
   * The next frame body, or null at a clean end of stream.
   *
   * @throws {RawSideError} `PROTOCOL` for a stream that ends inside a frame or declares a frame
   *   over the limit
   */
  async next(): Promise<Uint8Array | null> {
    if (!(await this.#fill(4))) {
      if (this.#buffered === 0) return null;
      throw new RawSideError(
        "PROTOCOL",
        `stream ended inside a frame length (${this.#buffered} bytes)`,
      );
    }
    const len = new DataView(this.#take(4).buffer).getUint32(0);
    if (len > this.#max) {
      throw new RawSideError("PROTOCOL", `frame of ${len} bytes exceeds the limit of ${this.#max}`);
    }
    if (!(await this.#fill(len))) {
      throw new RawSideError(
        "PROTOCOL",
        `stream ended inside a frame: ${this.#buffered} of ${len} bytes`,
      );
    }
    return this.#take(len);
  }

  /** Stops reading (releases the stream). */
  async cancel(): Promise<void> {
    this.#done = true;
    await this.#reader.cancel().catch(() => {});
  }
}

/**
 * Wraps bytes as a uint8 tensor (how byte strings travel in a bundle).
 *
 * @example
 * ```ts
 * import { bytesTensor } from "./wire.ts";
 * console.log(bytesTensor(new Uint8Array(3)).dims); // [3]
 * ```
 */
export function bytesTensor(b: Uint8Array): Tensor<"uint8"> {
  return tensor("uint8", [b.length], b);
}
