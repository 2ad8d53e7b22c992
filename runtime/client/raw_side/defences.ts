/**
 * The privacy defences at the cut as the raw side applies them (`runtime/privacy/`), here
 * because this is where the clinic computes:
 *
 * - `noise`: every activation that leaves — training *and* evaluation — is clipped per sample
 *   and noised (`noise_defence.ts`), so the server never sees a clean activation. The noise is
 *   drawn from a ChaCha20 stream keyed by a secret of this clinic (derived from its static key,
 *   or random per process without one; see `keyed_normals.ts`) over the context (step
 *   `epoch`/`batch` or eval `split`/`batch`, the seed, and a SHA-256 digest of the clean
 *   activation): a retried or rolled-back step with the same weights sends the identical
 *   tensor (so the server cannot average fresh draws of it), any other activation gets
 *   independent noise, and the server, which knows the seed, cannot regenerate it. The
 *   backward is straight-through: the returned gradient is applied at the clean activation.
 * - `nopeek`: before the front backward, α·d dCor(X, Z)/dZ is added to the cut gradient (X the
 *   front's first float input, Z the clean activation), computed by the NoPeek graph on the
 *   raw side's own engine (`nopeek_runner.ts`). Batches of one sample get no term (dCor needs
 *   two samples).
 * - `labelProtection` (U-shape only: the clinic holds the labels and computes the gradient at
 *   the head's input, which it equalises before sending). In vanilla mode the server computes
 *   the cut gradient, so the protection is the server's `labelProtection`; a clinic config
 *   asking for it in vanilla mode is refused rather than silently ignored.
 * - `labelDefence` (`label_defence.ts`): U-shape, Marvell or max-norm noise on the head-input
 *   gradient, drawn from a stream keyed by a second secret of the clinic over the step; vanilla,
 *   randomised response on the labels sent, each record's flip decided once by a keyed hash of
 *   its index (the same in every epoch and after a restart, unknown to the server).
 * - `budget`: a training forward of an epoch whose accounted ε would exceed the budget is
 *   refused with `BUDGET_SPENT` (`privacy_budget.ts`), which ends the clinic's run.
 * - `hijackGuard` (vanilla only): decoy steps scored by `hijack_watch.ts`, placed by
 *   `runtime/privacy/decoy_schedule.ts`. Refused in U-shape (see `prepareDefences`).
 * - input normalisation (`input_norm.ts`) is part of the model the clinic runs and exports.
 *
 * @example
 * ```ts
 * import { prepareDefences } from "./defences.ts";
 * import type { Model } from "../../../models/graph/ir.ts";
 * function check(model: Model) {
 *   try {
 *     prepareDefences({ labelProtection: "norm-equalise" }, "vanilla", model);
 *   } catch (e) {
 *     console.log((e as Error).message); // defence.labelProtection "norm-equalise" needs mode ushaped: ...
 *   }
 * }
 * ```
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Model } from "../../../models/graph/ir.ts";
import type { Tensor } from "../../../models/tensor.ts";
import type { CompiledSegment } from "../../../models/train/compile.ts";
import type { KeyPair } from "../../../crypto/noise/dh.ts";
import type { SegmentRunner } from "../../train/segment_runner.ts";
import { type DefenceConfig, parseDefenceConfig } from "../../privacy/defence_config.ts";
import { KeyedNormals } from "../../privacy/keyed_normals.ts";
import { clipAndNoise } from "../../privacy/noise_defence.ts";
import { applyInputNorm } from "../../privacy/input_norm.ts";
import { protectCutGradient } from "../../privacy/label_protection.ts";
import { NoPeekRunner } from "../../privacy/nopeek_runner.ts";
import { checkLabelDefenceMode, perturbLabelGradient } from "../../privacy/label_defence.ts";
import { flipProbability } from "../../privacy/randomised_response.ts";
import { checkBudget } from "../../privacy/privacy_budget.ts";
import { PrivacyBudgetError } from "../../privacy/rdp_accountant.ts";
import { RawSideError } from "./error.ts";
import type { RawSideMode } from "./api.ts";
import type { PendingStep } from "./step_ledger.ts";

const utf8 = new TextEncoder();

/**
 * Parses a clinic's defence config for `mode` and applies its input defence to `model`.
 *
 * @throws {TypeError} (or the parser's error) for a config that does not validate, or label
 *   protection asked of a vanilla clinic; the caller wraps it as `CONFIG_INVALID`
 * @example
 * ```ts
 * import { prepareDefences } from "./defences.ts";
 * import type { Model } from "../../../models/graph/ir.ts";
 * function plain(model: Model) { return prepareDefences(undefined, "vanilla", model).defence; }
 * ```
 */
