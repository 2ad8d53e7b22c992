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
 * Nothing non-finite enters the shared state (`finite_state.ts`): a step is
 * refused with `NON_FINITE`, naming the tensor, when its loss, the BatchNorm running
 * statistics it produced, the gradient it would send back, or its parameter and optimizer
 * update are not finite, and the previous state is kept (the buffers the graph replaced are
 * put back; the optimizer's update is undone from copies taken before it). With
 * `deferUpdate`, everything but the parameter update is checked before the reply; an update
 * found non-finite after the reply left is dropped (parameters, optimizer state and, for a
 * STEP, the running statistics are put back as they were before the step), logged, and
 * reported to the clinic that sent the step as a `NON_FINITE` refusal of its next request
 * ({@linkcode ServerModel.takeDropped}); its own front already took the step, which the
 * server cannot undo, only not apply to the shared state.
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
import { FiniteUpdate, namedBuffers, requireFinite } from "./finite_state.ts";
import { type CutRoute, floatRoute, Int8ServerPath } from "./int8_server_path.ts";

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

/**
 * Options of {@linkcode ServerModel.create}.
 *
 * @example
 * ```ts
 * import type { ServerModelOptions } from "./server_model.ts";
 * const o: ServerModelOptions = { deferUpdate: true, labelRange: [0, 1], maxActivation: 1e4 };
 * ```
 */
export interface ServerModelOptions {
  /** Reply before the parameter update (default true). */
  deferUpdate?: boolean;
  /** Range of the labels' values, when the loss bounds them (binary cross-entropy: [0, 1]). */
  labelRange?: readonly [number, number];
  /** Largest |x| of a cut activation (`limits.maxActivation`, default {@linkcode DEFAULT_MAX_ACTIVATION}). */
  maxActivation?: number;
  /** Where a dropped deferred update is logged (default nowhere). */
  log?: (line: string) => void;
  /**
   * Take int8 cut activations as codes into a graph that dequantises them, and quantise the cut
   * gradient in the graph (`int8_server_path.ts`), its record written at DEFLATE `level`; the
   * server codec must then be int8. Default off.
   */
  int8Cut?: { level: number };
}

/**
 * Who sent a step, for the refusals that name it: its id, and the clinic a dropped deferred
 * update is reported to.
 *
 * @example
 * ```ts
 * import type { StepTag } from "./server_model.ts";
 * const t: StepTag = { stepId: "0:3", clinic: "clinic-a" };
 * ```
 */
export interface StepTag {
  stepId?: string;
  clinic?: string;
}

/**
 * A step's deferred parameter update: what it was and who sent it (for the refusal that
 * reports a dropped one), and the running statistics from before its forward pass, put back
 * when the update is dropped so that the whole step is undone on the server.
 */
interface PendingUpdate {
  what: string;
  owner: string;
  grads: DeferredGradients;
  buffersBefore: Map<string, Tensor>;
}

/** Forwards kept for a U-shape backward at most (older ones are dropped). */
const MAX_PENDING = 8;

function specOf(
  v: ValueInfo,
  what: string,
  maxBatch: number,
  range?: readonly [number, number],
  rangeSource?: string,
): TensorSpec {
  if (!v.shape) throw new TypeError(`${what} ${JSON.stringify(v.name)} has no static rank; the server needs one`);
  const float = v.dtype === "float32" || v.dtype === "float16" || v.dtype === "float64";
  return {
    dtype: v.dtype,
    shape: [...v.shape],
    maxSymbol: maxBatch,
    ...(float ? { finite: true } : {}),
    ...(range ? { range } : {}),
    ...(rangeSource ? { rangeSource } : {}),
  };
}

/**
 * Default of `limits.maxActivation`, the largest |x| a clinic may send in a cut activation.
 * Cut activations after a normalisation or a ReLU block are of order 1 to 10; 1e4 leaves
 * three orders of magnitude for honest data while refusing the issue's 1e6 and 1e20 scalings
 * (a BatchNorm's running variance grows with the square: 1e20² overflows float32).
 */
export const DEFAULT_MAX_ACTIVATION = 1e4;

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
  readonly #pending = new Map<string, { saved: Record<string, Tensor>; batch: number; route: CutRoute }>();
  readonly #inName: string;
  readonly #outName: string;
  /** The update of the last step, not started yet: who sent it, and the buffers before it. */
  #pendingUpdate: PendingUpdate | null = null;
  /** Deferred updates dropped as non-finite, by the owner they are reported to. */
  readonly #dropped = new Map<string, ProtocolError>();
  readonly #log: (line: string) => void;
  /** Applies optimizer updates only when they come out finite. */
  readonly #finite = new FiniteUpdate();
  /** The update of the last step, running, and who sent that step. */
  #updating: Promise<void> | null = null;
  #updatingOwner: string | null = null;
  /** Why a deferred update failed: the weights missed a step, so no step is served any more. */
  #failed: ServerModelError | null = null;
  /** The segment with its cut quantised in the graph (`options.int8Cut`), over the same weights. */
  #int8: Int8ServerPath | null = null;

  private constructor(
    readonly mode: SplitMode,
    readonly runner: SegmentRunner,
    readonly optimizer: Optimizer,
    maxBatch: number,
    /** Whether steps leave their update pending until {@linkcode ServerModel.startUpdate}. */
    readonly deferUpdate: boolean,
    /** Range of the labels' values, when the loss bounds them (binary cross-entropy: [0, 1]). */
    labelRange: readonly [number, number] | undefined,
    /** Largest |x| of a cut activation a clinic may send. */
    readonly maxActivation: number,
    log: (line: string) => void,
  ) {
    this.#log = log;
    const seg = runner.segment;
    if (seg.inputs.length !== 1 || seg.outputs.length !== 1) {
      throw new TypeError(
        `the server segment must have one input and one output, got [${seg.inputs.map((v) => v.name)}] → ` +
          `[${seg.outputs.map((v) => v.name)}]`,
      );
    }
    this.#inName = seg.inputs[0].name;
    this.#outName = seg.outputs[0].name;
    const activation = specOf(seg.inputs[0], "cut", maxBatch, [-maxActivation, maxActivation], "limits.maxActivation");
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
   * // await ServerModel.create(engine, segments, "vanilla", { kind: "sgd", lr: 0.1 }, 256, { maxActivation: 100 });
   * ```
   */
  static async create(
    engine: Engine,
    segments: readonly CompiledSegment[],
    mode: SplitMode,
    optimizer: OptimizerConfig,
    maxBatch = 1024,
    opts: ServerModelOptions = {},
  ): Promise<ServerModel> {
    const want = mode === "vanilla" ? 2 : 3;
    if (segments.length !== want) {
      throw new TypeError(`mode ${mode} needs ${want} segments, got ${segments.length}`);
    }
    const maxActivation = opts.maxActivation ?? DEFAULT_MAX_ACTIVATION;
    if (!(maxActivation > 0) || !Number.isFinite(maxActivation)) {
      throw new RangeError(`limits.maxActivation ${maxActivation}: expected a finite number > 0`);
    }
    const runner = await SegmentRunner.create(engine, segments[1]);
    const sm = new ServerModel(
      mode,
      runner,
      createOptimizer(optimizer),
      maxBatch,
      opts.deferUpdate ?? true,
      opts.labelRange,
      maxActivation,
      opts.log ?? (() => {}),
    );
    await runner.warm({ deferred: sm.deferUpdate });
    if (opts.int8Cut) {
      sm.#int8 = await Int8ServerPath.create(engine, segments, runner, opts.int8Cut.level);
      await sm.#int8.runner.warm({ deferred: sm.deferUpdate });
    }
    return sm;
  }

  /** Whether int8 activations go into the graph as codes (decode them as int8 views then). */
  get int8InGraph(): boolean {
    return this.#int8 !== null;
  }

  /** The runner and feeds for `activation` (the quantised segment for an int8 view). */
  #route(activation: Tensor): CutRoute {
    return this.#int8?.route(activation, this.runner) ?? floatRoute(this.runner, this.#inName, activation);
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
      this.#updatingOwner = p.owner;
      this.#updating = (async () => {
        try {
          this.#finite.apply(p.what, this.optimizer, this.runner.params, await p.grads.paramGrads());
        } catch (e) {
          if (e instanceof ProtocolError) {
            // Non-finite: rolled back. Not fatal, since the state is as before the step.
            for (const [k, v] of p.buffersBefore) this.runner.buffers.set(k, v);
            this.#dropUpdate(p.what, p.owner, e);
            return;
          }
          this.#failed = new ServerModelError(
            `the update of ${p.what} failed after its reply was sent, so the server weights missed it: ` +
              `${(e as Error).message}; restart the server to resume from its last checkpoint`,
            { cause: e },
          );
        } finally {
          this.#updating = null;
          this.#updatingOwner = null;
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

  /** Records a deferred update refused as non-finite after its reply left. */
  #dropUpdate(what: string, owner: string, e: ProtocolError): void {
    const message = `the update of ${what} was dropped after its reply was sent: ${e.message}`;
    this.#dropped.set(owner, new ProtocolError("NON_FINITE", message));
    this.#log(`${owner ? `clinic ${owner}: ` : ""}${message}`);
  }

  /**
   * The refusal owed to `owner` for a deferred update of its that was dropped as non-finite
   * (once: taking it clears it), after finishing that owner's pending or running update;
   * null when none. Another owner's update is neither started nor waited for (it starts
   * once its reply has left, as always).
   *
   * @example
   * ```ts
   * import type { ServerModel } from "./server_model.ts";
   * async function check(sm: ServerModel) { const e = await sm.takeDropped("clinic-a"); if (e) throw e; }
   * ```
   */
  async takeDropped(owner: string): Promise<ProtocolError | null> {
    if (this.#pendingUpdate?.owner === owner || this.#updatingOwner === owner) await this.startUpdate();
    const e = this.#dropped.get(owner) ?? null;
    this.#dropped.delete(owner);
    return e;
  }

  /**
   * Runs `fn` (which may replace the runner's buffers: a training forward updates the
   * BatchNorm running statistics) and puts the buffers back when it throws, so a refused
   * step leaves them as they were. The runner replaces buffer tensors, never writes them.
   */
  async #keepingBuffers<T>(fn: (saved: Map<string, Tensor>) => Promise<T>): Promise<T> {
    const saved = new Map(this.runner.buffers);
    try {
      return await fn(saved);
    } catch (e) {
      for (const [k, v] of saved) this.runner.buffers.set(k, v);
      throw e;
    }
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
   *
   * @throws {ProtocolError} `NON_FINITE` naming the loss or tensor; nothing changed.
   */
  async step(activation: Tensor, labels: Tensor, tag: StepTag = {}): Promise<{ loss: number; cutGrad: Tensor }> {
    this.#requireMode("vanilla", "STEP");
    await this.settle();
    const what = tag.stepId ? `STEP ${tag.stepId}` : "a STEP";
    const route = this.#route(activation);
    return await this.#keepingBuffers(async (buffersBefore) => {
      if (this.deferUpdate) {
        const d = await route.runner.stepDeferred(route.feeds, labels);
        const cutGrad = this.#checkedReply(what, d.loss, d.inputGrads, route);
        this.#pendingUpdate = { what, owner: tag.clinic ?? "", grads: d, buffersBefore };
        return { loss: d.loss, cutGrad };
      }
      const r = await route.runner.step(route.feeds, labels);
      const cutGrad = this.#checkedReply(what, r.loss, r.inputGrads, route);
      this.#finite.apply(what, this.optimizer, this.runner.params, r.paramGrads);
      return { loss: r.loss, cutGrad };
    });
  }

  /**
   * Checks what a step produced before its reply: the loss (if any), the running statistics
   * the graph wrote, and the cut gradient that leaves. Returns the cut gradient.
   */
  #checkedReply(what: string, loss: number | null, inputGrads: Record<string, Tensor>, route: CutRoute): Tensor {
    if (loss !== null) finiteLoss(loss);
    const cutGrad = this.#cutGrad(inputGrads, route, what);
    // A gradient quantised in the graph was checked from its scales (int8_server_path.ts).
    const floats = route.runner === this.runner ? [["cutGrad", cutGrad] as const] : [];
    requireFinite(what, [...namedBuffers(this.runner.buffers), ...floats]);
    return cutGrad;
  }

  #cutGrad(inputGrads: Record<string, Tensor>, route: CutRoute, what: string): Tensor {
    const cutGrad = route.cutGrad(inputGrads, what);
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
    const route = this.#route(activation);
    return await this.#keepingBuffers(async () => {
      const r = await route.runner.forward(route.feeds);
      const headInput = r.outputs[this.#outName];
      requireFinite(`MIDDLE_FORWARD ${stepId}`, [...namedBuffers(this.runner.buffers), ["headInput", headInput]]);
      this.#pending.set(stepId, { saved: r.saved, batch: activation.dims[0], route });
      while (this.#pending.size > MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
      return headInput;
    });
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
  async middleBackward(stepId: string, gradHeadInput: Tensor, clinic = ""): Promise<Tensor> {
    this.#requireMode("ushaped", "MIDDLE_BACKWARD");
    await this.settle();
    const p = this.#pending.get(stepId);
    if (!p) throw new ProtocolError("UNKNOWN_STEP", `no forward of step ${stepId} is held (send MIDDLE_FORWARD first)`);
    const what = `MIDDLE_BACKWARD ${stepId}`;
    if (this.deferUpdate) {
      const d = await p.route.runner.backwardDeferred(p.saved, { [this.#outName]: gradHeadInput });
      const cutGrad = this.#checkedReply(what, null, d.inputGrads, p.route);
      this.#pending.delete(stepId);
      // The forward's running statistics were taken at MIDDLE_FORWARD; a dropped update keeps them.
      this.#pendingUpdate = { what, owner: clinic, grads: d, buffersBefore: new Map(this.runner.buffers) };
      return cutGrad;
    }
    const r = await p.route.runner.backward(p.saved, { [this.#outName]: gradHeadInput });
    const cutGrad = this.#checkedReply(what, null, r.inputGrads, p.route);
    this.#finite.apply(what, this.optimizer, this.runner.params, r.paramGrads);
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
    const route = this.#route(activation);
    const out = await route.runner.infer(route.feeds);
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
  loadState(state: ReadonlyMap<string, Tensor>, opts: { keepPending?: boolean } = {}): void {
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
    // splitfed swaps per-clinic copies between a U-shaped forward and its backward: keepPending.
    if (!opts.keepPending) this.#pending.clear();
    this.#pendingUpdate = null; // the state loaded supersedes a step not applied yet
    this.#failed = null;
    this.#dropped.clear();
  }

  #requireSettled(what: string): void {
    if (this.#pendingUpdate || this.#updating) throw new Error(`${what}: a step's update is pending; await settle() first`);
    if (this.#failed) throw this.#failed;
  }

  /** Releases the engine sessions (after finishing a pending update). */
  async release(): Promise<void> {
    await this.settle().catch(() => {});
    await this.runner.release();
    await this.#int8?.runner.release();
  }
}
