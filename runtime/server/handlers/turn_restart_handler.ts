/**
 * The `TURN_RESTART` handler: the turn holder restarted within its turn (killed, Ctrl-C'd,
 * its machine rebooted) and came back from the checkpoint it took at the turn's start, so
 * its own weights stand at the turn's start while the server's segment has applied some of
 * the turn's steps. Going on from the server's step would drop the clinic's updates of
 * those steps; so the server rolls its segment, the totals and the clinic's step bookkeeping
 * back to the turn's start (`ServerState.rollbackTurn`), and the clinic redoes the turn. The
 * batch order is a pure function of (seed, epoch, batch), so the redone steps are the same
 * steps and the outcome equals an uninterrupted run (docs/design/faults_and_resume.md).
 *
 * A repeat (the reply was lost) finds the server already at the turn's start and changes
 * nothing.
 *
 * @example
 * ```ts
 * import { turnRestart } from "./turn_restart_handler.ts";
 * console.log(typeof turnRestart); // "function"
 * ```
 * @module
 */
import { ProtocolError } from "../../protocol/mod.ts";
import { roundLabel } from "../round_label.ts";
import { expectTurn, type Handler, lastStepOfRound } from "./handler_context.ts";
import { turnReply } from "./turn_handlers.ts";

/**
 * `TURN_RESTART`: rolls the server back to the start of the asker's turn; replies `TURN`.
 *
 * @throws {ProtocolError} `FINISHED`, `WRONG_EPOCH`, `NOT_YOUR_TURN`; `STEP_OUT_OF_ORDER`
 *   when the server's last applied step of the turn is neither the one the clinic names
 *   nor none (the clinic then asks again where the server stands)
 * @example
 * ```ts
 * import { turnRestart } from "./turn_restart_handler.ts";
 * // const reply = await turnRestart(ctx, ctx.state.clinic("b"), { type: "TURN_RESTART", epoch: 1, lastStepId: "1:2" });
 * ```
 * (tests/runtime/client/interrupted_turn_test.ts and tests/runtime/server/turn_restart_test.ts
 * serve as the running examples.)
 */
export const turnRestart: Handler<"TURN_RESTART"> = async (ctx, c, req) => {
  if (ctx.state.schedule.kind !== "sequential") {
    // The shared segment holds every clinic's steps of a parallel round: rolling it back would
    // undo theirs too (docs/design/parallel_schedules.md).
    throw new ProtocolError(
      "WRONG_MODE",
      `TURN_RESTART: the schedule is ${ctx.state.schedule.kind}; a clinic restarted within a round goes on from the server's step`,
    );
  }
  expectTurn(ctx, c.name, req.epoch, "TURN_RESTART");
  const applied = lastStepOfRound(ctx, c);
  if (applied === null) return turnReply(ctx, c); // already at the turn's start (or a repeat)
  if (applied !== req.lastStepId) {
    throw new ProtocolError(
      "STEP_OUT_OF_ORDER",
      `TURN_RESTART after step ${
        req.lastStepId ?? "none"
      }, but the server's last applied step of ` +
        `epoch ${req.epoch} is ${applied} (ask for the turn again)`,
    );
  }
  const steps = c.steps;
  await ctx.state.rollbackTurn(ctx.now());
  ctx.state.model.clearPending();
  ctx.log(
    `clinic ${c.name} restarted within its turn of ${roundLabel(req.epoch, ctx.rounds)}: ` +
      `rolled the server back ${steps - c.steps} steps (up to ${applied}) to the turn's start`,
  );
  return turnReply(ctx, c);
};
