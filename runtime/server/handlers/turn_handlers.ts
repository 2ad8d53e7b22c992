/**
 * The handlers of the round-robin (`runtime/server/turn_schedule.ts`): `TURN_REQUEST`
 * (whose turn, skipping a silent holder), `TURN_DONE` (the holder ends its turn and leaves
 * its weights sealed to every other clinic) and `FETCH_WEIGHTS` (the blob sealed to the
 * asker).
 *
 * Relayed weights: TURN_DONE carries the sender's weights sealed to EVERY other clinic in
 * the turn order, so when the next clinic is offline and skipped, the one after it still
 * finds a blob it can open (a blob sealed to one recipient only would strand the turn).
 * Each blob's envelope header (`crypto/seal/sealed_envelope.ts`: version, sender, recipient,
 * epoch, sizes) is checked before it is stored, so random bytes are refused at relay time
 * (422 `BAD_ENVELOPE`) instead of ending the next clinic's run; only the recipient can check
 * that the sender really sealed it (docs/design/security_model.md).
 * A schedule change is checkpointed before it is answered, and undone when the checkpoint
 * fails, so a restarted server and its clinics agree on whose turn it is.
 *
 * @example
 * ```ts
 * import { TURN_HANDLERS } from "./turn_handlers.ts";
 * console.log(Object.keys(TURN_HANDLERS)); // ["TURN_REQUEST", "TURN_DONE", "FETCH_WEIGHTS"]
 * ```
 * @module
 */
import { ProtocolError } from "../../protocol/mod.ts";
import { roundLabel } from "../round_label.ts";
import { PARALLEL_HANDLERS } from "./parallel_handlers.ts";
import { checkEnvelope } from "./relay_envelope.ts";
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

/** `TURN_REQUEST`: whose turn it is (a holder silent past the timeout is skipped first). */
const turnRequest: Handler<"TURN_REQUEST"> = async (ctx, c, req) => {
  if (ctx.state.schedule.kind !== "sequential") return await PARALLEL_HANDLERS.TURN_REQUEST(ctx, c, req);
  const { state } = ctx;
  const { schedule } = state;
  const before = schedule.state;
  const ev = schedule.poll(c.name, ctx.now());
  logScheduleEvent(ctx, ev);
  if (ev.skipped.length > 0) {
    state.model.clearPending();
    try {
      await state.checkpoint();
    } catch (e) {
      schedule.restore(before, ctx.now());
      throw e;
    }
  }
  return turnReply(ctx, c);
};

/**
 * The `TURN` reply to clinic `c`: whose turn it is and where the server stands (also the
 * reply to `TURN_RESTART`).
 *
 * @example
 * ```ts
 * import { turnReply } from "./turn_handlers.ts";
 * console.log(typeof turnReply); // "function"
 * ```
 */
export function turnReply(ctx: HandlerContext, c: ClinicRecord): Uint8Array {
  const { schedule } = ctx.state;
  return encodeReply(ctx, {
    type: "TURN",
    turn: schedule.holder,
    yours: schedule.holder === c.name,
    epoch: schedule.epoch,
    finished: schedule.finished,
    lastStepId: lastStepOfRound(ctx, c),
    order: [...schedule.order],
    loss: ctx.loss,
  });
}

/** Refuses a TURN_DONE that does not end the turn the server holds, or seals to the wrong clinics. */
function checkTurnDone(ctx: HandlerContext, c: ClinicRecord, req: RequestOf<"TURN_DONE">): void {
  const { schedule } = ctx.state;
  expectTurnEnd(ctx, c, req.epoch, req.lastStepId);
  const others = schedule.order.filter((n) => n !== c.name);
  const given = Object.keys(req.sealedWeights);
  for (const n of given) {
    if (!others.includes(n)) {
      throw new ProtocolError("BAD_MESSAGE", `TURN_DONE seals weights to ${n}, which is not another clinic of the turn order`);
    }
  }
  const missing = others.filter((n) => !given.includes(n));
  if (missing.length > 0) {
    throw new ProtocolError("BAD_MESSAGE", `TURN_DONE lacks weights sealed to ${missing.join(", ")} (seal to every other clinic)`);
  }
  for (const [to, blob] of Object.entries(req.sealedWeights)) checkEnvelope(c.name, to, req.epoch, blob);
}


/** `TURN_DONE`: ends the holder's turn, keeps its sealed weights for the others, checkpoints. */
const turnDone: Handler<"TURN_DONE"> = async (ctx, c, req) => {
  if (ctx.state.schedule.kind !== "sequential") return await PARALLEL_HANDLERS.TURN_DONE(ctx, c, req);
  const { state } = ctx;
  const { schedule } = state;
  checkTurnDone(ctx, c, req);
  const before = { schedule: schedule.state, relay: state.relay, lastKey: c.lastKey, lastReply: c.lastReply };
  const ev = schedule.finishTurn(c.name, ctx.now());
  state.relay = { from: c.name, seq: state.relay.seq + 1, blobs: new Map(Object.entries(req.sealedWeights)) };
  const reply = encodeReply(ctx, { type: "TURN_DONE_RESULT", epoch: schedule.epoch, next: schedule.holder });
  state.remember(c, retryKey(req)!, reply);
  try {
    await state.checkpoint(); // the cached reply goes with it: a retried TURN_DONE after a restart is answered
  } catch (e) {
    schedule.restore(before.schedule, ctx.now());
    state.relay = before.relay;
    c.lastKey = before.lastKey;
    c.lastReply = before.lastReply;
    throw e;
  }
  state.model.clearPending();
  ctx.log(`clinic ${c.name} finished its turn of ${roundLabel(req.epoch, ctx.rounds)}; next: ${schedule.holder ?? "none (finished)"}`);
  logScheduleEvent(ctx, ev);
  return reply;
};

/** `FETCH_WEIGHTS`: the blob the last turn's clinic sealed to the asker (none to itself). */
const fetchWeights: Handler<"FETCH_WEIGHTS"> = (ctx, c) => {
  const { relay } = ctx.state;
  const blob = relay.from !== c.name ? relay.blobs.get(c.name) : undefined;
  return Promise.resolve(encodeReply(ctx, {
    type: "WEIGHTS",
    from: relay.from,
    seq: relay.seq,
    ...(blob ? { sealedWeights: blob } : {}),
  }));
};

/**
 * The handlers of the turn requests.
 *
 * @example
 * ```ts
 * import { TURN_HANDLERS } from "./turn_handlers.ts";
 * console.log(typeof TURN_HANDLERS.TURN_DONE); // "function"
 * ```
 */
export const TURN_HANDLERS: {
  readonly TURN_REQUEST: Handler<"TURN_REQUEST">;
  readonly TURN_DONE: Handler<"TURN_DONE">;
  readonly FETCH_WEIGHTS: Handler<"FETCH_WEIGHTS">;
} = { TURN_REQUEST: turnRequest, TURN_DONE: turnDone, FETCH_WEIGHTS: fetchWeights };
