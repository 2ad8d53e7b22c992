/**
 * Refusals a request gets from its type and header alone, before its tensors are decoded
 * (docs/design/security_model.md): decoding is the expensive part, and a TURN_DONE's sealed
 * weights may inflate to the body limit (64 MiB by default), so a TURN_DONE that does not end the turn the
 * server holds is refused on its epoch and last step id before any of its bundle is read,
 * and an EVAL outside the clinic's turn before its activations are.
 *
 * - `TURN_DONE`: the holder's, for the current epoch, after the step the server last applied
 *   (the checks `turn_handlers.ts` repeats on the decoded message) — unless it repeats the
 *   clinic's last TURN_DONE, which the handler table answers from its cache.
 * - `EVAL`: from the turn's holder, or from anyone once training has finished (the clinics
 *   evaluate at the end); its batch is bounded by `limits.maxBatch` through the decode
 *   limits (`ServerModel.expect`).
 *
 * @example
 * ```ts
 * import { gateBeforeDecode } from "./request_gates.ts";
 * console.log(typeof gateBeforeDecode); // "function"
 * ```
 * (tests/runtime/server/body_gate_test.ts serves as the running example.)
 * @module
 */
import { decodeMessageHeader, MESSAGE_TYPES, ProtocolError } from "../../protocol/mod.ts";
import type { ClinicRecord } from "../server_state.ts";
import { expectTurnEnd, type HandlerContext, retryKey } from "./handler_context.ts";

/**
 * Refuses `payload` (an opened request, not yet decoded) from clinic `c` when its type and
 * header already show it cannot be served now.
 *
 * @throws {ProtocolError} `FINISHED`, `WRONG_EPOCH`, `NOT_YOUR_TURN`, `STEP_OUT_OF_ORDER`,
 *   or `BAD_MESSAGE` for a header that does not decode.
 * @example
 * ```ts
 * import { gateBeforeDecode } from "./request_gates.ts";
 * // gateBeforeDecode(ctx, state.clinic("a"), opened.payload); // before decodeMessage
 * ```
 */
export function gateBeforeDecode(ctx: HandlerContext, c: ClinicRecord, payload: Uint8Array): void {
  if (payload[0] === MESSAGE_TYPES.TURN_DONE) gateTurnDone(ctx, c, payload);
  else if (payload[0] === MESSAGE_TYPES.EVAL) gateEval(ctx, c);
}

function gateTurnDone(ctx: HandlerContext, c: ClinicRecord, payload: Uint8Array): void {
  const h = decodeMessageHeader(payload).header as { epoch: number; lastStepId: string | null };
  const key = retryKey({
    type: "TURN_DONE",
    epoch: h.epoch,
    lastStepId: h.lastStepId,
    sealedWeights: {},
  });
  if (c.lastReply && c.lastKey === key) return; // a retry, answered from the cache
  expectTurnEnd(ctx, c, h.epoch, h.lastStepId);
}

function gateEval(ctx: HandlerContext, c: ClinicRecord): void {
  const { schedule } = ctx.state;
  if (schedule.finished || schedule.holds(c.name)) return;
  throw new ProtocolError(
    "NOT_YOUR_TURN",
    `EVAL from ${c.name}, but it is ${schedule.holder}'s turn (evaluate in your turn or once training has finished)`,
  );
}
