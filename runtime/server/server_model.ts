/**
 * The server's share of a split model: segment 1 bound to an engine, with its optimizer.
 * Vanilla: the loss segment (`step`: cut activation + labels → loss, cut gradient).
 * U-shaped: the middle (`forward` keeps what `backward` needs per step id; `backward`
 * with the head-input gradient → cut gradient). Nothing here changes a weight until a
 * whole step succeeded: the graphs run first, the optimizer updates last.
 *
 * With `deferUpdate` (the default) a step computes only what its reply needs — the loss and
 * the cut gradient, from the first part of the step graph (`models/graph/partition.ts`) —
 * and leaves the parameter gradients and the optimizer step pending. The server starts the
 * pending update once the reply has left ({@linkcode ServerModel.startUpdate}), so that it
 * runs while the clinic computes its own backward pass; every other method finishes it
 * first ({@linkcode ServerModel.settle}), so nothing ever sees half-updated weights. The
 * numbers are those of the fused step: the same nodes run, split between two sessions.
 *
 * @example
 * ```ts
 * import { ServerModel } from "./server_model.ts";
 * // const sm = await ServerModel.create(engine, segments, "vanilla", { kind: "sgd", lr: 0.1 });
 * // const { loss, cutGrad } = await sm.step(activation, labels);
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { CompiledSegment } from "../../models/train/compile.ts";
import type { ValueInfo } from "../../models/graph/ir.ts";
import { createOptimizer, type Optimizer, type OptimizerConfig } from "../../models/train/optimizer.ts";
import type { Engine } from "../engine/mod.ts";
import { SegmentRunner } from "../train/segment_runner.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import type { TensorSpec } from "../protocol/tensor_spec.ts";
import type { SplitMode } from "./split_model.ts";
import type { DeferredGradients } from "../train/segment_runner.ts";

/**
 * A deferred update failed after its step's reply was sent: the server weights missed that
 * step, so the model serves no more steps until the server is restarted (it then resumes
 * from its last checkpoint, and the clinics redo the turn).
 *
 * @example
 * ```ts
 * import { ServerModelError } from "./server_model.ts";
 * const e = new ServerModelError("the update of a STEP failed");
 * console.log(e.code); // "MODEL_FAILED"
 * ```
 */
export class ServerModelError extends Error {
  readonly code = "MODEL_FAILED";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServerModelError";
  }
}

/** Forwards kept for a U-shape backward at most (older ones are dropped). */
const MAX_PENDING = 8;

function specOf(v: ValueInfo, what: string, maxBatch: number, range?: readonly [number, number]): TensorSpec {
  if (!v.shape) throw new TypeError(`${what} ${JSON.stringify(v.name)} has no static rank; the server needs one`);
  const float = v.dtype === "float32" || v.dtype === "float16" || v.dtype === "float64";
  return { dtype: v.dtype, shape: [...v.shape], maxSymbol: maxBatch, ...(float ? { finite: true } : {}), ...(range ? { range } : {}) };
}

/** Refuses a step whose loss is not finite before its update is applied (or left pending). */
function finiteLoss(loss: number): void {
  if (!Number.isFinite(loss)) {
    throw new ProtocolError("NON_FINITE", `the step's loss is ${loss}; the step is not applied`);
  }
}

function perSample(spec: TensorSpec): number {
  let n = 1;
  for (const d of spec.shape) if (typeof d === "number") n *= d;
  return n;
}

/**
 * Segment 1 of a split model on an engine, with its optimizer.
 *
 * @example
 * ```ts
 * import { ServerModel } from "./server_model.ts";
 * // (await ServerModel.create(engine, segments, "ushaped", { kind: "adam", lr: 1e-3 })).expect
 * ```
 */