export function prepareDefences(
  raw: DefenceConfig | undefined,
  mode: RawSideMode,
  model: Model,
): { defence: DefenceConfig; model: Model } {
  const defence = parseDefenceConfig(raw);
  if (mode === "vanilla" && defence.labelProtection === "norm-equalise") {
    throw new TypeError(
      `defence.labelProtection "norm-equalise" needs mode ushaped: in vanilla mode the server computes the cut gradient, so set labelProtection in the server's config`,
    );
  }
  checkLabelDefenceMode(defence.labelDefence, mode);
  if (defence.hijackGuard && mode === "ushaped") {
    // The server never sees U-shape labels: a flipped label changes only the head gradient the
    // clinic sends, so the check could only ask whether the server back-propagates that
    // gradient, not whether it trains the clinic's task (docs/design/privacy_defences.md).
    throw new TypeError("defence.hijackGuard needs mode vanilla: in U-shape the labels never reach the server, so decoys with flipped labels test nothing the server decides; remove it");
  }
  return { defence, model: applyInputNorm(model, defence) };
}

/**
 * Whether NoPeek is on (a positive weight).
 *
 * @example
 * ```ts
 * import { nopeekOn } from "./defences.ts";
 * console.log(nopeekOn({ nopeek: { weight: 0 } } as never)); // false
 * ```
 */
export function nopeekOn(defence: DefenceConfig): boolean {
  return defence.nopeek !== undefined && defence.nopeek.weight > 0;
}

/**
 * Refuses NoPeek for a front segment without a float input to correlate with.
 *
 * @throws {TypeError} naming what NoPeek needs
 * @example
 * ```ts
 * import { checkNoPeekInput } from "./defences.ts";
 * import type { CompiledSegment } from "../../../models/train/compile.ts";
 * function check(front: CompiledSegment) { checkNoPeekInput({}, front); }
 * ```
 */
export function checkNoPeekInput(defence: DefenceConfig, front: CompiledSegment): void {
  if (nopeekOn(defence) && !front.inputs.some((v) => v.dtype === "float32")) {
    throw new TypeError("defence.nopeek needs a float input of the first segment to correlate with; it has none");
  }
}

/**
 * The defences of one raw side, bound to its front segment and its secret.
 *
 * @example
 * ```ts
 * import { CutDefences } from "./defences.ts";
 * import type { SegmentRunner } from "../../train/segment_runner.ts";
 * function plain(front: SegmentRunner) {
 *   const d = new CutDefences({}, 0, front);
 *   return d.nopeekInput; // undefined: NoPeek is off
 * }
 * ```
 */
export class CutDefences {
  /** The parsed defence config. */
  readonly config: DefenceConfig;
  readonly #seed: number;
  /** Key of the noise streams (never leaves this object). */
  readonly #noiseSecret?: Uint8Array;
  /** Key of the label-defence streams and flips (never leaves this object). */
  readonly #labelSecret?: Uint8Array;
  /** NoPeek on the front's engine, and the name of its X input. */
  readonly #nopeek?: { runner: NoPeekRunner; x: string; weight: number };

