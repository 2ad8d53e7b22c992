/**
 * The handlers of the training and evaluation traffic: `STEP` (vanilla: the server segment's
 * forward, loss, backward and update), `MIDDLE_FORWARD` / `MIDDLE_BACKWARD` (U-shape: the
 * middle segment's two halves around the clinic's head) and `EVAL`.
 *
 * A step is checked before it runs (turn, order, for `MIDDLE_BACKWARD` the held forward and
 * its batch), so a refused request changes nothing; what reads the model finishes the last
 * step's deferred update first (the model's own methods).
 *
 * @example
 * ```ts
 * import { STEP_HANDLERS } from "./step_handlers.ts";
 * console.log(Object.keys(STEP_HANDLERS)); // ["STEP", "MIDDLE_FORWARD", "MIDDLE_BACKWARD", "EVAL"]
 * ```
 * @module
 */
import type { Tensor } from "../../../models/tensor.ts";
import { ProtocolError } from "../../protocol/mod.ts";
import { protectCutGradient } from "../../privacy/label_protection.ts";
import type { ClinicRecord } from "../server_state.ts";
import { mergedStep } from "./merged_step.ts";
import { encodeReply, expectNext, expectTurn, type Handler, type HandlerContext, retryKey } from "./handler_context.ts";

/** Logs a (rate-limited) warning when a clinic's activations drift from its baseline. */
function watchDrift(ctx: HandlerContext, c: ClinicRecord, stepId: string, activation: Tensor): void {
  const warning = ctx.drift.observe(c.name, stepId, activation, ctx.now());
  if (warning) ctx.log(warning);
}

/**
 * The key of a held U-shaped forward: the step id, or in the parallel schedules, where
 * clinics step at once and their step ids coincide, the clinic's name and the step id.
 */
function pendingKey(ctx: HandlerContext, clinic: string, stepId: string): string {
  return ctx.state.schedule.kind === "sequential" ? stepId : `${clinic}/${stepId}`;
}

/** `STEP` (vanilla): one training step of the server segment; the cut gradient back. */
const step: Handler<"STEP"> = async (ctx, c, req) => {
  if (ctx.merge) return await mergedStep(ctx, c, req);
  const { state } = ctx;
  expectTurn(ctx, c.name, req.epoch, "STEP");
  expectNext(c, req.stepId);
  watchDrift(ctx, c, req.stepId, req.activation);
  const t0 = performance.now();
  await state.copies?.use(c.name); // splitfed: this clinic's copy of the server segment
  const r = await ctx.profile.timeAsync("server model.step", () => state.model.step(req.activation, req.labels, { stepId: req.stepId, clinic: c.name }));
  // Label protection goes between the step graph and the codec: what leaves is protected.
  const cutGrad = protectCutGradient(r.cutGrad, ctx.labelProtection);
  const reply = encodeReply(ctx, { type: "STEP_RESULT", stepId: req.stepId, loss: r.loss, cutGrad });
  state.countStep(c, req.stepId, req.activation.dims[0], ctx.now());
  state.remember(c, retryKey(req)!, reply);
  ctx.metrics?.step({ clinic: c.name, epoch: req.epoch, loss: r.loss, seconds: (performance.now() - t0) / 1000, samples: req.activation.dims[0], cutDims: req.activation.dims });
  return reply;
};

/** `MIDDLE_FORWARD` (U-shape): the middle segment's forward; the head's input back. */
const middleForward: Handler<"MIDDLE_FORWARD"> = async (ctx, c, req) => {
  expectTurn(ctx, c.name, req.epoch, "MIDDLE_FORWARD");
  expectNext(c, req.stepId);
  watchDrift(ctx, c, req.stepId, req.activation);
  const t0 = performance.now();
  await ctx.state.copies?.use(c.name);
  const headInput = await ctx.state.model.middleForward(pendingKey(ctx, c.name, req.stepId), req.activation);
  const reply = encodeReply(ctx, { type: "MIDDLE_FORWARD_RESULT", stepId: req.stepId, headInput });
  ctx.state.remember(c, retryKey(req)!, reply);
  ctx.metrics?.forwardDone(c.name, (performance.now() - t0) / 1000, req.activation.dims);
  return reply;
};

/** `MIDDLE_BACKWARD` (U-shape): the middle segment's backward and update; the cut gradient back. */
const middleBackward: Handler<"MIDDLE_BACKWARD"> = async (ctx, c, req) => {
  const { state } = ctx;
  expectTurn(ctx, c.name, req.epoch, "MIDDLE_BACKWARD");
  const batch = state.model.pendingBatch(pendingKey(ctx, c.name, req.stepId));
  if (batch === undefined) {
    throw new ProtocolError("UNKNOWN_STEP", `no forward of step ${req.stepId} is held (send MIDDLE_FORWARD first)`);
  }
  if (req.gradHeadInput.dims[0] !== batch) {
    throw new ProtocolError(
      "WRONG_SHAPE",
      `gradHeadInput: batch ${req.gradHeadInput.dims[0]} differs from the forward's ${batch}`,
    );
  }
  const t0 = performance.now();
  await state.copies?.use(c.name);
  const cutGrad = await state.model.middleBackward(pendingKey(ctx, c.name, req.stepId), req.gradHeadInput, c.name);
  const reply = encodeReply(ctx, { type: "MIDDLE_BACKWARD_RESULT", stepId: req.stepId, cutGrad });
  state.countStep(c, req.stepId, batch, ctx.now());
  state.remember(c, retryKey(req)!, reply);
  ctx.metrics?.step({ clinic: c.name, epoch: req.epoch, loss: null, seconds: (performance.now() - t0) / 1000, samples: batch });
  return reply;
};

/** `EVAL`: the server segment's output for a batch of activations (changes nothing). */
const evaluate: Handler<"EVAL"> = async (ctx, _c, req) =>
  encodeReply(ctx, { type: "EVAL_RESULT", output: await ctx.state.model.evaluate(req.activation) });

/**
 * The handlers of the step and evaluation requests.
 *
 * @example
 * ```ts
 * import { STEP_HANDLERS } from "./step_handlers.ts";
 * console.log(typeof STEP_HANDLERS.STEP); // "function"
 * ```
 */
export const STEP_HANDLERS: {
  readonly STEP: Handler<"STEP">;
  readonly MIDDLE_FORWARD: Handler<"MIDDLE_FORWARD">;
  readonly MIDDLE_BACKWARD: Handler<"MIDDLE_BACKWARD">;
  readonly EVAL: Handler<"EVAL">;
} = { STEP: step, MIDDLE_FORWARD: middleForward, MIDDLE_BACKWARD: middleBackward, EVAL: evaluate };
