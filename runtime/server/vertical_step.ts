/**
 * The server's half of vertical split learning: per step it waits for every party's cut
 * tensor of the same aligned batch, fuses them (concatenation along the feature axis, or
 * sum), runs the top of the network and hands each party the gradient at its own cut.
 *
 * Who holds the labels (`labels.holder`):
 * - `"server"`: the label party sends the batch's labels with its cut tensor (as a clinic does
 *   in horizontal vanilla mode); the server computes the loss and steps the whole top;
 * - `"party"` (U-shaped): the top is cut once more; the server runs its middle and returns
 *   the head input to the label party, which computes loss and head gradients itself and
 *   sends back the gradient at the head input. Labels never leave that party.
 *
 * Gradients at the cut, with `fused = concat(z_1, …, z_K)`: ∂L/∂z_k is the k-th column
 * block of ∂L/∂fused; with `fused = Σ z_k` it is ∂L/∂fused for every k.
 *
 * One step at a time: a party that sends the next step before the current one finished
 * waits in the same queue (requests resolve in step order).
 *
 * @example
 * ```ts
 * import { VerticalServer } from "./vertical_step.ts";
 * // const vs = await VerticalServer.create({ engine, parties: [{ name: "a", width: 32 }, { name: "b", width: 32 }],
 * //   fusion: "concat", labels: { holder: "server", party: "a" }, optimizer: { kind: "adam", lr: 1e-3 }, seed: 0 });
 * // const [ra, rb] = await Promise.all([vs.forward("a", "1:0", za, y), vs.forward("b", "1:0", zb)]);
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import {
  createOptimizer,
  type Optimizer,
  type OptimizerConfig,
} from "../../models/train/optimizer.ts";
import { FUSED_INPUT } from "../../models/zoo/fusion_top.ts";
import type { Engine } from "../engine/mod.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { SegmentRunner } from "../train/segment_runner.ts";
import type { SegmentSlot } from "../train/segment_state.ts";
import type { LabelProtection } from "../privacy/defence_config.ts";
import { protectCutGradient } from "../privacy/label_protection.ts";
import { compileVerticalTop } from "../train/vertical_top.ts";
import { fuse, fusedWidth, type FusionKind, splitGrad } from "../train/vertical_fusion.ts";

/** The study's vertical settings the server needs. */
export interface VerticalServerOptions {
  engine: Engine;
  /** The parties, in concatenation order, with the width of each one's cut tensor. */
  parties: { name: string; width: number }[];
  fusion: FusionKind;
  /** `holder: "server"`: `party` sends labels; `"party"`: U-shaped, `party` keeps them. */
  labels: { holder: "server" | "party"; party: string };
  optimizer: OptimizerConfig;
  /** Seed of the top's initial weights. */
  seed: number;
  /** Hidden width of the top (default 32). */
  fusionHidden?: number;
  /** Applied to every cut gradient returned (`runtime/privacy/label_protection.ts`; default none). */
  labelProtection?: LabelProtection;
}

/** What a party gets back from {@linkcode VerticalServer.forward}. */
export interface VerticalForwardReply {
  /** Gradient at this party's cut (absent for the U-shaped label party: it comes after its head). */
  cutGrad?: Tensor;
  /** U-shaped label party: the tensor entering its head. */
  headInput?: Tensor;
  /** Training loss of the step (when the server computes it). */
  loss?: number;
}

interface Pending {
  parts: Map<string, Tensor>;
  labels?: Tensor;
  waiters: Map<string, (r: VerticalForwardReply) => void>;
  failers: Map<string, (e: unknown) => void>;
  /** U-shape: the middle's saved tensors between forward and backward. */
  saved?: Record<string, Tensor>;
  kind: "train" | "eval";
}

/**
 * The server of a vertical split (see the module documentation).
 *
 * @example
 * ```ts
 * import { VerticalServer } from "./vertical_step.ts";
 * console.log(typeof VerticalServer.create); // "function"
 * ```
 */
export class VerticalServer {
  readonly #o: VerticalServerOptions;
  readonly #top: SegmentRunner;
  readonly #opt: Optimizer;
  readonly #outName: string;
  readonly #pending = new Map<string, Pending>();
  #done = new Set<string>();
  /** Steps applied. */
  steps = 0;

