/**
 * The server's answer to each request message, as a table typed by request type (as
 * `SCHEMAS` is by message type in `runtime/protocol/message_codec.ts`): a request type
 * without a handler does not compile. {@linkcode handleRequest} answers a repeated
 * state-changing request from the clinic's cached reply (applied once), then dispatches.
 *
 * @example
 * ```ts
 * import { HANDLERS } from "./handler_table.ts";
 * console.log(Object.keys(HANDLERS).length); // 13
 * ```
 * @module
 */
import type { RequestMessage } from "../protocol/mod.ts";
import { exportSegment } from "./handlers/export_handler.ts";
import { type Handler, type HandlerContext, type RequestOf, retryKey } from "./handlers/handler_context.ts";
import { STEP_HANDLERS } from "./handlers/step_handlers.ts";
import { TURN_HANDLERS } from "./handlers/turn_handlers.ts";
import { turnRestart } from "./handlers/turn_restart_handler.ts";
import { studyDefinition } from "./handlers/study_handler.ts";
import { leaveStudy } from "./handlers/leave_handler.ts";
import { PARALLEL_HANDLERS } from "./handlers/parallel_handlers.ts";
import { secaggPoll } from "./handlers/secagg_handler.ts";
import type { ClinicRecord } from "./server_state.ts";

/**
 * One handler per request type.
 *
 * @example
 * ```ts
 * import { HANDLERS } from "./handler_table.ts";
 * console.log("TURN_DONE" in HANDLERS, "STEP_RESULT" in HANDLERS); // true false
 * ```
 */
export const HANDLERS: { readonly [T in RequestMessage["type"]]: Handler<T> } = {
  ...STEP_HANDLERS,
  ...TURN_HANDLERS,
  FETCH_FRONTS: PARALLEL_HANDLERS.FETCH_FRONTS,
  EXPORT: exportSegment,
  TURN_RESTART: turnRestart,
  STUDY: studyDefinition,
  LEAVE: leaveStudy,
  SECAGG: secaggPoll,
};

/**
 * Answers `req` from clinic `c` (under the server's lock): a repeat of the clinic's last
 * state-changing request gets its cached reply; anything else goes to its handler, unless
 * the server dropped the deferred update of one of this clinic's steps as non-finite since
 * its last request: that request is then refused (`NON_FINITE`, naming the step), once, so
 * the clinic learns of it (`ServerModel.takeDropped`).
 *
 * @throws {ProtocolError} from the handler, the state unchanged.
 * @example
 * ```ts
 * import { handleRequest } from "./handler_table.ts";
 * // const reply = await handleRequest(ctx, state.clinic("a"), { type: "TURN_REQUEST" });
 * ```
 * (tests/runtime/server/turns_test.ts, "a retried TURN_DONE does not advance twice",
 * shows a repeat.)
 */
export async function handleRequest(ctx: HandlerContext, c: ClinicRecord, req: RequestMessage): Promise<Uint8Array> {
  const key = retryKey(req);
  if (key !== null && key === c.lastKey && c.lastReply) return c.lastReply; // a retry: applied once
  const dropped = await ctx.state.model.takeDropped(c.name);
  if (dropped) throw dropped;
  return await dispatch(req.type, ctx, c, req as RequestOf<typeof req.type>);
}

/** Calls the handler of type `type` (a generic helper, so the table lookup stays typed). */
function dispatch<T extends RequestMessage["type"]>(
  type: T,
  ctx: HandlerContext,
  c: ClinicRecord,
  req: RequestOf<T>,
): Promise<Uint8Array> {
  return (HANDLERS[type] as Handler<T>)(ctx, c, req);
}
