/**
 * `STEP` under `serverBatch: "merge"` (parallel schedule): the step's checks as in
 * `step_handlers.ts`, then its batch goes into the server's {@linkcode MergeWindow}, which runs
 * one forward/backward over every batch that arrived within the window
 * ({@linkcode mergedStepRunner}) and hands each clinic its rows of the cut gradient.
 *
 * The server segment's loss is the mean over the merged batch, so its update is one step on
 * all the window's rows. The rows of the cut gradient that go back to a clinic are scaled by
 * (merged rows / its rows): that is the gradient of the mean loss over its own batch, which is
 * what its front expects (the same scale as an unmerged step). The loss a clinic is told is
 * the merged batch's mean. Label protection acts on each clinic's rows, after the scaling.
 *
 * Merged steps wait outside the server's lock (or no two could meet in a window); the merged
 * run takes the lock, so it is still one model access at a time.
 *
 * @example
 * ```ts
 * import { mergedStep } from "./merged_step.ts";
 * // if (ctx.merge) return await mergedStep(ctx, c, req);
 * ```
 * @module
 */
import type { Tensor } from "../../../models/tensor.ts";
import { protectCutGradient } from "../../privacy/label_protection.ts";
import { concatRows } from "../../train/metrics.ts";
import { MergeWindow } from "../merge_window.ts";
import type { SerialLock } from "../serial_lock.ts";
import type { ServerModel } from "../server_model.ts";
import type { ServerState } from "../server_state.ts";
import { encodeReply, expectNext, expectTurn, type Handler, retryKey } from "./handler_context.ts";

/**
 * One clinic's batch in a merge window.
 *
 * @example
 * ```ts
 * import type { MergeItem } from "./merged_step.ts";
 * function rows(i: MergeItem) { return i.activation.dims[0]; }
 * ```
 */
export interface MergeItem {
  clinic: string;
  stepId: string;
  activation: Tensor;
  labels: Tensor;
}

/**
 * A clinic's share of a merged step.
 *
 * @example
 * ```ts
 * import type { MergeResult } from "./merged_step.ts";
 * function loss(r: MergeResult) { return r.loss; }
 * ```
 */
export interface MergeResult {
  loss: number;
  cutGrad: Tensor;
}

/**
 * The merge window's `run`: one server step on the concatenated batches, under `lock`.
 *
 * @example
 * ```ts
 * import { mergedStepRunner } from "./merged_step.ts";
 * // new MergeWindow({ ..., run: mergedStepRunner(model, lock) })
 * ```
 */
export function mergedStepRunner(
  model: ServerModel,
  lock: SerialLock,
): (items: MergeItem[]) => Promise<MergeResult[]> {
  return (items) =>
    lock.run(async () => {
      const activation = items.length === 1
        ? items[0].activation
        : concatRows(items.map((i) => i.activation));
      const labels = items.length === 1 ? items[0].labels : concatRows(items.map((i) => i.labels));
      const what = items.map((i) => `${i.clinic} ${i.stepId}`).join(", ");
      const r = await model.step(activation, labels, {
        stepId: `merged (${what})`,
        clinic: items[0].clinic,
      });
      const total = activation.dims[0];
      let at = 0;
      return items.map((i) => {
        const n = i.activation.dims[0];
        const cutGrad = rowsScaled(r.cutGrad, at, n, total / n);
        at += n;
        return { loss: r.loss, cutGrad };
      });
    });
}

/**
 * The server's merge window: bounded by `bounds`, waiting for at most the clinics still
 * stepping in the round, running merged steps on `state.model` under `lock`.
 *
 * @example
 * ```ts
 * import { mergeWindow } from "./merged_step.ts";
 * // const merge = mergeWindow({ maxRows: 1024, maxDelayMs: 10 }, state, lock);
 * ```
 */
export function mergeWindow(
  bounds: { maxRows: number; maxDelayMs: number },
  state: ServerState,
  lock: SerialLock,
): MergeWindow<MergeItem, MergeResult> {
  return new MergeWindow<MergeItem, MergeResult>({
    ...bounds,
    rowsOf: (i) => i.activation.dims[0],
    waiting: () => state.schedule.order.filter((c) => state.schedule.holds(c)).length,
    run: mergedStepRunner(state.model, lock),
  });
}

/** Rows [at, at + n) of `t`, times `scale`. */
function rowsScaled(t: Tensor, at: number, n: number, scale: number): Tensor {
  const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array;
  const data = new Float32Array(n * per);
  for (let k = 0; k < data.length; k++) data[k] = src[at * per + k] * scale;
  return { dtype: "float32", dims: [n, ...t.dims.slice(1)], data } as Tensor;
}

/**
 * `STEP` (vanilla, parallel, merge): checked, merged, answered with the clinic's rows.
 *
 * @example
 * ```ts
 * import { mergedStep } from "./merged_step.ts";
 * console.log(typeof mergedStep); // "function"
 * ```
 */
export const mergedStep: Handler<"STEP"> = async (ctx, c, req) => {
  const { state } = ctx;
  expectTurn(ctx, c.name, req.epoch, "STEP");
  expectNext(c, req.stepId);
  const t0 = performance.now();
  const r = await ctx.merge!.submit({
    clinic: c.name,
    stepId: req.stepId,
    activation: req.activation,
    labels: req.labels,
  });
  const cutGrad = protectCutGradient(r.cutGrad, ctx.labelProtection);
  const reply = encodeReply(ctx, {
    type: "STEP_RESULT",
    stepId: req.stepId,
    loss: r.loss,
    cutGrad,
  });
  state.countStep(c, req.stepId, req.activation.dims[0], ctx.now());
  state.remember(c, retryKey(req)!, reply);
  ctx.metrics?.step({
    clinic: c.name,
    epoch: req.epoch,
    loss: r.loss,
    seconds: (performance.now() - t0) / 1000,
    samples: req.activation.dims[0],
    cutDims: req.activation.dims,
  });
  return reply;
};
