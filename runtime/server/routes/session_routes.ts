/**
 * `POST /:id/msg` (mounted under `/v1/session`): the sealed frames of one request
 * (length-prefixed, see `runtime/protocol/body_frames.ts`) → the sealed frames of its reply.
 *
 * The step traffic is handled as it streams: each sealed frame of the request is opened as
 * soon as it has arrived, and each frame of the reply is sealed when the clinic reads on
 * (while it opens the previous one), so the reply's sealing and opening overlap on the two
 * machines instead of adding up (the courier sends its request as one body; see
 * runtime/client/server_connection.ts). The middleware, in order: phase timing, session
 * lookup, the streaming body limit (counted as the bytes come, before anything is opened).
 *
 * The body is read and authenticated in full, within `limits.bodyTimeoutMs` (408
 * `BODY_TIMEOUT`), BEFORE the request takes its place in the session's queue: the session
 * id travels in the URL, so anyone on the path can open a request on it, and a body that
 * never ends (or never authenticates) must not hold the clinic's real requests (docs/design/security_model.md).
 * Opening frames outside the queue is safe: the channel's replay window (RFC 4303 style)
 * accepts each counter once, in any order, and an honest courier sends its next request
 * only after the last reply. The first authenticated frame proves a new session
 * (`SessionTable.prove`). Then one request of a session at a time, reply included (its
 * frames take consecutive counters); a request is refused by its header where it can be
 * (`handlers/request_gates.ts`) and otherwise decoded and answered under the server's lock.
 * The answer is injected (`answer`): the server core's here, the request bus on a scale-out
 * front (`runtime/cluster/front_app.ts`, docs/design/scale_out.md), which mounts this same
 * route without any training state.
 * A client that goes away mid-upload is logged as such (400 `BODY_INCOMPLETE`).
 *
 * @example
 * ```ts
 * import { sessionRoutes } from "./session_routes.ts";
 * console.log(typeof sessionRoutes); // "function"
 * ```
 * (tests/runtime/server/bad_input_test.ts serves as the running example.)
 * @module
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { MessageOpener, sealFrames } from "../../../crypto/channel/mod.ts";
import { APP_FRAME_TYPE, BodyFrameParser, frameStream, ProtocolError } from "../../protocol/mod.ts";
import type { HandlerContext } from "../handlers/handler_context.ts";
import { httpError } from "../http_error.ts";
import { phaseTiming, type PhaseTimingEnv, type RequestTimer } from "../middleware/phase_timing.ts";
import { sessionLookup, type SessionEnv } from "../middleware/session_lookup.ts";
import { streamingBodyLimit } from "../middleware/streaming_body_limit.ts";
import type { ServerCore } from "../server_core.ts";
import type { TrafficBook } from "../clinic_traffic.ts";
import type { Session, SessionTable } from "../session_table.ts";

/**
 * What the session route needs.
 *
 * @example
 * ```ts
 * import type { SessionRouteDeps } from "./session_routes.ts";
 * function limit(d: SessionRouteDeps) { return d.maxBodyBytes; }
 * ```
 */
export interface SessionRouteDeps {
  /** Phase timings and the log. */
  ctx: Pick<HandlerContext, "profile" | "log">;
  /** The clinics' traffic counters (the server state; a front's own `TrafficCounters`). */
  traffic: TrafficBook;
  sessions: SessionTable;
  /**
   * The answer to an opened request: the server core's (`server_core.ts`: gate, decode,
   * handle, under the lock), or a front's request bus (`runtime/cluster/bus_answerer.ts`).
   */
  answer: ServerCore["answer"];
  /** Runs once a reply has left (the core's deferred update); none: nothing to run. */
  afterReply?: () => void;
  /** Largest request body in bytes. */
  maxBodyBytes: number;
  /** Milliseconds a request body may take to arrive in full. */
  bodyTimeoutMs: number;
}

type Env = { Variables: SessionEnv["Variables"] & PhaseTimingEnv["Variables"] };

/** A request's opened message and the bytes its body had. */
interface Opened {
  type: number;
  payload: Uint8Array;
  bytes: number;
}

/** What {@linkcode readAndOpen} needs besides the body. */
interface ReadOptions {
  session: Session;
  maxBodyBytes: number;
  timeoutMs: number;
  timer: RequestTimer;
  /** Called once, when the first frame has authenticated. */
  onAuthenticated: () => void;
}

/**
 * Reads the body as it streams, opening each sealed frame as soon as it is complete, and
 * refuses it (cancelling the read) when it has not ended within `timeoutMs`.
 *
 * @throws {HTTPException} 408 `BODY_TIMEOUT`, 400 `BODY_INCOMPLETE` (the client went away),
 *   413 from the body limit; {NoiseError}, {ProtocolError} from the frames.
 */
async function readAndOpen(body: ReadableStream<Uint8Array> | null, o: ReadOptions): Promise<Opened> {
  const parser = new BodyFrameParser({ maxFrameSize: o.session.channel.maxFrameSize });
  const opener = new MessageOpener(o.session.channel, { maxMessageSize: o.maxBodyBytes });
  const open = o.timer.meter();
  let proven = false;
  if (body) {
    const reader = body.getReader();
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      reader.cancel().catch(() => {});
    }, o.timeoutMs);
    try {
      const late = () => httpError(408, "BODY_TIMEOUT", `request body not complete after ${o.timeoutMs} ms (${parser.bytes} bytes came)`);
      for (;;) {
        // The deadline cancels the read: whether that ends or fails it, the answer is 408.
        const piece = await readPiece(reader, parser.bytes).catch((e) => Promise.reject(timedOut ? late() : e));
        if (timedOut) throw late();
        if (piece === null) break;
        const frames = parser.push(piece);
        open.time(() => {
          for (const f of frames) opener.push(f);
        });
        // push throws on a frame that does not authenticate: here they all did.
        if (!proven && frames.length > 0) {
          proven = true;
          o.onAuthenticated();
        }
      }
    } finally {
      clearTimeout(deadline);
      reader.releaseLock();
    }
  }
  parser.end();
  const opened = opener.finish();
  o.timer.sinceStart("server read + open (streamed)");
  o.timer.profile.add("server open (streamed)", open.ms);
  return { type: opened.type, payload: opened.payload, bytes: parser.bytes };
}

