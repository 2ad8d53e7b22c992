/**
 * What a request handler is given, its type per request message, and the checks several
 * handlers share (is it this clinic's turn of this round; is this step the next one).
 *
 * Handlers run under the server's lock, one at a time, and must leave the state unchanged
 * when they throw: they check first and change last.
 *
 * @example
 * ```ts
 * import type { Handler } from "./handler_context.ts";
 * import { encodeMessage } from "../../protocol/mod.ts";
 * const fetchNothing: Handler<"FETCH_WEIGHTS"> = async () => encodeMessage({ type: "WEIGHTS", from: null, seq: 0 });
 * ```
 * @module
 */
import type { LossKind } from "../../../models/grad/loss.ts";
import type { BundleOptions } from "../../codec/mod.ts";
import { encodeMessage, parseStepId, ProtocolError, type ReplyMessage, type RequestMessage } from "../../protocol/mod.ts";
import type { PhaseProfile } from "../../protocol/phase_profile.ts";
import type { LabelProtection } from "../../privacy/defence_config.ts";
import { epochsDone, roundEndLine, type RoundNaming } from "../round_label.ts";
import type { ActivationDrift } from "../activation_drift.ts";
import type { ClinicRecord, ServerState } from "../server_state.ts";
import type { ScheduleEvent } from "../turn_schedule.ts";
import type { StudyMetrics } from "../metrics/study_metrics.ts";
import type { PublishedStudy } from "../../study/published_study.ts";
import type { StudyEnd } from "../study_end.ts";
import type { MergeWindow } from "../merge_window.ts";
import type { MergeItem, MergeResult } from "./merged_step.ts";

/**
 * Everything a handler may use.
 *
 * @example
 * ```ts
 * import type { HandlerContext } from "./handler_context.ts";
 * function holder(ctx: HandlerContext) { return ctx.state.schedule.holder; }
 * ```
 */
export interface HandlerContext {
  state: ServerState;
  loss: LossKind;
  labelProtection: LabelProtection;
  allowExport: boolean;
  /** Codec options of replies. */
  codec?: BundleOptions;
  profile: PhaseProfile;
  /** How the schedule's rounds map to data epochs (for the log). */
  rounds: RoundNaming;
  now: () => number;
  log: (line: string) => void;
  /** Per-clinic baselines of the cut activations' scale (warnings only). */
  drift: ActivationDrift;
  /** Records applied steps for `/metrics`, `/dashboard` and `metrics.jsonl` (none: not recorded). */
  metrics?: StudyMetrics;
  /** The study definition the server publishes (`STUDY`); none: started without a study file. */
  study?: PublishedStudy;
  /** The end of the study: who has left (`LEAVE`); none: not tracked. */
  end?: StudyEnd;
  /** Parallel schedules: whether the clinics' fronts are averaged at each round's end (default "averaged"). */
  clinicWeights?: "averaged" | "private";
  /** Parallel schedules with `serverBatch: "merge"`: the window that merges concurrent steps. */
  merge?: MergeWindow<MergeItem, MergeResult>;
}

/**
 * The request message of type `T`.
 *
 * @example
 * ```ts
 * import type { RequestOf } from "./handler_context.ts";
 * function id(m: RequestOf<"STEP">) { return m.stepId; }
 * ```
 */
export type RequestOf<T extends RequestMessage["type"]> = Extract<RequestMessage, { type: T }>;

/**
 * Answers one request of type `T` from clinic `c` with the encoded reply.
 *
 * @example
 * ```ts
 * import type { Handler } from "./handler_context.ts";
 * const h: Handler<"EVAL"> = async (ctx, _c, req) => new Uint8Array(req.activation.dims[0]);
 * ```
 */
export type Handler<T extends RequestMessage["type"]> = (
  ctx: HandlerContext,
  c: ClinicRecord,
  req: RequestOf<T>,
) => Promise<Uint8Array>;

/**
 * The dedupe key of a state-changing request: a repeat with the same key is answered
 * from the clinic's cached reply, never applied twice. Null for requests that change
 * nothing a retry could repeat.
 *
 * @example
 * ```ts
 * import { retryKey } from "./handler_context.ts";
 * console.log(retryKey({ type: "TURN_DONE", epoch: 2, lastStepId: null, sealedWeights: {} })); // "TURN_DONE:2"
 * console.log(retryKey({ type: "TURN_REQUEST" })); // null
 * ```
 */
export function retryKey(req: RequestMessage): string | null {
  if (req.type === "TURN_DONE") return `TURN_DONE:${req.epoch}`;
  return "stepId" in req ? `${req.type}:${req.stepId}` : null;
}

/**
 * Encodes a reply in the server's reply codec.
 *
 * @example
 * ```ts
 * import { encodeReply, type HandlerContext } from "./handler_context.ts";
 * function none(ctx: HandlerContext) { return encodeReply(ctx, { type: "WEIGHTS", from: null, seq: 0 }); }
 * ```
 */
export function encodeReply(ctx: HandlerContext, m: ReplyMessage): Uint8Array {
  // reuseRecords: a cut gradient quantised in the graph goes out as the record it came with.
  return encodeMessage(m, { ...ctx.codec, reuseRecords: true });
}

