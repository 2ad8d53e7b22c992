/**
 * The `LEAVE` handler: a clinic is done with the finished study (`runtime/server/study_end.ts`
 * counts it; the server ends when every clinic of the turn order has left). Before the end it
 * changes nothing and says the study is not finished.
 *
 * @example
 * ```ts
 * import { leaveStudy } from "./leave_handler.ts";
 * console.log(typeof leaveStudy); // "function"
 * ```
 * @module
 */
import { encodeReply, type Handler } from "./handler_context.ts";

/**
 * `LEAVE`: counts the clinic as gone from a finished study; replies with who is still to leave.
 *
 * @example
 * ```ts
 * import { leaveStudy } from "./leave_handler.ts";
 * // const reply = await leaveStudy(ctx, ctx.state.clinic("a"), { type: "LEAVE" });
 * ```
 * (tests/runtime/server/study_end_test.ts serves as the running example.)
 */
export const leaveStudy: Handler<"LEAVE"> = (ctx, c) => {
  const { schedule } = ctx.state;
  ctx.end?.leave(c.name);
  const waitingFor = ctx.end?.waitingFor ?? [];
  return Promise.resolve(
    encodeReply(ctx, { type: "LEAVE_RESULT", finished: schedule.finished, waitingFor }),
  );
};