export class ServerModel {
  /** Expected tensors of requests, by protocol tensor name. */
  readonly expect: Readonly<Record<string, TensorSpec>>;
  /** Element limit of one request bundle. */
  readonly maxElements: number;
  readonly #pending = new Map<string, { saved: Record<string, Tensor>; batch: number }>();
  readonly #inName: string;
  readonly #outName: string;
  /** The update of the last step, not started yet. */
  #pendingUpdate: { what: string; grads: DeferredGradients } | null = null;
  /** The update of the last step, running. */
  #updating: Promise<void> | null = null;
  /** Why a deferred update failed: the weights missed a step, so no step is served any more. */
  #failed: ServerModelError | null = null;

  private constructor(
    readonly mode: SplitMode,
    readonly runner: SegmentRunner,
    readonly optimizer: Optimizer,
    maxBatch: number,
    /** Whether steps leave their update pending until {@linkcode ServerModel.startUpdate}. */
    readonly deferUpdate: boolean,
    /** Range of the labels' values, when the loss bounds them (binary cross-entropy: [0, 1]). */
    labelRange?: readonly [number, number],
  ) {
    const seg = runner.segment;
    if (seg.inputs.length !== 1 || seg.outputs.length !== 1) {
      throw new TypeError(
        `the server segment must have one input and one output, got [${seg.inputs.map((v) => v.name)}] → ` +
          `[${seg.outputs.map((v) => v.name)}]`,
      );
    }
    this.#inName = seg.inputs[0].name;
    this.#outName = seg.outputs[0].name;
    const activation = specOf(seg.inputs[0], "cut", maxBatch);
    if (mode === "vanilla") {
      if (!seg.hasLoss || !seg.step) throw new TypeError("vanilla mode: the server segment must hold the loss");
      const target = seg.step.graph.inputs.find((v) => v.name === seg.targetName)!;
      const labels = specOf(target, "target", maxBatch, labelRange);
      this.expect = { activation, labels };
      this.maxElements = maxBatch * (perSample(activation) + perSample(labels));
    } else {
      if (seg.hasLoss) throw new TypeError("ushaped mode: the server segment must not hold the loss");
      const gradHeadInput = specOf(seg.outputs[0], "head input", maxBatch);
      this.expect = { activation, gradHeadInput };
      this.maxElements = maxBatch * Math.max(perSample(activation), perSample(gradHeadInput));
    }
  }

  /**
   * Binds segment 1 of `segments` to `engine` and loads its sessions.
   *
   * @example
   * ```ts
   * import { ServerModel } from "./server_model.ts";
   * // await ServerModel.create(engine, segments, "vanilla", { kind: "sgd", lr: 0.1 }, 256);
   * ```
   */
  static async create(
    engine: Engine,
    segments: readonly CompiledSegment[],
    mode: SplitMode,
    optimizer: OptimizerConfig,
    maxBatch = 1024,
    opts: { deferUpdate?: boolean; labelRange?: readonly [number, number] } = {},
  ): Promise<ServerModel> {
    const want = mode === "vanilla" ? 2 : 3;
    if (segments.length !== want) {
      throw new TypeError(`mode ${mode} needs ${want} segments, got ${segments.length}`);
    }
    const runner = await SegmentRunner.create(engine, segments[1]);
    const sm = new ServerModel(mode, runner, createOptimizer(optimizer), maxBatch, opts.deferUpdate ?? true, opts.labelRange);
    await runner.warm({ deferred: sm.deferUpdate });
    return sm;
  }

