/**
 * One batch through every segment of a cut model — forward segment by segment, loss,
 * backward in reverse — without any network in between: the reference path that the
 * split runtime must agree with, used by `deno task grad` and the tests.
 *
 * @example
 * ```ts
 * import { runOneBatch } from "./one_batch.ts";
 * // const r = await runOneBatch(engine, compileModel(model, { loss: "bce", cuts }), feeds, target);
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { CompiledSegment } from "../../models/train/compile.ts";
import type { Engine } from "../engine/mod.ts";
import { SegmentRunner } from "./segment_runner.ts";

/** Everything one batch produces. */
export interface OneBatchResult {
  loss: number;
  logits: Tensor;
  /** Gradient per parameter of every segment. */
  paramGrads: Map<string, Tensor>;
  /** Per cut: the activation crossing it and the gradient coming back. */
  cuts: { name: string; activation: Tensor; grad: Tensor }[];
}

/**
 * Runs forward, loss and backward over `segments` for one batch.
 *
 * @example
 * ```ts
 * import { runOneBatch } from "./one_batch.ts";
 * // (await runOneBatch(engine, segments, { image }, target)).loss
 * ```
 */
export async function runOneBatch(
  engine: Engine,
  segments: readonly CompiledSegment[],
  feeds: Record<string, Tensor>,
  target: Tensor,
  runners?: SegmentRunner[],
): Promise<OneBatchResult> {
  const rs = runners ?? await Promise.all(segments.map((s) => SegmentRunner.create(engine, s)));
  const saved: Record<string, Tensor>[] = [];
  let inputs: Record<string, Tensor> = {};
  for (const v of segments[0].inputs) inputs[v.name] = feeds[v.name];
  const acts: Record<string, Tensor>[] = [];
  for (let i = 0; i < rs.length - 1; i++) {
    const f = await rs[i].forward(inputs);
    saved.push(f.saved);
    acts.push(f.outputs);
    inputs = f.outputs;
  }
  const last = rs[rs.length - 1];
  const step = await last.step(inputs, target);
  const paramGrads = new Map(step.paramGrads);
  let incoming = step.inputGrads;
  const cuts: OneBatchResult["cuts"] = [];
  for (let i = rs.length - 2; i >= 0; i--) {
    const name = segments[i].outputs[0].name;
    cuts.unshift({ name, activation: acts[i][name], grad: incoming[name] });
    const b = await rs[i].backward(saved[i], incoming);
    for (const [k, v] of b.paramGrads) paramGrads.set(k, v);
    incoming = b.inputGrads;
  }
  return { loss: step.loss, logits: Object.values(step.outputs)[0], paramGrads, cuts };
}
