/**
 * All segments of a (possibly cut) model bound to one engine in one process: the
 * in-process reference of split training — the same graphs and arithmetic as the
 * networked runtime, without the network. With no cut it is plain central training.
 *
 * @example
 * ```ts
 * import { Pipeline } from "./pipeline.ts";
 * // const p = await Pipeline.create(engine, compileModel(model, { loss: "bce" }));
 * // const { loss } = await p.trainStep(batch.inputs, batch.target, optimizers);
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { CompiledSegment } from "../../models/train/compile.ts";
import type { Optimizer } from "../../models/train/optimizer.ts";
import type { Engine } from "../engine/mod.ts";
import { runOneBatch } from "./one_batch.ts";
import { SegmentRunner } from "./segment_runner.ts";

/**
 * Parameters and buffers of `runners` by name (live references, not copies).
 *
 * @example
 * ```ts
 * import { runnerWeights } from "./pipeline.ts";
 * // const w = runnerWeights(pipeline.runners);
 * ```
 */
export function runnerWeights(runners: readonly SegmentRunner[]): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const r of runners) for (const [k, v] of [...r.params, ...r.buffers]) out.set(k, v);
  return out;
}

/**
 * Copies named weights into the parameters (in place) and buffers (as copies) of `runners`;
 * names no runner has are ignored.
 *
 * @example
 * ```ts
 * import { loadRunnerWeights } from "./pipeline.ts";
 * // loadRunnerWeights(pipeline.runners, best);
 * ```
 */
export function loadRunnerWeights(runners: readonly SegmentRunner[], weights: ReadonlyMap<string, Tensor>): void {
  for (const r of runners) {
    for (const [k, v] of weights) {
      if (r.params.has(k)) (r.params.get(k)!.data as Float32Array).set(v.data as Float32Array);
      else if (r.buffers.has(k)) r.buffers.set(k, { dtype: v.dtype, dims: [...v.dims], data: v.data.slice() } as Tensor);
    }
  }
}

/** Segments chained in order. */
export class Pipeline {
  private constructor(readonly segments: readonly CompiledSegment[], readonly runners: SegmentRunner[]) {}

  /** Binds every segment to `engine` and loads the sessions. */
  static async create(engine: Engine, segments: readonly CompiledSegment[]): Promise<Pipeline> {
    const runners = await Promise.all(segments.map((s) => SegmentRunner.create(engine, s)));
    for (const r of runners) await r.warm();
    return new Pipeline(segments, runners);
  }

  /** Name of the model output. */
  get outputName(): string {
    return this.segments[this.segments.length - 1].outputs[0].name;
  }

  /**
   * One training step: forward, loss, backward through every segment, then each
   * segment's optimizer. Returns the batch loss.
   */
  async trainStep(inputs: Record<string, Tensor>, target: Tensor, optimizers: Optimizer[]): Promise<number> {
    const r = await runOneBatch(this.runners[0].engine, this.segments, inputs, target, this.runners);
    this.runners.forEach((runner, i) => optimizers[i].step(runner.params, r.paramGrads));
    return r.loss;
  }

  /** Forward through every segment (inference graphs). */
  async infer(inputs: Record<string, Tensor>): Promise<Tensor> {
    let x: Record<string, Tensor> = inputs;
    for (const r of this.runners) x = await r.infer(x);
    return x[this.outputName];
  }

  /** Parameters and buffers of every segment (live references). */
  weights(): Map<string, Tensor> {
    return runnerWeights(this.runners);
  }

  /** Copies `weights` into the segments' parameters and buffers. */
  load(weights: ReadonlyMap<string, Tensor>): void {
    loadRunnerWeights(this.runners, weights);
  }

  /** Releases every session. */
  async release(): Promise<void> {
    for (const r of this.runners) await r.release();
  }
}
