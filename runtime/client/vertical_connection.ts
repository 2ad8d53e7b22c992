/**
 * A party's Noise channel to a vertical study's server (`runtime/server/vertical_app.ts`):
 * the IK handshake against the pinned server key, then one sealed request and reply at a
 * time. A `V_ERROR` reply is thrown as a {@linkcode ProtocolError} with the server's code.
 *
 * @example
 * ```ts
 * import { VerticalConnection } from "./vertical_connection.ts";
 * // const conn = await VerticalConnection.connect({ url: "http://127.0.0.1:8080", keyPair, serverPublicKey });
 * // const reply = await conn.request({ type: "V_PSI_GET", tag: "train", round: 1 });
 * ```
 * @module
 */
import { openChunked, sealChunked, type SecureChannel } from "../../crypto/channel/mod.ts";
import type { KeyPair } from "../../crypto/keys/mod.ts";
import type { Tensor } from "../../models/tensor.ts";
import type { BundleOptions } from "../codec/mod.ts";
import { packFrames, unpackFrames } from "../protocol/body_frames.ts";
import { APP_FRAME_TYPE } from "../protocol/channel_settings.ts";
import { ProtocolError, type ProtocolErrorCode } from "../protocol/protocol_error.ts";
import { postHandshake } from "./http_handshake.ts";
import {
  decodeVertical,
  encodeVertical,
  type VerticalHeader,
  type VerticalMessage,
} from "../protocol/vertical_wire.ts";

/** Options of {@linkcode VerticalConnection.connect}. */
export interface VerticalConnectionOptions {
  /** The server's base URL (loopback in the demo). */
  url: string;
  keyPair: KeyPair;
  /** The server's static public key, pinned. */
  serverPublicKey: Uint8Array;
  /** Wire codec of the tensors this party sends (default float32). */
  codec?: BundleOptions;
  /** Injected fetch (tests). */
  fetch?: typeof fetch;
}

/**
 * One party's session.
 *
 * @example
 * ```ts
 * import { VerticalConnection } from "./vertical_connection.ts";
 * console.log(typeof VerticalConnection.connect); // "function"
 * ```
 */
export class VerticalConnection {
  /** Sealed bytes sent and received (frames, before HTTP framing). */
  bytesUp = 0;
  bytesDown = 0;

  private constructor(
    readonly url: string,
    readonly session: string,
    readonly channel: SecureChannel,
    readonly codec: BundleOptions,
    readonly doFetch: typeof globalThis.fetch,
  ) {}

  /**
   * Runs the handshake.
   *
   * @throws {Error} naming the URL and status when the server refuses.
   */
  static async connect(o: VerticalConnectionOptions): Promise<VerticalConnection> {
    const f = o.fetch ?? fetch;
    const { channel, session } = await postHandshake({
      url: `${o.url}/v1/vertical/handshake`,
      keyPair: o.keyPair,
      serverPublicKey: o.serverPublicKey,
      what: `vertical handshake with ${o.url}`,
      fetch: f,
    });
    return new VerticalConnection(o.url, session, channel, o.codec ?? {}, f);
  }

  /**
   * Sends one request and returns its reply.
   *
   * @throws {ProtocolError} with the server's code for a `V_ERROR` reply; {@link Error} for an HTTP failure.
   */
  async request(
    header: VerticalHeader,
    tensors: Record<string, Tensor> = {},
  ): Promise<VerticalMessage> {
    const body = packFrames(
      sealChunked(this.channel, APP_FRAME_TYPE, encodeVertical(header, tensors, this.codec)),
    );
    this.bytesUp += body.length;
    const res = await this.doFetch(`${this.url}/v1/vertical/session/${this.session}`, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
    });
    if (!res.ok) {
      throw new Error(`${header.type} to ${this.url}: HTTP ${res.status} ${await res.text()}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    this.bytesDown += bytes.length;
    const reply = decodeVertical(openChunked(this.channel, unpackFrames(bytes)).payload);
    if (reply.header.type === "V_ERROR") {
      throw new ProtocolError(
        (reply.header.code ?? "BAD_MESSAGE") as ProtocolErrorCode,
        `server refused ${header.type}: ${reply.header.message}`,
      );
    }
    return reply;
  }

  /** Destroys the channel's keys. */
  close(): void {
    this.channel.destroy();
  }
}