  private constructor(o: VerticalServerOptions, top: SegmentRunner, outName: string) {
    this.#o = o;
    this.#top = top;
    this.#opt = createOptimizer(o.optimizer);
    this.#outName = outName;
  }

  /**
   * Builds and compiles the top for the parties' widths.
   *
   * @throws {RangeError} for no parties, a duplicate name, a label party not among them,
   *   or unequal widths with `sum`.
   */
  static async create(o: VerticalServerOptions): Promise<VerticalServer> {
    const names = o.parties.map((p) => p.name);
    if (names.length < 1 || new Set(names).size !== names.length) {
      throw new RangeError(`vertical parties [${names}]: expected one or more distinct names`);
    }
    if (!names.includes(o.labels.party)) {
      throw new RangeError(
        `labels.party ${JSON.stringify(o.labels.party)}: expected one of [${names}]`,
      );
    }
    const segments = compileVerticalTop({
      width: fusedWidth(o.parties, o.fusion),
      fusionHidden: o.fusionHidden,
      seed: o.seed,
      ushaped: o.labels.holder === "party",
    });
    const runner = await SegmentRunner.create(o.engine, segments[0]);
    return new VerticalServer(o, runner, segments[0].outputs[0].name);
  }

  /** The top as a checkpoint slot (`runtime/train/segment_state.ts`, `vertical_checkpoint.ts`). */
  get slot(): SegmentSlot {
    return { role: "top", runner: this.#top, optimizer: this.#opt };
  }

  /**
   * After the top's state was put back to a checkpoint's: `steps` as the checkpoint counted,
   * and the steps in flight and the applied step ids forgotten (their epoch runs again).
   */
  rolledBack(steps: number): void {
    for (const [key, p] of this.#pending) {
      this.#fail(
        key,
        p,
        new ProtocolError(
          "WRONG_EPOCH",
          `step ${key} dropped: the study resumed from a checkpoint`,
        ),
      );
    }
    this.#done.clear();
    this.steps = steps;
  }

  /** The top's parameters (for checkpoints and export). */
  get params(): Map<string, Tensor> {
    return this.#top.params;
  }

  /**
   * Party `party`'s cut tensor of training step `stepId`; resolves when the step is done
   * for this party (see {@linkcode VerticalForwardReply}).
   *
   * @throws {ProtocolError} `BAD_MESSAGE` (unknown party, a repeated part, a step already
   *   applied, labels from the wrong party or missing), `WRONG_SHAPE` (a width or batch size
   *   that does not fit).
   */
  async forward(
    party: string,
    stepId: string,
    activation: Tensor,
    labels?: Tensor,
  ): Promise<VerticalForwardReply> {
    return await this.#submit("train", party, stepId, activation, labels);
  }

  /** Evaluation: the label party gets the logits (or the head input, U-shaped); the others `{}`. */
  async evaluate(party: string, batchId: string, activation: Tensor): Promise<{ output?: Tensor }> {
    const r = await this.#submit("eval", party, `eval:${batchId}`, activation);
    return r.headInput ? { output: r.headInput } : {};
  }

  /**
   * U-shaped label party: the gradient at its head input for step `stepId`; returns the
   * gradient at its own cut once the middle stepped (the other parties' replies go out then).
   *
   * @throws {ProtocolError} `UNKNOWN_STEP` when no forward of that step is held.
   */
  async headBackward(party: string, stepId: string, gradHeadInput: Tensor): Promise<Tensor> {
    const p = this.#pending.get(stepId);
    if (this.#o.labels.holder !== "party" || party !== this.#o.labels.party) {
      throw new ProtocolError(
        "WRONG_MODE",
        `head gradient from ${party}: only the U-shaped label party ${this.#o.labels.party} sends one`,
      );
    }
    if (!p?.saved) {
      throw new ProtocolError("UNKNOWN_STEP", `no middle forward of step ${stepId} is held`);
    }
    const r = await this.#top.backward(p.saved, { [this.#outName]: gradHeadInput });
    this.#opt.step(this.#top.params, r.paramGrads);
    this.#finish(stepId, p, r.inputGrads[FUSED_INPUT]);
    return p.parts.get(party)!; // replaced by its gradient in #finish
  }

