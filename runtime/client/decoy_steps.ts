/**
 * The courier's half of the hijack guard (`defence.hijackGuard`, vanilla mode): where the
 * decoys go in a turn (`turnPlan` of `runtime/privacy/decoy_schedule.ts`, from the schedule the
 * raw side announces in `info().decoys`) and how one is sent. A decoy is an ordinary `STEP`
 * with the next step id — nothing on the wire marks it — whose cut gradient goes back to the
 * raw side, which scores it and never applies it (`raw_side/hijack_watch.ts`); the raw side's
 * `backward` fails with `HIJACK_SUSPECTED` when the scores say the server ignores the labels.
 *
 * Step ids count what was sent, decoys included, and the plan is a pure function of (seed,
 * epoch, batch): a turn resumed at the server's next step id, or redone from its start after a
 * rollback, sends the same regular steps and the same decoys under the same ids.
 *
 * @example
 * ```ts
 * import { turnPlan } from "./decoy_steps.ts";
 * turnPlan({ seed: 5, every: 4 }, 0, 0, 4).filter((s) => s.decoy).length; // 1
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { RawSide } from "./raw_side/api.ts";
import { ClinicError } from "./clinic_error.ts";

export { turnPlan } from "../privacy/decoy_schedule.ts";

/** Sends one `STEP` (the driver's retrying, resyncing request). */
export type SendStep = (msg: {
  type: "STEP";
  stepId: string;
  epoch: number;
  activation: Tensor;
  labels: Tensor;
}) => Promise<{ cutGrad: Tensor }>;

/**
 * The decoy of batch `batch` of `epoch` as step `id` of round `round`: the raw side's decoy
 * forward, the server's `STEP`, the raw side's scoring backward.
 *
 * @throws {RawSideError} `HIJACK_SUSPECTED` from the raw side when the guard's alarm rises
 * @example
 * ```ts
 * import { decoyStep, type SendStep } from "./decoy_steps.ts";
 * import type { RawSide } from "./raw_side/api.ts";
 * async function one(side: RawSide, send: SendStep) { await decoyStep(side, send, "0:3", 0, 0, 2); }
 * ```
 */
export async function decoyStep(
  side: RawSide,
  send: SendStep,
  id: string,
  round: number,
  epoch: number,
  batch: number,
): Promise<void> {
  const f = await side.forward(id, epoch, batch, true);
  if (!f.labels) {
    throw new ClinicError(
      "BAD_RAW_SIDE_REPLY",
      "decoy step: the raw side returned no labels; expected labels with every vanilla forward",
    );
  }
  const r = await send({
    type: "STEP",
    stepId: id,
    epoch: round,
    activation: f.activation,
    labels: f.labels,
  });
  await side.backward(id, r.cutGrad);
}
