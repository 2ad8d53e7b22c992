/**
 * The server's side of secure front aggregation in the channel (`frontAggregation: "secagg"`,
 * docs/design/secure_aggregation.md#runtime):
 *
 * - `SECAGG`: one poll of a secure-aggregation round, answered by the server's `SecAggRound`
 *   (synchronously: the round itself waits outside the server's lock, `secure_fronts.ts`).
 * - {@linkcode secaggRoundFor}: the round number that averages the fronts of an ended round,
 *   for the `FRONTS` reply; the first asker starts that aggregation.
 *
 * @example
 * ```ts
 * import { secaggPoll } from "./secagg_handler.ts";
 * console.log(typeof secaggPoll); // "function"
 * ```
 * @module
 */
import { ProtocolError } from "../../protocol/mod.ts";
import { encodeReply, type Handler, type HandlerContext } from "./handler_context.ts";

/**
 * `SECAGG`: answers one poll with the bytes the server's `SecAggRound` gives.
 *
 * @throws {ProtocolError} `BAD_MESSAGE` when the server does not aggregate fronts securely
 * @example
 * ```ts
 * import { secaggPoll } from "./secagg_handler.ts";
 * // const reply = await secaggPoll(ctx, state.clinic("a"), { type: "SECAGG", payload });
 * ```
 */
export const secaggPoll: Handler<"SECAGG"> = (ctx, c, req) => {
  const secure = ctx.state.secure;
  if (!secure) {
    return Promise.reject(
      new ProtocolError("BAD_MESSAGE", 'SECAGG: this server\'s frontAggregation is not "secagg"'),
    );
  }
  return Promise.resolve(
    encodeReply(ctx, { type: "SECAGG_REPLY", payload: secure.rounds.handle(c.name, req.payload) }),
  );
};

/**
 * The secure-aggregation round that averages the fronts of ended round `epoch` among
 * `clinics` (those through it): the running or last attempt's number, or 0 when the server
 * gave up. The first call starts the aggregation in the background, with the round numbers
 * the round-end checkpoint holds; after a server restart it first reserves fresh ones and
 * checkpoints them, so no number is ever handed out twice.
 *
 * @example
 * ```ts
 * import { secaggRoundFor } from "./secagg_handler.ts";
 * // const n = await secaggRoundFor(ctx, 0, ["a", "b"]);
 * ```
 */
export async function secaggRoundFor(
  ctx: HandlerContext,
  epoch: number,
  clinics: readonly string[],
): Promise<number> {
  const secure = ctx.state.secure!;
  const known = secure.roundFor(epoch);
  if (known !== null) return known;
  const how = secure.startable(epoch);
  if (how === "reserve") {
    secure.reserve();
    await ctx.state.checkpoint();
  }
  if (how !== "no") secure.start(clinics);
  return secure.roundFor(epoch) ?? 0;
}
