/**
 * Runs one compiled segment on an engine: it owns the segment's parameters (host copies,
 * updated in place by the optimizer) and the onnxruntime sessions of its graphs, loaded
 * once and reused by every step.
 *
 * @example
 * ```ts
 * import { SegmentRunner } from "./segment_runner.ts";
 * // const front = await SegmentRunner.create(engine, compiled[0]);
 * // const { outputs, saved } = await front.forward({ image });
 * // const { paramGrads } = await front.backward(saved, { "grad.cut": g });
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { CompiledSegment } from "../../models/train/compile.ts";
import { gradName } from "../../models/train/compile.ts";
import type { Model } from "../../models/graph/ir.ts";
import { writeModel } from "../../models/onnx/write_model.ts";
import type { Engine, Session } from "../engine/mod.ts";

/** Results of a forward pass. */
export interface ForwardResult {
  /** The segment's outputs by name (the cut activation). */
  outputs: Record<string, Tensor>;
  /** What the backward pass needs; pass it back unchanged. */
  saved: Record<string, Tensor>;
}

/** Gradients of one backward pass. */
export interface BackwardResult {
  /** `grad` by parameter name. */
  paramGrads: Map<string, Tensor>;
  /** Gradient of each float input by input name (what travels back over the cut). */
  inputGrads: Record<string, Tensor>;
}

/** Results of a fused step of the loss segment. */
export interface StepResult extends BackwardResult {
  loss: number;
  /** The model output (logits). */
  outputs: Record<string, Tensor>;
}

function cloneTensor(t: Tensor): Tensor {
  return { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() } as Tensor;
}

/** A compiled segment bound to an engine. */
export class SegmentRunner {
  /** Parameters by name; the optimizer updates these arrays in place. */
  readonly params: Map<string, Tensor>;
  /** Running statistics; replaced after each training forward pass. */
  readonly buffers: Map<string, Tensor>;
  #sessions = new Map<string, Promise<Session>>();

  private constructor(readonly engine: Engine, readonly segment: CompiledSegment) {
    this.params = new Map([...segment.params].map(([k, v]) => [k, cloneTensor(v)]));
    this.buffers = new Map([...segment.buffers].map(([k, v]) => [k, cloneTensor(v)]));
  }

  /**
   * Binds `segment` to `engine`; sessions load on first use.
   *
   * @example
   * ```ts
   * import { SegmentRunner } from "./segment_runner.ts";
   * // const runner = await SegmentRunner.create(engine, compiled[1]);
   * ```
   */
  static create(engine: Engine, segment: CompiledSegment): Promise<SegmentRunner> {
    return Promise.resolve(new SegmentRunner(engine, segment));
  }

  #session(kind: "forward" | "backward" | "step" | "infer"): Promise<Session> {
    let s = this.#sessions.get(kind);
    if (!s) {
      const model: Model | undefined = this.segment[kind];
      if (!model) throw new TypeError(`segment ${this.segment.index} has no ${kind} graph`);
      s = this.engine.load(writeModel(model), { name: `segment ${this.segment.index} ${kind}` });
      this.#sessions.set(kind, s);
    }
    return s;
  }

  #paramFeeds(names: readonly string[]): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    for (const n of names) {
      const p = this.params.get(n) ?? this.buffers.get(n);
      if (p) feeds[n] = p;
    }
    return feeds;
  }

  /** Loads every session now (so the first step is not slower than the rest). */
  async warm(): Promise<void> {
    const kinds = this.segment.hasLoss ? ["step", "infer"] as const : ["forward", "backward", "infer"] as const;
    // One at a time: the WebGPU provider refuses to create two sessions at once.
    for (const k of kinds) await this.#session(k);
  }

  /** Forward pass keeping what the backward needs (non-loss segments). */
  async forward(inputs: Record<string, Tensor>): Promise<ForwardResult> {
    const s = await this.#session("forward");
    const out = await s.run({ ...inputs, ...this.#paramFeeds(s.inputNames) });
    this.#updateBuffers(out);
    const outputs: Record<string, Tensor> = {};
    for (const o of this.segment.outputs) outputs[o.name] = out[o.name];
    const saved: Record<string, Tensor> = {};
    for (const t of this.segment.saved) saved[t] = out[t] ?? inputs[t];
    return { outputs, saved };
  }

  /**
   * Backward pass: `outputGrads` holds the gradient of each output, keyed by the output
   * name.
   */
  async backward(saved: Record<string, Tensor>, outputGrads: Record<string, Tensor>): Promise<BackwardResult> {
    const s = await this.#session("backward");
    const feeds: Record<string, Tensor> = { ...saved, ...this.#paramFeeds(s.inputNames) };
    for (const o of this.segment.outputs) {
      const g = outputGrads[o.name];
      if (!g) throw new TypeError(`backward of segment ${this.segment.index}: no gradient for output ${JSON.stringify(o.name)}`);
      feeds[gradName(o.name)] = g;
    }
    return this.#split(await s.run(feeds));
  }

  /** Fused forward + loss + backward (the loss segment). */
  async step(inputs: Record<string, Tensor>, target: Tensor): Promise<StepResult> {
    const s = await this.#session("step");
    const out = await s.run({ ...inputs, ...this.#paramFeeds(s.inputNames), [this.segment.targetName!]: target });
    this.#updateBuffers(out);
    const outputs: Record<string, Tensor> = {};
    for (const o of this.segment.outputs) outputs[o.name] = out[o.name];
    return { loss: Number(out.loss.data[0]), outputs, ...this.#split(out) };
  }

  /** Forward only (evaluation, inference). */
  async infer(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const s = await this.#session("infer");
    return await s.run({ ...inputs, ...this.#paramFeeds(s.inputNames) });
  }

  #updateBuffers(out: Record<string, Tensor>): void {
    for (const [buf, name] of this.segment.bufferUpdates) this.buffers.set(buf, out[name]);
  }

  #split(out: Record<string, Tensor>): BackwardResult {
    const paramGrads = new Map<string, Tensor>();
    for (const p of this.segment.trainable) paramGrads.set(p, out[gradName(p)]);
    const inputGrads: Record<string, Tensor> = {};
    for (const i of this.segment.inputs) {
      const g = out[gradName(i.name)];
      if (g) inputGrads[i.name] = g;
    }
    return { paramGrads, inputGrads };
  }

  /** Releases the sessions. */
  async release(): Promise<void> {
    for (const s of this.#sessions.values()) await (await s).release();
    this.#sessions.clear();
  }
}