  #submit(
    kind: "train" | "eval",
    party: string,
    key: string,
    activation: Tensor,
    labels?: Tensor,
  ): Promise<VerticalForwardReply> {
    const k = this.#o.parties.findIndex((p) => p.name === party);
    if (k < 0) {
      throw new ProtocolError(
        "BAD_MESSAGE",
        `party ${JSON.stringify(party)} is not in this vertical study`,
      );
    }
    if (this.#done.has(key)) {
      throw new ProtocolError("BAD_MESSAGE", `step ${key} was already applied`);
    }
    const width = this.#o.parties[k].width;
    if (
      activation.dtype !== "float32" || activation.dims.length !== 2 || activation.dims[1] !== width
    ) {
      throw new ProtocolError(
        "WRONG_SHAPE",
        `${party}'s cut tensor of ${key}: ${activation.dtype} [${activation.dims}], expected float32 [N, ${width}]`,
      );
    }
    const wantLabels = kind === "train" && this.#o.labels.holder === "server" &&
      party === this.#o.labels.party;
    if (wantLabels !== (labels !== undefined)) {
      throw new ProtocolError(
        "BAD_MESSAGE",
        `${party} ${
          labels ? "sent" : "did not send"
        } labels with ${key}; the label party is ${this.#o.labels.party} (holder ${this.#o.labels.holder})`,
      );
    }
    let p = this.#pending.get(key);
    if (!p) {
      p = { parts: new Map(), waiters: new Map(), failers: new Map(), kind };
      this.#pending.set(key, p);
    }
    if (p.parts.has(party)) {
      throw new ProtocolError("BAD_MESSAGE", `${party} sent its part of ${key} twice`);
    }
    const first = p.parts.values().next().value as Tensor | undefined;
    if (first && first.dims[0] !== activation.dims[0]) {
      throw new ProtocolError(
        "WRONG_SHAPE",
        `${party}'s batch of ${key} has ${activation.dims[0]} rows, another party's ${
          first.dims[0]
        }`,
      );
    }
    p.parts.set(party, activation);
    if (labels) p.labels = labels;
    const pending = p;
    const reply = new Promise<VerticalForwardReply>((resolve, reject) => {
      pending.waiters.set(party, resolve);
      pending.failers.set(party, reject);
    });
    if (p.parts.size === this.#o.parties.length) {
      this.#run(key, p).catch((e) => this.#fail(key, p!, e));
    }
    return reply;
  }

  async #run(key: string, p: Pending): Promise<void> {
    const fused = fuse(this.#o.parties.map((q) => p.parts.get(q.name)!), this.#o.fusion);
    const labelParty = this.#o.labels.party;
    if (p.kind === "eval") {
      const out = (await this.#top.infer({ [FUSED_INPUT]: fused }))[this.#outName];
      this.#pending.delete(key);
      for (const [party, resolve] of p.waiters) {
        resolve(party === labelParty ? { headInput: out } : {});
      }
      return;
    }
    if (this.#o.labels.holder === "party") {
      const r = await this.#top.forward({ [FUSED_INPUT]: fused });
      p.saved = r.saved;
      p.waiters.get(labelParty)!({ headInput: r.outputs[this.#outName] });
      p.waiters.delete(labelParty);
      return; // the rest in headBackward
    }
    const r = await this.#top.step({ [FUSED_INPUT]: fused }, p.labels!);
    this.#opt.step(this.#top.params, r.paramGrads);
    this.#finish(key, p, r.inputGrads[FUSED_INPUT], r.loss);
  }

  #finish(key: string, p: Pending, gFused: Tensor, loss?: number): void {
    const widths = this.#o.parties.map((q) => q.width);
    this.#pending.delete(key);
    this.#done.add(key);
    this.steps++;
    this.#o.parties.forEach((q, k) => {
      // Label protection goes between the step and the wire, as in horizontal training.
      const g = protectCutGradient(
        splitGrad(gFused, widths, k, this.#o.fusion),
        this.#o.labelProtection,
      ) as Tensor<"float32">;
      p.parts.set(q.name, g); // the label party's headBackward reads its gradient here
      p.waiters.get(q.name)?.({ cutGrad: g, loss });
    });
  }

  #fail(key: string, p: Pending, e: unknown): void {
    this.#pending.delete(key);
    for (const f of p.failers.values()) f(e);
  }
}
