/**
 * The courier's client of the server protocol: Noise IK handshake over `POST
 * /v1/handshake`, then each request sealed into the channel, POSTed to
 * `/v1/session/:id/msg`, and the reply opened and decoded.
 *
 * Reconnection: on a network error, a 5xx, `429 RATE_LIMITED` (after its `Retry-After`), or
 * `404 UNKNOWN_SESSION` (the server restarted or replaced the session) it handshakes again and re-sends THE SAME request (same step
 * id) sealed in the new channel. That is safe because the server answers a repeated step
 * id from its cache without applying it again. Retries are bounded with exponential
 * backoff; every other refusal (4xx) is thrown as a {@linkcode ServerRequestError}.
 *
 * @example
 * ```ts
 * import { ServerConnection } from "./server_connection.ts";
 * import type { KeyPair } from "../../crypto/noise/dh.ts";
 * async function whoseTurn(serverPublicKey: Uint8Array, clinicKeyPair: KeyPair) {
 *   const conn = await ServerConnection.connect({ url: "http://127.0.0.1:8443", serverPublicKey, clinicKeyPair });
 *   return (await conn.request({ type: "TURN_REQUEST" })).turn;
 * }
 * ```
 * @module
 */
import { NoiseError } from "../../crypto/errors.ts";
import { type ChannelCipher, initiatorHandshake, MessageOpener, type SecureChannel, sealChunked } from "../../crypto/channel/mod.ts";
import type { KeyPair } from "../../crypto/keys/key_pair.ts";
import type { BundleOptions, DecodeLimits } from "../codec/mod.ts";
import { PhaseProfile } from "../protocol/phase_profile.ts";
import {
  APP_FRAME_TYPE,
  BodyFrameParser,
  CLINIC_HEADER,
  decodeMessage,
  encodeMessage,
  type EvalMessage,
  type EvalResultMessage,
  type ExportMessage,
  type ExportResultMessage,
  type FetchFrontsMessage,
  type FetchWeightsMessage,
  type FrontsMessage,
  type MiddleBackwardMessage,
  type MiddleBackwardResultMessage,
  type MiddleForwardMessage,
  type MiddleForwardResultMessage,
  packFrames,
  PROTOCOL_CHANNEL_OPTIONS,
  ProtocolError,
  REPLY_TYPE,
  type RequestMessage,
  SESSION_HEADER,
  type StepMessage,
  type StepResultMessage,
  type TurnDoneMessage,
  type TurnDoneResultMessage,
  type TurnMessage,
  type TurnRequestMessage,
  type TurnRestartMessage,
  type StudyMessage,
  type StudyResultMessage,
  type LeaveMessage,
  type LeaveResultMessage,
  type SecAggReplyMessage,
  type SecAggRequestMessage,
  type WeightsMessage,
} from "../protocol/mod.ts";

/**
 * The reply type of each request type.
 *
 * @example
 * ```ts
 * import type { ReplyFor } from "./server_connection.ts";
 * type R = ReplyFor<{ type: "TURN_REQUEST" }>; // TurnMessage
 * ```
 */
export type ReplyFor<M extends RequestMessage> = M extends StepMessage ? StepResultMessage
  : M extends MiddleForwardMessage ? MiddleForwardResultMessage
  : M extends MiddleBackwardMessage ? MiddleBackwardResultMessage
  : M extends EvalMessage ? EvalResultMessage
  : M extends TurnRequestMessage ? TurnMessage
  : M extends TurnDoneMessage ? TurnDoneResultMessage
  : M extends FetchWeightsMessage ? WeightsMessage
  : M extends FetchFrontsMessage ? FrontsMessage
  : M extends ExportMessage ? ExportResultMessage
  : M extends TurnRestartMessage ? TurnMessage
  : M extends StudyMessage ? StudyResultMessage
  : M extends LeaveMessage ? LeaveResultMessage
  : M extends SecAggRequestMessage ? SecAggReplyMessage
  : never;

/**
 * A refusal by the server (4xx/5xx with a JSON error), or a reply that does not fit.
 *
 * @example
 * ```ts
 * import { ServerRequestError } from "./server_connection.ts";
 * const e = new ServerRequestError(409, "WRONG_EPOCH", "server is in epoch 2");
 * console.log(e.status, e.code); // 409 WRONG_EPOCH
 * ```
 */