/**
 * Refuses `what` from `clinic` for round `epoch` unless it is that clinic's turn of it.
 *
 * @throws {ProtocolError} `FINISHED`, `WRONG_EPOCH` or `NOT_YOUR_TURN`.
 * @example
 * ```ts
 * import { expectTurn, type HandlerContext } from "./handler_context.ts";
 * function check(ctx: HandlerContext) { expectTurn(ctx, "a", 0, "STEP"); }
 * ```
 */
export function expectTurn(ctx: HandlerContext, clinic: string, epoch: number, what: string): void {
  const { schedule } = ctx.state;
  if (schedule.finished) {
    throw new ProtocolError("FINISHED", `training finished after ${epochsDone(schedule.epoch, ctx.rounds)} epochs`);
  }
  if (epoch !== schedule.epoch) {
    throw new ProtocolError("WRONG_EPOCH", `${what} for epoch ${epoch}, the server is in epoch ${schedule.epoch}`);
  }
  if (!schedule.holds(clinic)) {
    throw new ProtocolError(
      "NOT_YOUR_TURN",
      schedule.kind === "sequential"
        ? `${what} from ${clinic}, but it is ${schedule.holder}'s turn`
        : `${what} from ${clinic}, which is through round ${epoch} or was dropped from it`,
    );
  }
}

/**
 * Refuses step `id` unless it is the one after clinic `c`'s last applied step of the same
 * round (or the round's first).
 *
 * @throws {ProtocolError} `STEP_OUT_OF_ORDER`, naming the step expected.
 * @example
 * ```ts
 * import { expectNext } from "./handler_context.ts";
 * const c = { name: "a", lastKey: null, lastReply: null, progress: "0:3", steps: 4, bytesIn: 0, bytesOut: 0, lastSeen: null };
 * expectNext(c, "0:4");
 * try { expectNext(c, "0:6"); } catch (e) { console.log((e as Error).message); } // step 0:6: expected step 0:4 next
 * ```
 */
export function expectNext(c: ClinicRecord, id: string): void {
  const p = parseStepId(id)!;
  const last = c.progress ? parseStepId(c.progress)! : null;
  const want = last && last.epoch === p.epoch ? last.batch + 1 : 0;
  if (p.batch !== want) {
    throw new ProtocolError("STEP_OUT_OF_ORDER", `step ${id}: expected step ${p.epoch}:${want} next`);
  }
}

/**
 * The step id of clinic `c`'s last applied step in the schedule's current round, if any.
 *
 * @example
 * ```ts
 * import { lastStepOfRound, type HandlerContext } from "./handler_context.ts";
 * function last(ctx: HandlerContext) { return lastStepOfRound(ctx, ctx.state.clinic("a")); }
 * ```
 */
export function lastStepOfRound(ctx: HandlerContext, c: ClinicRecord): string | null {
  const last = c.progress ? parseStepId(c.progress)! : null;
  return last && last.epoch === ctx.state.schedule.epoch ? c.progress : null;
}

/**
 * Refuses a TURN_DONE from clinic `c` that does not end the turn the server holds: not the
 * holder's, another epoch, or after a step other than the last one the server applied. A
 * server restarted from the turn-start checkpoint no longer holds the turn's steps: ending the
 * turn there would lose them, so the clinic must redo the turn.
 *
 * @throws {ProtocolError} `FINISHED`, `WRONG_EPOCH`, `NOT_YOUR_TURN` or `STEP_OUT_OF_ORDER`
 * @example
 * ```ts
 * import { expectTurnEnd, type HandlerContext } from "./handler_context.ts";
 * function check(ctx: HandlerContext) { expectTurnEnd(ctx, ctx.state.clinic("a"), 0, "0:3"); }
 * ```
 */
export function expectTurnEnd(
  ctx: HandlerContext,
  c: ClinicRecord,
  epoch: number,
  lastStepId: string | null,
): void {
  expectTurn(ctx, c.name, epoch, "TURN_DONE");
  const applied = lastStepOfRound(ctx, c);
  if (lastStepId !== applied) {
    throw new ProtocolError(
      "STEP_OUT_OF_ORDER",
      `TURN_DONE after step ${lastStepId ?? "none"}, but the server's last applied step of ` +
        `epoch ${epoch} is ${applied ?? "none"} (redo the turn)`,
    );
  }
}

/**
 * Logs what a schedule change did: clinics skipped as offline, rounds ended (named by
 * their data epoch: `epoch 3/3 done`, not the round count).
 *
 * @example
 * ```ts
 * import { logScheduleEvent, type HandlerContext } from "./handler_context.ts";
 * function report(ctx: HandlerContext) { logScheduleEvent(ctx, { skipped: ["b"], epochsEnded: [] }); }
 * ```
 */
export function logScheduleEvent(ctx: HandlerContext, ev: ScheduleEvent): void {
  for (const s of ev.skipped) ctx.log(`clinic ${s} offline, skipped`);
  for (const r of ev.epochsEnded) ctx.log(roundEndLine(r, ctx.rounds));
}