  /**
   * Starts the pending update of the last step, if any (the server calls it once the
   * step's reply has left). Never rejects: a failure is reported by the next call.
   *
   * @example
   * ```ts
   * import type { ServerModel } from "./server_model.ts";
   * function replied(sm: ServerModel) { sm.startUpdate(); }
   * ```
   */
  startUpdate(): Promise<void> {
    const p = this.#pendingUpdate;
    if (p) {
      this.#pendingUpdate = null;
      this.#updating = (async () => {
        try {
          this.optimizer.step(this.runner.params, await p.grads.paramGrads());
        } catch (e) {
          this.#failed = new ServerModelError(
            `the update of ${p.what} failed after its reply was sent, so the server weights missed it: ` +
              `${(e as Error).message}; restart the server to resume from its last checkpoint`,
            { cause: e },
          );
        } finally {
          this.#updating = null;
        }
      })();
    }
    return this.#updating ?? Promise.resolve();
  }

  /**
   * Finishes the pending update of the last step (starting it if need be); every other
   * method calls it first. Read `runner.params` only after it.
   *
   * @throws {ServerModelError} when a deferred update failed: the weights missed a step
   * @example
   * ```ts
   * import type { ServerModel } from "./server_model.ts";
   * async function weights(sm: ServerModel) { await sm.settle(); return sm.runner.params; }
   * ```
   */
  async settle(): Promise<void> {
    await this.startUpdate();
    if (this.#failed) throw this.#failed;
  }

  #requireMode(mode: SplitMode, what: string): void {
    if (this.mode !== mode) throw new ProtocolError("WRONG_MODE", `${what} needs a ${mode} server; this one is ${this.mode}`);
  }

  /**
   * Vanilla step: loss segment forward + backward, then the optimizer step.
   *
   * @example
   * ```ts
   * import type { ServerModel } from "./server_model.ts";
   * async function go(sm: ServerModel, a: any, y: any) { return (await sm.step(a, y)).loss; }
   * ```
   */
  async step(activation: Tensor, labels: Tensor): Promise<{ loss: number; cutGrad: Tensor }> {
    this.#requireMode("vanilla", "STEP");
    await this.settle();
    if (this.deferUpdate) {
      const d = await this.runner.stepDeferred({ [this.#inName]: activation }, labels);
      finiteLoss(d.loss);
      this.#pendingUpdate = { what: "a STEP", grads: d };
      return { loss: d.loss, cutGrad: this.#cutGrad(d.inputGrads) };
    }
    const r = await this.runner.step({ [this.#inName]: activation }, labels);
    finiteLoss(r.loss);
    const cutGrad = this.#cutGrad(r.inputGrads);
    this.optimizer.step(this.runner.params, r.paramGrads);
    return { loss: r.loss, cutGrad };
  }

  #cutGrad(inputGrads: Record<string, Tensor>): Tensor {
    const cutGrad = inputGrads[this.#inName];
    if (!cutGrad) throw new TypeError(`the server segment has no gradient for its input ${this.#inName}`);
    return cutGrad;
  }

  /**
   * U-shape forward: keeps what the backward needs under `stepId`.
   *
   * @example
   * ```ts
   * import type { ServerModel } from "./server_model.ts";
   * async function go(sm: ServerModel, a: any) { return await sm.middleForward("0:0", a); }
   * ```
   */
  async middleForward(stepId: string, activation: Tensor): Promise<Tensor> {
    this.#requireMode("ushaped", "MIDDLE_FORWARD");
    await this.settle();
    const r = await this.runner.forward({ [this.#inName]: activation });
    this.#pending.set(stepId, { saved: r.saved, batch: activation.dims[0] });
    while (this.#pending.size > MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
    return r.outputs[this.#outName];
  }

  /** Batch size of the pending forward of `stepId`, if any. */
  pendingBatch(stepId: string): number | undefined {
    return this.#pending.get(stepId)?.batch;
  }

  /**
   * U-shape backward with the head-input gradient, then the optimizer step.
   *
   * @throws {ProtocolError} `UNKNOWN_STEP` when no forward of `stepId` is held.
   * @example
   * ```ts
   * import type { ServerModel } from "./server_model.ts";
   * async function go(sm: ServerModel, g: any) { return await sm.middleBackward("0:0", g); }
   * ```
   */
  async middleBackward(stepId: string, gradHeadInput: Tensor): Promise<Tensor> {
    this.#requireMode("ushaped", "MIDDLE_BACKWARD");
    await this.settle();
    const p = this.#pending.get(stepId);
    if (!p) throw new ProtocolError("UNKNOWN_STEP", `no forward of step ${stepId} is held (send MIDDLE_FORWARD first)`);
    if (this.deferUpdate) {
      const d = await this.runner.backwardDeferred(p.saved, { [this.#outName]: gradHeadInput });
      const cutGrad = this.#cutGrad(d.inputGrads);
      this.#pending.delete(stepId);
      this.#pendingUpdate = { what: `MIDDLE_BACKWARD ${stepId}`, grads: d };
      return cutGrad;
    }
    const r = await this.runner.backward(p.saved, { [this.#outName]: gradHeadInput });
    const cutGrad = this.#cutGrad(r.inputGrads);
    this.optimizer.step(this.runner.params, r.paramGrads);
    this.#pending.delete(stepId);
    return cutGrad;
  }

  /** Drops held forwards (at a turn change). */
  clearPending(): void {
    this.#pending.clear();
  }

  /**
   * Evaluation forward: logits (vanilla) or the head input (U-shape).
   *
   * @example
   * ```ts
   * import type { ServerModel } from "./server_model.ts";
   * async function go(sm: ServerModel, a: any) { return await sm.evaluate(a); }
   * ```
   */
  async evaluate(activation: Tensor): Promise<Tensor> {
    await this.settle();
    const out = await this.runner.infer({ [this.#inName]: activation });
    return out[this.#outName];
  }

  /**
   * The trainable state as named tensors: `param/<name>`, `buffer/<name>`, `opt/<key>`.
   *
   * @example
   * ```ts
   * import type { ServerModel } from "./server_model.ts";
   * function names(sm: ServerModel) { return [...sm.exportState().keys()]; }
   * ```
   */
  exportState(): Map<string, Tensor> {
    this.#requireSettled("exportState");
    const out = new Map<string, Tensor>();
    const copy = (t: Tensor) => ({ dtype: t.dtype, dims: [...t.dims], data: t.data.slice() }) as Tensor;
    for (const [k, v] of this.runner.params) out.set(`param/${k}`, copy(v));
    for (const [k, v] of this.runner.buffers) out.set(`buffer/${k}`, copy(v));
    for (const [k, v] of this.optimizer.state()) out.set(`opt/${k}`, v);
    return out;
  }

  /**
   * Restores state written by {@linkcode ServerModel.exportState}; checks every parameter
   * and buffer is present with its shape before changing anything.
   *
   * @throws {TypeError} naming a missing or mis-shaped tensor.
   * @example
   * ```ts
   * import type { ServerModel } from "./server_model.ts";
   * function copy(a: ServerModel, b: ServerModel) { b.loadState(a.exportState()); }
   * ```
   */
  loadState(state: ReadonlyMap<string, Tensor>): void {
    if (this.#updating) throw new Error("loadState: an update is running; await settle() first");
    const targets = [
      ...[...this.runner.params].map(([k, v]) => [`param/${k}`, v] as const),
      ...[...this.runner.buffers].map(([k, v]) => [`buffer/${k}`, v] as const),
    ];
    for (const [key, cur] of targets) {
      const t = state.get(key);
      if (!t) throw new TypeError(`checkpoint lacks ${key}`);
      if (t.dtype !== cur.dtype || t.dims.join(",") !== cur.dims.join(",")) {
        throw new TypeError(`checkpoint ${key}: expected ${cur.dtype}[${cur.dims}], got ${t.dtype}[${t.dims}]`);
      }
    }
    const opt = new Map<string, Tensor>();
    for (const [k, v] of state) if (k.startsWith("opt/")) opt.set(k.slice(4), v);
    this.optimizer.load(opt);
    for (const [k, v] of [...this.runner.params]) (v.data as Float32Array).set(state.get(`param/${k}`)!.data as Float32Array);
    for (const k of [...this.runner.buffers.keys()]) {
      const t = state.get(`buffer/${k}`)!;
      this.runner.buffers.set(k, { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() } as Tensor);
    }
    this.#pending.clear();
    this.#pendingUpdate = null; // the state loaded supersedes a step not applied yet
    this.#failed = null;
  }

  #requireSettled(what: string): void {
    if (this.#pendingUpdate || this.#updating) throw new Error(`${what}: a step's update is pending; await settle() first`);
    if (this.#failed) throw this.#failed;
  }

  /** Releases the engine sessions (after finishing a pending update). */
  async release(): Promise<void> {
    await this.settle().catch(() => {});
    await this.runner.release();
  }
}
