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
 * One request of a session at a time, reply included (its frames take consecutive
 * counters); the decoded request is answered under the server's lock.
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
import { MessageOpener, sealFrames } from "../../../crypto/channel/mod.ts";
import {
  APP_FRAME_TYPE,
  BodyFrameParser,
  decodeMessage,
  frameStream,
  isRequest,
  MESSAGE_TYPES,
  ProtocolError,
} from "../../protocol/mod.ts";
import type { DecodeLimits } from "../../codec/mod.ts";
import { handleRequest } from "../handler_table.ts";
import type { HandlerContext } from "../handlers/handler_context.ts";
import { httpError } from "../http_error.ts";
import { phaseTiming, type PhaseTimingEnv, type RequestTimer } from "../middleware/phase_timing.ts";
import { sessionLookup, type SessionEnv } from "../middleware/session_lookup.ts";
import { streamingBodyLimit } from "../middleware/streaming_body_limit.ts";
import type { SerialLock } from "../serial_lock.ts";
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
  ctx: HandlerContext;
  sessions: SessionTable;
  /** The server's lock: one request at a time touches the model and the schedule. */
  lock: SerialLock;
  /** Largest request body in bytes. */
  maxBodyBytes: number;
  /** Decode limits of a request (cut-shaped tensors). */
  limits: DecodeLimits;
  /** Decode limits of TURN_DONE, whose sealed weight blobs the body limit bounds. */
  turnDoneLimits: DecodeLimits;
}

type Env = { Variables: SessionEnv["Variables"] & PhaseTimingEnv["Variables"] };

/** A request's opened message and the bytes its body had. */
interface Opened {
  type: number;
  payload: Uint8Array;
  bytes: number;
}

/** Reads the body as it streams, opening each sealed frame as soon as it is complete. */
async function readAndOpen(
  body: ReadableStream<Uint8Array> | null,
  session: Session,
  maxBodyBytes: number,
  timer: RequestTimer,
): Promise<Opened> {
  const parser = new BodyFrameParser({ maxFrameSize: session.channel.maxFrameSize });
  const opener = new MessageOpener(session.channel, { maxMessageSize: maxBodyBytes });
  const open = timer.meter();
  if (body) {
    for await (const piece of body) {
      const frames = parser.push(piece);
      open.time(() => {
        for (const f of frames) opener.push(f);
      });
    }
  }
  parser.end();
  const opened = opener.finish();
  timer.sinceStart("server read + open (streamed)");
  timer.profile.add("server open (streamed)", open.ms);
  return { type: opened.type, payload: opened.payload, bytes: parser.bytes };
}

/** Decodes and answers an opened request (under the lock). */
async function answer(d: SessionRouteDeps, id: string, session: Session, opened: Opened): Promise<Uint8Array> {
  if (!d.sessions.isLive(id, session)) throw httpError(404, "UNKNOWN_SESSION", "session was replaced; handshake again");
  const { state, profile, now } = d.ctx;
  const st = state.clinic(session.clinic);
  st.bytesIn += opened.bytes;
  st.lastSeen = now();
  state.schedule.seen(st.name, now());
  if (opened.type !== APP_FRAME_TYPE) {
    throw new ProtocolError("BAD_MESSAGE", `frame type ${opened.type}: expected ${APP_FRAME_TYPE}`);
  }
  // TURN_DONE carries sealed weight blobs (uint8, one per other clinic), which the
  // cut-shaped element limit does not describe: they are bounded by the body limit.
  const msg = profile.time("server decode", () =>
    decodeMessage(opened.payload, {
      limits: opened.payload[0] === MESSAGE_TYPES.TURN_DONE ? d.turnDoneLimits : d.limits,
      expect: state.model.expect,
    }));
  if (!isRequest(msg)) throw new ProtocolError("BAD_MESSAGE", `${msg.type} is a reply, not a request`);
  return await profile.timeAsync(`server handle ${msg.type} (step + encode)`, () => handleRequest(d.ctx, st, msg));
}

/** The reply's sealed frames as a stream, each sealed when the clinic reads on. */
function replyStream(
  d: SessionRouteDeps,
  session: Session,
  reply: Uint8Array,
  timer: RequestTimer,
  release: () => void,
): ReadableStream<Uint8Array> {
  const { state, profile } = d.ctx;
  const st = state.clinic(session.clinic);
  const seal = timer.meter();
  const frames = sealFrames(session.channel, APP_FRAME_TYPE, reply);
  const timed: Iterator<Uint8Array> = { next: () => seal.time(() => frames.next()) };
  return frameStream(timed, (n) => (st.bytesOut += n), (complete) => {
    // The reply has left (or its reader is gone): the step's deferred update runs now,
    // after a turn of the event loop that lets the last frame reach the socket — a
    // session's run holds this thread.
    setTimeout(() => void profile.timeAsync("server deferred update (after the reply)", () => state.model.startUpdate()), 0);
    release();
    if (complete) {
      profile.add("server seal (streamed)", seal.ms);
      timer.sinceStart("server /msg total");
    }
  });
}

/**
 * The session router.
 *
 * @example
 * ```ts
 * import { sessionRoutes } from "./session_routes.ts";
 * // app.route("/v1/session", sessionRoutes({ ctx, sessions, lock, maxBodyBytes, limits, turnDoneLimits }));
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
      const turn = d.sessions.enqueue(session);
      await turn.ready;
      timer.started();
      try {
        const opened = await readAndOpen(c.req.raw.body, session, d.maxBodyBytes, timer);
        const reply = await d.lock.run(() => answer(d, sessionId, session, opened));
        timer.sinceStart("server /msg until the reply is ready");
        const body = replyStream(d, session, reply, timer, turn.release);
        return c.body(body, 200, { "content-type": "application/octet-stream" });
      } catch (e) {
        turn.release();
        // The rest of a refused body is not read.
        await c.req.raw.body?.cancel().catch(() => {});
        throw e;
      }
    },
  );
  return app;
}
