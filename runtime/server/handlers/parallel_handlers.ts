/**
 * The round requests of the parallel schedules (`parallel`, `splitfed`;
 * docs/design/parallel_schedules.md), which `turn_handlers.ts` hands over to when the
 * server's schedule is not `sequential`:
 *
 * - `TURN_REQUEST`: where the round stands; every clinic not through the round may step
 *   (`yours`), and the reply names the schedule, so the clinic follows the server.
 * - `TURN_DONE`: the clinic is through its share of the round, leaving its front sealed to
 *   every other clinic (with `clinicWeights: "averaged"`) or nothing (`"private"`).
 * - `FETCH_FRONTS`: the fronts the others sealed to the asker at the end of a round, with the
 *   sample counts that weight the average the clinic computes inside its raw side.
 *
 * A round ends when the last clinic is through or dropped (`parallel_round.ts`); then
 * (`closeRound`) `splitfed` averages the server's per-clinic copies, the round's fronts are
 * published and a checkpoint is written. Only round ends are checkpointed: a server
 * restarted mid-round stands at the round's start, so every clinic redoes the round and no
 * step is applied twice.
 *
 * @example
 * ```ts
 * import { PARALLEL_HANDLERS } from "./parallel_handlers.ts";
 * console.log(Object.keys(PARALLEL_HANDLERS)); // ["TURN_REQUEST", "TURN_DONE", "FETCH_FRONTS"]
 * ```
 * @module
 */
import { ProtocolError } from "../../protocol/mod.ts";
import type { ClinicRecord } from "../server_state.ts";
import {
  encodeReply,
  expectTurnEnd,
  type Handler,
  type HandlerContext,
  lastStepOfRound,
  logScheduleEvent,
  type RequestOf,
  retryKey,
} from "./handler_context.ts";
import { checkEnvelope } from "./relay_envelope.ts";
import { secaggRoundFor } from "./secagg_handler.ts";

/** `TURN_REQUEST`: where the round stands (silent clinics dropped first, which may end it). */
const turnRequest: Handler<"TURN_REQUEST"> = async (ctx, c) => {
  const { schedule } = ctx.state;
  const ev = schedule.poll(c.name, ctx.now());
  logDropped(ctx, ev.skipped, ev.epochsEnded.length > 0 ? ev.epochsEnded[0] : schedule.epoch);
  for (const r of ev.epochsEnded) await closeRound(ctx, r);
  logScheduleEvent(ctx, { skipped: [], epochsEnded: ev.epochsEnded });
  return encodeReply(ctx, {
    type: "TURN",
    turn: schedule.holder,
    yours: schedule.holds(c.name),
    epoch: schedule.epoch,
    finished: schedule.finished,
    lastStepId: lastStepOfRound(ctx, c),
    order: [...schedule.order],
    loss: ctx.loss,
    schedule: schedule.kind,
    clinicWeights: ctx.clinicWeights ?? "averaged",
    ...(ctx.state.secure ? { frontAggregation: "secagg" as const } : {}),
  });
};

function logDropped(ctx: HandlerContext, dropped: string[], round: number): void {
  for (const d of dropped) {
    ctx.log(
      `clinic ${d} offline, dropped from round ${round} (its front is not averaged; it rejoins next round)`,
    );
  }
}

/** Refuses a TURN_DONE that does not end the clinic's share of the round, or seals to the wrong clinics. */
function checkRoundDone(ctx: HandlerContext, c: ClinicRecord, req: RequestOf<"TURN_DONE">): void {
  const { schedule } = ctx.state;
  expectTurnEnd(ctx, c, req.epoch, req.lastStepId);
  const given = Object.keys(req.sealedWeights);
  if (ctx.clinicWeights === "private") {
    if (given.length > 0) {
      throw new ProtocolError(
        "BAD_MESSAGE",
        `TURN_DONE seals weights to ${
          given.join(", ")
        }, but clinicWeights is "private": fronts are not shared`,
      );
    }
    return;
  }
  if (ctx.state.secure) {
    // Secure aggregation: the server must never hold a front, not even sealed.
    if (given.length > 0) {
      throw new ProtocolError(
        "BAD_MESSAGE",
        `TURN_DONE seals weights to ${given.join(", ")}, but frontAggregation is "secagg": fronts are summed securely, never relayed`,
      );
    }
    ctx.state.secure.noteLength(c.name, req.frontLength);
    return;
  }
  const others = schedule.order.filter((n) => n !== c.name);
  const strangers = given.filter((n) => !others.includes(n));
  if (strangers.length > 0) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `TURN_DONE seals weights to ${strangers.join(", ")}, not another clinic of the order`,
    );
  }
  const missing = others.filter((n) => !given.includes(n));
  if (missing.length > 0) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `TURN_DONE lacks weights sealed to ${missing.join(", ")} (seal to every other clinic)`,
    );
  }
  for (const [to, blob] of Object.entries(req.sealedWeights)) {
    checkEnvelope(c.name, to, req.epoch, blob);
  }
}