/**
 * The next piece of the body (null at its end). A read that fails other than by the body
 * limit's refusal means the client went away: 400 `BODY_INCOMPLETE`, which the route logs
 * as a disconnect rather than an internal error.
 */
async function readPiece(reader: ReadableStreamDefaultReader<Uint8Array>, received: number): Promise<Uint8Array | null> {
  try {
    const { done, value } = await reader.read();
    return done ? null : value;
  } catch (e) {
    if (e instanceof HTTPException) throw e;
    throw new ClientGone(received, e);
  }
}

/** The client's body stopped arriving: the connection closed or reset mid-upload. */
class ClientGone extends Error {
  constructor(readonly received: number, cause: unknown) {
    super(`client disconnected mid-upload after ${received} bytes`, { cause });
    this.name = "ClientGone";
  }
}

/**
 * Answers an opened request through the core (`server_core.ts`), which takes the lock; inside
 * it, first, the session must still be the clinic's live one and the frame an application one.
 */
function answer(d: SessionRouteDeps, id: string, session: Session, opened: Opened): Promise<Uint8Array> {
  return d.answer(session.clinic, opened.payload, {
    bytes: opened.bytes,
    precheck: () => {
      if (!d.sessions.isLive(id, session)) throw httpError(404, "UNKNOWN_SESSION", "session was replaced; handshake again");
      if (opened.type !== APP_FRAME_TYPE) {
        throw new ProtocolError("BAD_MESSAGE", `frame type ${opened.type}: expected ${APP_FRAME_TYPE}`);
      }
    },
  });
}

/**
 * The reply's sealed frames as a stream, each sealed when the clinic reads on. Should the
 * channel be destroyed under it (the server closing), the stream ends early with a log line
 * instead of erroring: Deno.serve prints a response stream's error as if uncaught (the
 * uncaught `NoiseError: channel is closed`), and the clinic retries a cut-off reply.
 */
function replyStream(
  d: SessionRouteDeps,
  session: Session,
  reply: Uint8Array,
  timer: RequestTimer,
  release: () => void,
): ReadableStream<Uint8Array> {
  const { profile } = d.ctx;
  const st = d.traffic.clinic(session.clinic);
  const seal = timer.meter();
  const frames = sealFrames(session.channel, APP_FRAME_TYPE, reply);
  let cut = false;
  const timed: Iterator<Uint8Array> = {
    next: () => {
      try {
        return seal.time(() => frames.next());
      } catch (e) {
        cut = true;
        d.ctx.log(`clinic ${session.clinic}: reply cut off (${(e as Error).message})`);
        return { done: true, value: undefined };
      }
    },
  };
  return frameStream(timed, (n) => (st.bytesOut += n), (complete) => {
    // The reply has left (or its reader is gone): the step's deferred update runs now,
    // after a turn of the event loop that lets the last frame reach the socket — a
    // session's run holds this thread.
    if (d.afterReply) setTimeout(d.afterReply, 0);
    release();
    if (complete && !cut) {
      profile.add("server seal (streamed)", seal.ms);
      timer.sinceStart("server /msg total");
    }
  });
}

/**
 * Reads and opens a request's body before it queues; a refused body's rest is not read, and
 * a client gone mid-upload is logged as such.
 */
async function readOutsideQueue(
  d: SessionRouteDeps,
  body: ReadableStream<Uint8Array> | null,
  session: Session,
  id: string,
  timer: RequestTimer,
): Promise<Opened> {
  try {
    return await readAndOpen(body, {
      session,
      maxBodyBytes: d.maxBodyBytes,
      timeoutMs: d.bodyTimeoutMs,
      timer,
      onAuthenticated: () => d.sessions.prove(id, session),
    });
  } catch (e) {
    await body?.cancel().catch(() => {});
    if (e instanceof ClientGone) {
      d.ctx.log(`clinic ${session.clinic}: ${e.message} (session ${id.slice(0, 8)})`);
      throw httpError(400, "BODY_INCOMPLETE", e.message);
    }
    throw e;
  }
}

/**
 * The session router.
 *
 * @example
 * ```ts
 * import { sessionRoutes } from "./session_routes.ts";
 * // app.route("/v1/session", sessionRoutes({ ctx, sessions, answer: core.answer, maxBodyBytes, bodyTimeoutMs }));
 * ```
 */
export function sessionRoutes(d: SessionRouteDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.post(
    "/:id/msg",
    phaseTiming(d.ctx.profile),
    sessionLookup(d.sessions),
    streamingBodyLimit(d.maxBodyBytes),
    async (c) => {
      const { session, sessionId, timer } = c.var;
      timer.started();
      const opened = await readOutsideQueue(d, c.req.raw.body, session, sessionId, timer);
      const turn = d.sessions.enqueue(session);
      await turn.ready;
      try {
        const reply = await answer(d, sessionId, session, opened);
        timer.sinceStart("server /msg until the reply is ready");
        const body = replyStream(d, session, reply, timer, turn.release);
        return c.body(body, 200, { "content-type": "application/octet-stream" });
      } catch (e) {
        turn.release();
        throw e;
      }
    },
  );
  return app;
}
