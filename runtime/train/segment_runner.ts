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
import { type GraphPartition, partitionGraph } from "../../models/graph/partition.ts";
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

/**
 * A step or backward pass run in two parts: what travels back over the cut first, the
 * parameter gradients when asked for.
 */
export interface DeferredGradients {
  /** Gradient of each float input by input name (what travels back over the cut). */
  inputGrads: Record<string, Tensor>;
  /** Runs the rest of the graph; call once, before the parameters change. */
  paramGrads(): Promise<Map<string, Tensor>>;
}

/** A fused step of the loss segment whose parameter gradients come later. */
export interface DeferredStepResult extends DeferredGradients {
  loss: number;
  /** The model output (logits). */
  outputs: Record<string, Tensor>;
}

type GraphKind = "forward" | "backward" | "step" | "infer";
/** The two parts of the step and backward graphs ({@linkcode partitionGraph}). */
const PARTS = {
  stepFirst: ["step", "first"],
  stepSecond: ["step", "second"],
  backwardFirst: ["backward", "first"],
  backwardSecond: ["backward", "second"],
} as const;
type PartKind = keyof typeof PARTS;

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
  #partitions = new Map<"step" | "backward", GraphPartition>();

  private constructor(readonly engine: Engine, readonly segment: CompiledSegment, share?: SegmentRunner) {
    this.params = share?.params ?? new Map([...segment.params].map(([k, v]) => [k, cloneTensor(v)]));
    this.buffers = share?.buffers ?? new Map([...segment.buffers].map(([k, v]) => [k, cloneTensor(v)]));
  }

  /**
   * Binds `segment` to `engine`; sessions load on first use. With `share`, the runner uses
   * `share`'s parameter and buffer maps (the same weights, e.g. a segment and its copy whose
   * cut is quantised in the graph), so an update through either is seen by both.
   *
   * @example
   * ```ts
   * import { SegmentRunner } from "./segment_runner.ts";
   * // const runner = await SegmentRunner.create(engine, compiled[1]);
   * ```
   */
  static create(engine: Engine, segment: CompiledSegment, share?: SegmentRunner): Promise<SegmentRunner> {
    return Promise.resolve(new SegmentRunner(engine, segment, share));
  }

  /**
   * The step (or backward) graph cut in two: first the loss, the outputs, the buffer
   * updates and the input gradients; then the parameter gradients.
   */
  #partition(kind: "step" | "backward"): GraphPartition {
    let p = this.#partitions.get(kind);
    if (!p) {
      const model = this.segment[kind];
      if (!model) throw new TypeError(`segment ${this.segment.index} has no ${kind} graph`);
      const have = new Set(model.graph.outputs.map((o) => o.name));
      const first = [
        ...(kind === "step" ? ["loss", ...this.segment.outputs.map((o) => o.name), ...this.segment.bufferUpdates.values()] : []),
        ...this.segment.inputGradNames,
      ].filter((n) => have.has(n));
      p = partitionGraph(model, first);
      this.#partitions.set(kind, p);
    }
    return p;
  }

  #session(kind: GraphKind | PartKind): Promise<Session> {
    let s = this.#sessions.get(kind);
    if (!s) {
      const model: Model | undefined = kind in PARTS
        ? this.#partition(PARTS[kind as PartKind][0])[PARTS[kind as PartKind][1]]
        : this.segment[kind as GraphKind];
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

  /**
   * Loads every session now (so the first step is not slower than the rest); `deferred`:
   * the two-part graphs of {@linkcode SegmentRunner.stepDeferred} and
   * {@linkcode SegmentRunner.backwardDeferred} instead of the fused ones.
   */
  async warm(opts: { deferred?: boolean } = {}): Promise<void> {
    const d = opts.deferred === true;
    const kinds: (GraphKind | PartKind)[] = this.segment.hasLoss
      ? [...(d ? ["stepFirst", "stepSecond"] as const : ["step"] as const), "infer"]
      : ["forward", ...(d ? ["backwardFirst", "backwardSecond"] as const : ["backward"] as const), "infer"];
    // One at a time: the WebGPU provider refuses to create two sessions at once.
    for (const k of kinds) await this.#session(k);
  }

  /** Forward pass keeping what the backward needs (non-loss segments). */
  async forward(inputs: Record<string, Tensor>): Promise<ForwardResult> {
    const s = await this.#session("forward");
    const { out, outputs } = await this.#trainingRun(s, { ...inputs, ...this.#paramFeeds(s.inputNames) });
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
    return this.#split(await s.run(this.#backwardFeeds(s, saved, outputGrads)));
  }

  /** Feeds of a backward graph: the saved tensors, the parameters, each output's gradient. */
  #backwardFeeds(s: Session, saved: Record<string, Tensor>, outputGrads: Record<string, Tensor>): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = { ...saved, ...this.#paramFeeds(s.inputNames) };
    for (const o of this.segment.outputs) {
      const g = outputGrads[o.name];
      if (!g) throw new TypeError(`backward of segment ${this.segment.index}: no gradient for output ${JSON.stringify(o.name)}`);
      feeds[gradName(o.name)] = g;
    }
    return feeds;
  }

  /** Fused forward + loss + backward (the loss segment). */
  async step(inputs: Record<string, Tensor>, target: Tensor): Promise<StepResult> {
    const s = await this.#session("step");
    const { out, outputs } = await this.#trainingRun(s, { ...inputs, ...this.#paramFeeds(s.inputNames), [this.segment.targetName!]: target });
    return { loss: Number(out.loss.data[0]), outputs, ...this.#split(out) };
  }

  /** Runs a training graph (forward or step): takes its buffer updates, picks the segment's outputs. */
  async #trainingRun(s: Session, feeds: Record<string, Tensor>): Promise<{ out: Record<string, Tensor>; outputs: Record<string, Tensor> }> {
    const out = await s.run(feeds);
    this.#updateBuffers(out);
    const outputs: Record<string, Tensor> = {};
    for (const o of this.segment.outputs) outputs[o.name] = out[o.name];
    return { out, outputs };
  }

  /**
   * {@linkcode SegmentRunner.step} in two runs: the loss, outputs and input gradients now,
   * the parameter gradients from `paramGrads()` (the same numbers as the fused step).
   *
   * @example
   * ```ts
   * import type { SegmentRunner } from "./segment_runner.ts";
   * async function go(r: SegmentRunner, x: any, y: any) {
   *   const s = await r.stepDeferred({ cut: x }, y); // reply with s.inputGrads.cut ...
   *   return await s.paramGrads(); // ... then update
   * }
   * ```
   */
  async stepDeferred(inputs: Record<string, Tensor>, target: Tensor): Promise<DeferredStepResult> {
    const s = await this.#session("stepFirst");
    const feeds = { ...inputs, ...this.#paramFeeds(s.inputNames), [this.segment.targetName!]: target };
    const { out, outputs } = await this.#trainingRun(s, feeds);
    return { loss: Number(out.loss.data[0]), outputs, ...this.#deferred("step", feeds, out) };
  }

  /**
   * {@linkcode SegmentRunner.backward} in two runs: the input gradients now, the parameter
   * gradients from `paramGrads()`.
   *
   * @example
   * ```ts
   * import type { SegmentRunner } from "./segment_runner.ts";
   * async function go(r: SegmentRunner, saved: any, g: any) {
   *   const b = await r.backwardDeferred(saved, { out: g });
   *   return await b.paramGrads();
   * }
   * ```
   */
  async backwardDeferred(saved: Record<string, Tensor>, outputGrads: Record<string, Tensor>): Promise<DeferredGradients> {
    const s = await this.#session("backwardFirst");
    const feeds = this.#backwardFeeds(s, saved, outputGrads);
    return this.#deferred("backward", feeds, await s.run(feeds));
  }

  #deferred(kind: "step" | "backward", feeds: Record<string, Tensor>, out: Record<string, Tensor>): DeferredGradients {
    const { inputGrads } = this.#split(out, false);
    let done = false;
    return {
      inputGrads,
      paramGrads: async () => {
        if (done) throw new Error(`segment ${this.segment.index}: the deferred parameter gradients were already taken`);
        done = true;
        const s = await this.#session(kind === "step" ? "stepSecond" : "backwardSecond");
        const known: Record<string, Tensor> = { ...feeds, ...out };
        const second: Record<string, Tensor> = {};
        for (const n of s.inputNames) {
          const t = known[n] ?? this.params.get(n) ?? this.buffers.get(n);
          if (!t) throw new TypeError(`segment ${this.segment.index}: nothing to feed ${JSON.stringify(n)} of the deferred ${kind}`);
          second[n] = t;
        }
        const rest = await s.run(second);
        return this.#split({ ...out, ...rest }).paramGrads;
      },
    };
  }

  /** Forward only (evaluation, inference). */
  async infer(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const s = await this.#session("infer");
    return await s.run({ ...inputs, ...this.#paramFeeds(s.inputNames) });
  }

  #updateBuffers(out: Record<string, Tensor>): void {
    for (const [buf, name] of this.segment.bufferUpdates) this.buffers.set(buf, out[name]);
  }

  #split(out: Record<string, Tensor>, params = true): BackwardResult {
    const paramGrads = new Map<string, Tensor>();
    if (params) for (const p of this.segment.trainable) paramGrads.set(p, out[gradName(p)]);
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
