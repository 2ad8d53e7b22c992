/**
 * The pipe between a vertical party's two processes (docs/design/vertical.md, "Sandbox"): the
 * raw-data process drives the party ({@linkcode runVerticalParty}) and hands each message for
 * the server to its courier as one `relay` request frame (`raw_side/wire.ts` framing, the
 * same as the horizontal clinic's pipe); the courier seals it into its Noise channel, sends
 * it, and answers with the server's reply and the channel's byte counts.
 *
 * Only the message types of {@linkcode RELAYED_TYPES} are relayed, so a raw side can send the
 * server nothing a party does not send anyway; the PSI's secret scalar and the identifiers
 * never enter a frame (the raw side sends blinded points only, `crypto/psi`).
 *
 * ```
 * raw side ── request "relay" {VerticalHeader} + tensors ──► courier ──► server
 * raw side ◄── reply {header: VerticalHeader, bytesUp, bytesDown} + tensors ── courier
 * raw side ◄── error {code, message} ── courier (V_ERROR, or the server unreachable)
 * ```
 *
 * @example
 * ```ts
 * import { PipeVerticalConnection } from "./vertical_pipe.ts";
 * // In the raw-data process, stdin and stdout being the pipe to the courier:
 * const conn = new PipeVerticalConnection(Deno.stdin.readable, Deno.stdout.writable);
 * // await conn.request({ type: "V_PSI_GET", tag: "train", round: 1 });
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { ProtocolError, type ProtocolErrorCode } from "../protocol/protocol_error.ts";
import type { VerticalHeader, VerticalMessage, VerticalType } from "../protocol/vertical_wire.ts";
import { decodeFrame, encodeFrame, FRAME_KIND, FrameReader } from "./raw_side/wire.ts";
import { RawSideError } from "./raw_side/error.ts";

/**
 * What a party needs of its connection to the server: the direct Noise channel
 * (`VerticalConnection`) or the pipe to its courier ({@linkcode PipeVerticalConnection}).
 *
 * @example
 * ```ts
 * import type { VerticalRequester } from "./vertical_pipe.ts";
 * function sent(c: VerticalRequester) { return c.bytesUp; }
 * ```
 */
export interface VerticalRequester {
  /** Sealed bytes sent and received through the channel. */
  readonly bytesUp: number;
  readonly bytesDown: number;
  request(header: VerticalHeader, tensors?: Record<string, Tensor>): Promise<VerticalMessage>;
}

/**
 * The message types a courier relays: a party's requests, nothing else.
 *
 * @example
 * ```ts
 * import { RELAYED_TYPES } from "./vertical_pipe.ts";
 * console.log(RELAYED_TYPES.includes("V_PSI_PUT")); // true
 * ```
 */
export const RELAYED_TYPES: readonly VerticalType[] = [
  "V_PSI_PUT",
  "V_PSI_GET",
  "V_FORWARD",
  "V_HEAD_BACKWARD",
  "V_EVAL",
  "V_RESUME",
  "V_EPOCH_END",
];

/** The method name of a relay frame. */
export const RELAY_METHOD = "relay";

/**
 * The raw side's end of the pipe: one request at a time (a party waits for each reply).
 *
 * @example
 * ```ts
 * import { PipeVerticalConnection } from "./vertical_pipe.ts";
 * const conn = new PipeVerticalConnection(new ReadableStream(), new WritableStream());
 * console.log(conn.bytesUp); // 0
 * ```
 */
export class PipeVerticalConnection implements VerticalRequester {
  bytesUp = 0;
  bytesDown = 0;
  readonly #reader: FrameReader;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #nextId = 1;

  /**
   * @param fromCourier the courier's replies (the raw side's stdin)
   * @param toCourier the raw side's requests (its stdout)
   */
  constructor(fromCourier: ReadableStream<Uint8Array>, toCourier: WritableStream<Uint8Array>) {
    this.#reader = new FrameReader(fromCourier);
    this.#writer = toCourier.getWriter();
  }

  /**
   * Relays one message to the server through the courier and returns the server's reply.
   *
   * @throws {ProtocolError} with the server's (or the courier's) code when refused;
   *   {@link RawSideError} `CLOSED` when the courier's pipe ended, `PROTOCOL` for a reply out of turn
   */
  async request(
    header: VerticalHeader,
    tensors: Record<string, Tensor> = {},
  ): Promise<VerticalMessage> {
    const id = this.#nextId++;
    await this.#writer.write(encodeFrame({
      id,
      kind: FRAME_KIND.request,
      method: RELAY_METHOD,
      header,
      tensors: new Map(Object.entries(tensors)),
    }));
    const body = await this.#reader.next();
    if (body === null) {
      throw new RawSideError(
        "CLOSED",
        `the courier's pipe ended before the reply to ${header.type}`,
      );
    }
    const m = decodeFrame(body);
    if (m.id !== id) {
      throw new RawSideError("PROTOCOL", `reply for request ${m.id}, expected ${id}`);
    }
    const h = m.header as {
      header?: VerticalHeader;
      code?: string;
      message?: string;
      bytesUp?: number;
      bytesDown?: number;
    };
    if (m.kind === FRAME_KIND.error) {
      throw new ProtocolError(
        (h.code ?? "BAD_MESSAGE") as ProtocolErrorCode,
        `courier: ${header.type}: ${h.message ?? "refused"}`,
      );
    }
    if (m.kind !== FRAME_KIND.reply || !h.header) {
      throw new RawSideError(
        "PROTOCOL",
        `frame kind ${m.kind} without a reply header, expected a reply`,
      );
    }
    this.bytesUp = h.bytesUp ?? this.bytesUp;
    this.bytesDown = h.bytesDown ?? this.bytesDown;
    return { header: h.header, tensors: m.tensors };
  }

  /** Ends the pipe (the courier then closes its channel and exits). */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel();
  }
}