  /**
   * @param config parsed defences ({@linkcode prepareDefences})
   * @param seed the run's seed (part of every noise context)
   * @param front the clinic's front segment (NoPeek runs on its engine)
   * @param keyPair the clinic's static key pair: the noise secret derives from it
   */
  constructor(config: DefenceConfig, seed: number, front: SegmentRunner, keyPair?: KeyPair) {
    this.config = config;
    this.#seed = seed;
    if (config.noise) {
      // A secret the server cannot know (it knows the seed): from the clinic's static key, so a
      // restarted clinic replays the same noise, else random for this process's life.
      this.#noiseSecret = keyPair
        ? hkdf(sha256, keyPair.secretKey, undefined, utf8.encode("splitgate/cut-noise-secret/v1"), 32)
        : crypto.getRandomValues(new Uint8Array(32));
    }
    if (config.labelDefence) {
      this.#labelSecret = keyPair
        ? hkdf(sha256, keyPair.secretKey, undefined, utf8.encode("splitgate/label-defence-secret/v1"), 32)
        : crypto.getRandomValues(new Uint8Array(32));
    }
    const frontSeg = front.segment;
    if (config.nopeek && nopeekOn(config)) {
      const x = frontSeg.inputs.find((v) => v.dtype === "float32")!;
      this.#nopeek = {
        runner: new NoPeekRunner(
          front.engine,
          x.shape ?? ["N"],
          frontSeg.outputs[0].shape ?? ["N"],
          undefined,
          config.nopeek.estimator,
        ),
        x: x.name,
        weight: config.nopeek.weight,
      };
    }
  }

  /** The front input NoPeek correlates with (kept per pending step), or undefined when off. */
  get nopeekInput(): string | undefined {
    return this.#nopeek?.x;
  }

  /**
   * What leaves for clean activation `z`: `z` itself, or clipped and noised from the keyed
   * stream of `context` and `z`'s digest (see the module notes).
   */
  sendable(z: Tensor, context: string): Tensor {
    const noise = this.config.noise;
    if (!noise) return z;
    const bytes = new Uint8Array(z.data.buffer, z.data.byteOffset, z.data.byteLength);
    const digest = bytesToHex(sha256(bytes));
    const rng = new KeyedNormals(this.#noiseSecret!, `${context}/${this.#seed}/${digest}`);
    return clipAndNoise(z, noise, rng);
  }

  /**
   * The cut gradient plus α·d dCor(X, Z)/dZ when NoPeek is on (NoPeek, Vepakomma et al.
   * 2020, eq. 1).
   *
   * @throws {RawSideError} `REMOTE` when the NoPeek gradient does not fit the cut gradient
   */
  async withNoPeek(entry: PendingStep, cutGrad: Tensor<"float32">): Promise<Tensor> {
    const np = this.#nopeek;
    if (!np || !entry.x || entry.activation.dims[0] < np.runner.minRows) return cutGrad;
    const { grad } = await np.runner.run(entry.x, entry.activation);
    const a = cutGrad.data, d = grad.data as Float32Array;
    if (d.length !== a.length) {
      throw new RawSideError("REMOTE", `NoPeek gradient has ${d.length} values; the cut gradient ${a.length}`);
    }
    const out = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = a[i] + np.weight * d[i];
    return { dtype: "float32", dims: [...cutGrad.dims], data: out };
  }

  /**
   * The head-input gradient as it may leave (U-shape: the one the label attacks would read):
   * norm-equalised and/or perturbed by the label defence, its noise keyed by `context`.
   */
  protectHeadGradient(g: Tensor, target?: Tensor, context = ""): Tensor {
    const p = protectCutGradient(g, this.config.labelProtection);
    const ld = this.config.labelDefence;
    if (!ld || ld.kind === "rr" || !target) return p;
    return perturbLabelGradient(p, target.data as Float32Array, ld, new KeyedNormals(this.#labelSecret!, `label/${context}/${this.#seed}`));
  }

  /**
   * The labels a vanilla clinic sends for records `idx`: `target` itself, or with randomised
   * response, each record's label flipped when a keyed hash of its index falls under the flip
   * probability (the same decision in every epoch).
   */
  labelsToSend(target: Tensor, idx: ArrayLike<number>): Tensor {
    const ld = this.config.labelDefence;
    if (ld?.kind !== "rr") return target;
    const p = flipProbability(ld.epsilon), y = target.data as Float32Array;
    const out = new Float32Array(y.length);
    for (let i = 0; i < y.length; i++) {
      const h = sha256(new Uint8Array([...this.#labelSecret!, ...utf8.encode(`rr/${this.#seed}/${idx[i]}`)]));
      const u = new DataView(h.buffer, h.byteOffset, 8).getUint32(0) / 2 ** 32;
      out[i] = u < p ? 1 - y[i] : y[i];
    }
    return { dtype: "float32", dims: [...target.dims], data: out };
  }

  /**
   * Refuses a training forward of (0-based) `epoch` when it would overspend `defence.budget`.
   *
   * @throws {RawSideError} `BUDGET_SPENT` naming the ε reached and the budget
   */
  checkEpoch(epoch: number): void {
    try {
      checkBudget(this.config, epoch + 1);
    } catch (e) {
      if (e instanceof PrivacyBudgetError) throw new RawSideError("BUDGET_SPENT", e.message);
      throw e;
    }
  }

  /** Releases the NoPeek session. */
  async release(): Promise<void> {
    await this.#nopeek?.runner.release();
  }
}
