/**
 * The hijack guard in the clinic gateway's raw side (`defence.hijackGuard`, vanilla mode):
 * SplitGuard's fake batches (Erdoğan et al. 2022; `runtime/privacy/split_guard.ts`) sent as
 * *decoys* — ordinary `STEP`s that the courier interleaves where `decoy_schedule.ts` puts them.
 * A decoy repeats the reply of the regular step of its batch (the same activation, so the front
 * does not run twice and BatchNorm statistics move once) with `flips` of the labels sent
 * flipped. Its cut gradient is never applied to the clinic's weights: it is scored against the
 * regular step's on the flipped rows (−mean cos, `meanRowCosine`), and when the mean of the
 * last `window` scores is below `threshold` the decoy's backward fails with `RawSideError`
 * `HIJACK_SUSPECTED`, which ends the clinic's run.
 *
 * Replay: a decoy is a pure function of (seed, epoch, batch) and of the regular step's reply, so
 * a retried or redone decoy sends the same tensors; scores are kept per (epoch, batch), so a turn
 * redone after a rollback replaces its decoys' scores instead of counting them twice. A raw side
 * restarted between a regular step and its decoy no longer holds the regular reply: it sends the
 * batch's inference-mode activation (no BatchNorm update) with the flipped labels, and does not
 * score that decoy. The window is not checkpointed: a restarted raw side starts a new one.
 *
 * @example
 * ```ts
 * import { HijackWatch } from "./hijack_watch.ts";
 * const w = new HijackWatch({ every: 4 }, 1);
 * w.schedule; // { seed: 1, every: 4 }
 * ```
 * @module
 */
import type { Tensor } from "../../../models/tensor.ts";
import { type HijackGuardConfig, meanRowCosine } from "../../privacy/split_guard.ts";
import { decoyFollows, type DecoySchedule, flippedRows } from "../../privacy/decoy_schedule.ts";
import { RawSideError } from "./error.ts";
import type { StepReply } from "./step_ledger.ts";

/** How many regular steps' replies and gradients are kept for their decoys. */
const KEEP = 4;
/** How many scores {@linkcode HijackWatch.history} keeps. */
export const HISTORY = 4096;

/** The guard's state in one raw side. */
export class HijackWatch {
  /** The settings with defaults filled in (those of `SplitGuard`). */
  readonly config: Required<HijackGuardConfig>;
  /** Where decoys go (the courier gets it through `info()`). */
  readonly schedule: DecoySchedule;
  readonly #regular = new Map<string, { reply: StepReply; grad?: Tensor }>();
  readonly #scores = new Map<string, { step: string; score: number }>();
  /** Every decoy's score in order, the last {@linkcode HISTORY} (for reports and benches). */
  readonly history: { step: string; score: number }[] = [];

  /**
   * A watch with no decoys scored yet.
   *
   * @param config the clinic's `defence.hijackGuard`
   * @param seed the clinic's seed (the schedule's)
   */
  constructor(config: HijackGuardConfig, seed: number) {
    this.config = {
      every: config.every ?? 20,
      flips: config.flips ?? 8,
      window: config.window ?? 3,
      threshold: config.threshold ?? 0,
    };
    this.schedule = { seed, every: this.config.every };
  }

  /** Whether batch `batch` of `epoch` is followed by a decoy. */
  follows(epoch: number, batch: number): boolean {
    return decoyFollows(this.schedule, epoch, batch);
  }

  /** Keeps the reply of a regular step that a decoy follows. */
  keepReply(epoch: number, batch: number, reply: StepReply): void {
    const k = `${epoch}/${batch}`;
    this.#regular.delete(k);
    this.#regular.set(k, { reply });
    while (this.#regular.size > KEEP) this.#regular.delete(this.#regular.keys().next().value!);
  }

  /** Keeps the server's cut gradient of that regular step (as received, before NoPeek). */
  keepGrad(epoch: number, batch: number, grad: Tensor): void {
    const r = this.#regular.get(`${epoch}/${batch}`);
    if (r) r.grad = grad;
  }

  /** The regular reply of (epoch, batch), if this process still holds it. */
  regularReply(epoch: number, batch: number): StepReply | undefined {
    return this.#regular.get(`${epoch}/${batch}`)?.reply;
  }

  /**
   * The decoy of `reply`: the same activation, the labels sent with the schedule's rows flipped.
   *
   * @throws {RawSideError} `BAD_TENSOR` for a reply without labels (the guard needs vanilla mode)
   */
  decoyOf(epoch: number, batch: number, reply: StepReply): StepReply {
    if (!reply.labels) {
      throw new RawSideError(
        "BAD_TENSOR",
        "a decoy needs the labels of its regular step (vanilla mode)",
      );
    }
    const y = Float32Array.from(reply.labels.data as ArrayLike<number>);
    for (const i of this.#flipped(epoch, batch, reply)) y[i] = 1 - y[i];
    return {
      activation: reply.activation,
      labels: { dtype: "float32", dims: [...reply.labels.dims], data: y },
    };
  }

  #flipped(epoch: number, batch: number, reply: StepReply): number[] {
    return flippedRows(this.schedule, epoch, batch, reply.activation.dims[0], this.config.flips);
  }

  /**
   * Scores the decoy's cut gradient of step `step` against its regular step's; unscored when
   * the regular gradient is no longer held.
   *
   * @throws {RawSideError} `HIJACK_SUSPECTED` when the window's mean score is below the threshold
   */
  score(step: string, epoch: number, batch: number, decoyGrad: Tensor): number | undefined {
    const r = this.#regular.get(`${epoch}/${batch}`);
    if (!r?.grad) return undefined;
    const score = -meanRowCosine(r.grad, decoyGrad, this.#flipped(epoch, batch, r.reply));
    const k = `${epoch}/${batch}`;
    this.#scores.delete(k);
    this.#scores.set(k, { step, score });
    this.history.push({ step, score });
    if (this.history.length > HISTORY) this.history.shift();
    const { window, threshold } = this.config;
    const last = [...this.#scores.values()].slice(-window);
    while (this.#scores.size > window) this.#scores.delete(this.#scores.keys().next().value!);
    const mean = last.reduce((a, s) => a + s.score, 0) / last.length;
    if (last.length === window && mean < threshold) {
      throw new RawSideError(
        "HIJACK_SUSPECTED",
        `hijack suspected at step ${step} (epoch ${epoch} batch ${batch}): the server's gradients do not depend on the labels ` +
          `(mean decoy score ${
            mean.toFixed(3)
          } over the last ${window} decoys, threshold ${threshold}; an honest server scores near +1); ` +
          `training stopped — do not train with this server`,
      );
    }
    return score;
  }
}