export class ServerRequestError extends Error {
  /** HTTP status (0 when the reply itself was wrong). */
  readonly status: number;
  /** The server's error code, e.g. `NOT_YOUR_TURN`. */
  readonly code: string;

  /** Makes an error with the server's status and code. */
  constructor(status: number, code: string, message: string, options?: ErrorOptions) {
    super(`${code}: ${message}`, options);
    this.name = "ServerRequestError";
    this.status = status;
    this.code = code;
  }
}

/**
 * Options of {@linkcode ServerConnection.connect}.
 *
 * @example
 * ```ts
 * import type { ServerConnectionOptions } from "./server_connection.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/key_pair.ts";
 * const o: ServerConnectionOptions = { url: "http://127.0.0.1:8443",
 *   serverPublicKey: generateStaticKeyPair().publicKey, clinicKeyPair: generateStaticKeyPair(),
 *   codec: { dtype: "int8" } };
 * ```
 */
export interface ServerConnectionOptions {
  /** Server base URL, e.g. `http://10.0.0.5:8443`. */
  url: string;
  /** The server's static public key (pinned). */
  serverPublicKey: Uint8Array;
  /** This clinic's static key pair. */
  clinicKeyPair: KeyPair;
  /** Consortium pre-shared key (IKpsk2), if the server uses one. */
  psk?: Uint8Array;
  /** The channel's cipher (default `"chachapoly"`); the server must use the same. */
  cipher?: ChannelCipher;
  /**
   * Encoding of the tensors sent (default float32 exact). A tensor that still carries its
   * wire record (the raw side's activation, already in the clinic's codec) is sent as that
   * record; replies' tensors keep theirs, so the courier relays the cut gradient unchanged.
   */
  codec?: BundleOptions;
  /** Limits on the replies' tensors (default the codec's). */
  limits?: DecodeLimits;
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /** First backoff in ms, doubled per retry up to `maxBackoffMs` (default 100). */
  backoffMs?: number;
  /** Backoff cap (default 5000 ms). */
  maxBackoffMs?: number;
  /** `fetch` to use (tests). */
  fetch?: typeof fetch;
  /** Log sink for reconnects (default: none). */
  log?: (line: string) => void;
  /** Per-phase timings of each request (encode, seal, HTTP, open, decode); default none. */
  profile?: PhaseProfile;
}

/** Errors after which a re-handshake and a retry may succeed (not before `afterMs`). */
class Retryable extends Error {
  /** The server's `Retry-After`, in ms (0: none). */
  afterMs = 0;
}

/**
 * A clinic's connection to the server.
 *
 * @example
 * ```ts
 * import { ServerConnection } from "./server_connection.ts";
 * import type { ServerConnectionOptions } from "./server_connection.ts";
 * import type { Tensor } from "../../models/tensor.ts";
 * async function step(options: ServerConnectionOptions, activation: Tensor, labels: Tensor) {
 *   const conn = await ServerConnection.connect(options);
 *   const { cutGrad, loss } = await conn.request({ type: "STEP", stepId: "0:0", epoch: 0, activation, labels });
 *   return { cutGrad, loss };
 * }
 * ```
 */
export class ServerConnection {
  readonly #o: ServerConnectionOptions;
  readonly #fetch: typeof fetch;
  readonly #base: string;
  #channel: SecureChannel | null = null;
  #session = "";
  #clinic = "";
  #up = 0;
  #down = 0;
  #reconnects = 0;
  #chain: Promise<unknown> = Promise.resolve();
  readonly #prof: PhaseProfile;

  private constructor(o: ServerConnectionOptions) {
    this.#o = o;
    this.#prof = o.profile ?? new PhaseProfile(false);
    this.#fetch = o.fetch ?? fetch;
    this.#base = o.url.replace(/\/+$/, "");
  }

  /**
   * Connects: handshakes (with the same retry policy as requests).
   *
   * @throws {ServerRequestError} `UNKNOWN_CLINIC` (403) when the server does not know this key,
   *   or `UNREACHABLE` after the retries.
   * @example
   * ```ts
   * import { ServerConnection } from "./server_connection.ts";
   * import type { ServerConnectionOptions } from "./server_connection.ts";
   * function open(options: ServerConnectionOptions) { return ServerConnection.connect({ ...options, retries: 3 }); }
   * ```
   */
  static async connect(options: ServerConnectionOptions): Promise<ServerConnection> {
    // Each handshake's message 1 carries a fresh TAI64N timestamp from the process's
    // strictly increasing clock (crypto/channel/handshake.ts), which the server requires to
    // grow per clinic key: a clock set back refuses the clinic (409 STALE_HANDSHAKE) until
    // it passes the last handshake's time again.
    const c = new ServerConnection(options);
    await c.#withRetries("handshake", () => c.#handshake());
    return c;
  }