/** `TURN_DONE`: the clinic is through the round; the last one through ends it. */
const turnDone: Handler<"TURN_DONE"> = async (ctx, c, req) => {
  const { state } = ctx;
  const { schedule } = state;
  checkRoundDone(ctx, c, req);
  state.fronts.complete(c.name, req.sealedWeights);
  const ev = schedule.finishTurn(c.name, ctx.now());
  const reply = encodeReply(ctx, {
    type: "TURN_DONE_RESULT",
    epoch: schedule.epoch,
    next: schedule.holder,
  });
  state.remember(c, retryKey(req)!, reply);
  ctx.log(`clinic ${c.name} is through round ${req.epoch}`);
  for (const r of ev.epochsEnded) await closeRound(ctx, r);
  logScheduleEvent(ctx, ev);
  return reply;
};

/**
 * Ends round `round`: `splitfed` averages the server's copies by the round's sample counts,
 * the round's fronts are published for `FETCH_FRONTS`, and a checkpoint is written.
 */
async function closeRound(ctx: HandlerContext, round: number): Promise<void> {
  const { state } = ctx;
  const through = state.schedule.order.filter((c) => state.fronts.completed.has(c));
  const weights = new Map(through.map((c) => [c, state.fronts.samples.get(c) ?? 0]));
  if (state.copies) {
    const averaged = await state.copies.average(weights);
    ctx.log(`round ${round}: server copies of ${averaged.join(", ") || "no clinic"} averaged`);
  }
  const p = state.fronts.publish(round, state.schedule.order);
  state.secure?.publish(round);
  state.model.clearPending();
  const merged = ctx.merge
    ? `; ${ctx.merge.items} steps merged into ${ctx.merge.batches} server batches so far`
    : "";
  ctx.log(
    `round ${round} ended: ${p.clinics.length}/${state.schedule.order.length} clinics through (${
      p.samples.reduce((a, b) => a + b, 0)
    } samples)${merged}`,
  );
  await state.checkpoint();
}

/**
 * `FETCH_FRONTS`: the fronts sealed to the asker at the end of round `epoch`; with secure
 * aggregation no fronts, but the round number that sums them (its first asker starts it).
 */
const fetchFronts: Handler<"FETCH_FRONTS"> = async (ctx, c, req) => {
  if (ctx.state.schedule.kind === "sequential") {
    throw new ProtocolError(
      "BAD_MESSAGE",
      "FETCH_FRONTS: the server's schedule is sequential (use FETCH_WEIGHTS)",
    );
  }
  const fronts = ctx.state.fronts.forClinic(req.epoch, c.name);
  if (!ctx.state.secure) return encodeReply(ctx, { type: "FRONTS", ...fronts });
  const secaggRound = await secaggRoundFor(ctx, req.epoch, fronts.clinics);
  return encodeReply(ctx, { type: "FRONTS", ...fronts, secaggRound });
};

/**
 * The handlers of the parallel schedules' round requests.
 *
 * @example
 * ```ts
 * import { PARALLEL_HANDLERS } from "./parallel_handlers.ts";
 * console.log(typeof PARALLEL_HANDLERS.FETCH_FRONTS); // "function"
 * ```
 */
export const PARALLEL_HANDLERS: {
  readonly TURN_REQUEST: Handler<"TURN_REQUEST">;
  readonly TURN_DONE: Handler<"TURN_DONE">;
  readonly FETCH_FRONTS: Handler<"FETCH_FRONTS">;
} = { TURN_REQUEST: turnRequest, TURN_DONE: turnDone, FETCH_FRONTS: fetchFronts };