  /** This clinic's name as the server's allowlist has it. */
  get clinic(): string {
    return this.#clinic;
  }

  /** The current session id (hex). */
  get sessionId(): string {
    return this.#session;
  }

  /** Bytes sent (HTTP bodies, handshakes included). */
  get bytesUp(): number {
    return this.#up;
  }

  /** Bytes received (HTTP bodies). */
  get bytesDown(): number {
    return this.#down;
  }

  /** Re-handshakes done after the first. */
  get reconnects(): number {
    return this.#reconnects;
  }

  async #post(path: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}${path}`, {
        method: "POST",
        body: body as Uint8Array<ArrayBuffer>,
        headers: { "content-type": "application/octet-stream", ...headers },
      });
    } catch (e) {
      // fetch's own message ("fetch failed") names neither the address nor the reason.
      const why = (e as Error).cause instanceof Error ? ` (${((e as Error).cause as Error).message})` : "";
      throw new Retryable(`network error reaching ${this.#base}: ${(e as Error).message}${why}`, { cause: e });
    }
    this.#up += body.length;
    return res;
  }

  async #refusal(res: Response): Promise<Error> {
    const text = await res.text();
    this.#down += text.length;
    let code = `HTTP_${res.status}`;
    // Not a splitgate error body: say so in one line rather than echo a web page.
    let message = `${this.#base} answered ${res.status} with ${res.headers.get("content-type") ?? "no content type"} ` +
      `(${text.length} bytes), not a splitgate error: is this the splitgate server's address?`;
    try {
      const j = JSON.parse(text);
      if (j?.error?.code) ({ code, message } = j.error);
    } catch { /* not JSON: keep the status */ }
    if (res.status >= 500 || (res.status === 404 && code === "UNKNOWN_SESSION")) {
      return new Retryable(`${code}: ${message}`);
    }
    if (res.status === 429) {
      // Too many handshakes (RATE_LIMITED): wait as long as the server asks, then retry.
      const r = new Retryable(`${code}: ${message}`);
      r.afterMs = 1000 * (Number(res.headers.get("retry-after")) || 1);
      return r;
    }
    return new ServerRequestError(res.status, code, message);
  }

  async #handshake(): Promise<void> {
    this.#channel?.destroy();
    this.#channel = null;
    const hs = initiatorHandshake({
      staticKeyPair: this.#o.clinicKeyPair,
      serverPublicKey: this.#o.serverPublicKey,
      psk: this.#o.psk,
      cipher: this.#o.cipher,
      channel: PROTOCOL_CHANNEL_OPTIONS,
    });
    const res = await this.#post("/v1/handshake", hs.message1);
    if (!res.ok) throw await this.#refusal(res);
    const m2 = new Uint8Array(await res.arrayBuffer());
    this.#down += m2.length;
    this.#channel = hs.finish(m2);
    this.#session = res.headers.get(SESSION_HEADER) ?? "";
    this.#clinic = res.headers.get(CLINIC_HEADER) ?? "";
    if (!/^[0-9a-f]{32}$/.test(this.#session)) {
      throw new ServerRequestError(0, "BAD_REPLY", "handshake reply has no valid session id");
    }
  }

  async #withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const retries = this.#o.retries ?? 5;
    let wait = this.#o.backoffMs ?? 100;
    for (let attempt = 0;; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof Retryable)) throw e;
        if (attempt >= retries) {
          throw new ServerRequestError(0, "UNREACHABLE", `${what} failed after ${attempt + 1} attempts: ${e.message}`, {
            cause: e,
          });
        }
        const pause = Math.max(wait, e.afterMs);
        this.#o.log?.(`${what}: ${e.message}; reconnecting in ${pause} ms`);
        await new Promise((r) => setTimeout(r, pause));
        wait = Math.min(wait * 2, this.#o.maxBackoffMs ?? 5000);
        // Drop the channel: the next attempt handshakes first.
        this.#channel?.destroy();
        this.#channel = null;
      }
    }
  }

  /**
   * Sends one request and returns its reply; requests are sent one at a time.
   *
   * @throws {ServerRequestError} the server's refusal (its status and code), `UNREACHABLE`
   *   after the retries, or `BAD_REPLY` for a reply that does not answer the request.
   * @throws {ProtocolError} for a reply that does not decode.
   * @example
   * ```ts
   * import type { ServerConnection } from "./server_connection.ts";
   * async function whoseTurn(c: ServerConnection) { return (await c.request({ type: "TURN_REQUEST" })).turn; }
   * ```
   */
  request<M extends RequestMessage>(msg: M): Promise<ReplyFor<M>> {
    const r = this.#chain.then(() => this.#request(msg));
    this.#chain = r.catch(() => {});
    return r;
  }

  async #request<M extends RequestMessage>(msg: M): Promise<ReplyFor<M>> {
    const prof = this.#prof, t = msg.type;
    const plain = prof.time(
      `courier ${t} encode`,
      () => encodeMessage(msg, { ...this.#o.codec, reuseRecords: true }),
    );
    return await this.#withRetries(msg.type, async () => {
      if (this.#channel === null) {
        await this.#handshake();
        this.#reconnects++;
      }
      const channel = this.#channel!;
      // Sealed afresh on every attempt (a re-sent body would be refused as a replay). The
      // request goes as one body: a streamed upload measured slower here (Deno's fetch pumps
      // a stream body piece by piece: 13 × 64 KiB took 18 ms across processes against 8 ms
      // as bytes), and bytes let fetch re-send on a fresh connection when a kept-alive one
      // was closed. The reply streams in and is opened frame by frame as it arrives, while
      // the server seals the next frame.
      const body = prof.time(`courier ${t} seal`, () => packFrames(sealChunked(channel, APP_FRAME_TYPE, plain)));
      let openMs = 0;
      const t0 = prof.enabled ? performance.now() : 0;
      const res = await this.#post(`/v1/session/${this.#session}/msg`, body, { [CLINIC_HEADER]: this.#clinic });
      if (prof.enabled) prof.add(`courier ${t} until the reply's headers`, performance.now() - t0);
      if (!res.ok) throw await this.#refusal(res);
      const parser = new BodyFrameParser({ maxFrameSize: channel.maxFrameSize });
      const opener = new MessageOpener(channel);
      try {
        if (res.body) {
          for await (const piece of res.body) {
            const done = parser.push(piece);
            const tOpen = prof.enabled ? performance.now() : 0;
            for (const f of done) opener.push(f);
            if (prof.enabled) openMs += performance.now() - tOpen;
          }
        }
      } catch (e) {
        // A reply cut off on the way (the connection dropped) is retried; one that arrived
        // and does not open is not.
        if (e instanceof NoiseError) throw e;
        throw new Retryable(`network error reading the reply: ${(e as Error).message}`, { cause: e });
      }
      this.#down += parser.bytes;
      if (parser.bytes === 0) throw new Retryable("the reply was cut off before its first frame");
      parser.end();
      if (!opener.done) {
        // Every frame that came opened, but the final one never came: the server cut the
        // reply short (its session closing under it); the request is retried.
        throw new Retryable("the reply was cut off before its final frame");
      }
      const opened = opener.finish();
      if (prof.enabled) {
        prof.add(`courier ${t} open (streamed)`, openMs);
        prof.add(`courier ${t} http round trip`, performance.now() - t0);
      }
      if (opened.type !== APP_FRAME_TYPE) throw new ProtocolError("BAD_MESSAGE", `reply frame type ${opened.type}`);
      const reply = prof.time(`courier ${t} decode`, () => decodeMessage(opened.payload, { limits: this.#o.limits, keepRecords: true, int8Views: true }));
      const want = REPLY_TYPE[msg.type];
      if (reply.type === "ERROR") throw new ServerRequestError(0, reply.code, reply.message);
      if (reply.type !== want) throw new ServerRequestError(0, "BAD_REPLY", `${msg.type} answered with ${reply.type}, expected ${want}`);
      if ("stepId" in msg && "stepId" in reply && reply.stepId !== msg.stepId) {
        throw new ServerRequestError(0, "BAD_REPLY", `reply for step ${reply.stepId}, expected ${msg.stepId}`);
      }
      return reply as ReplyFor<M>;
    });
  }

  /** Forgets the channel (keys wiped). The server drops the session on the next handshake. */
  close(): void {
    this.#channel?.destroy();
    this.#channel = null;
  }
}
