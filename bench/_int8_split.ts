/**
 * The int8 benches' common subject: pneumonia_cnn split at its pooled 64×32×7×7 cut, on a batch
 * of 64 PneumoniaMNIST training images, compiled as float segments and as the segments of
 * `models/train/quantize_segments.ts`; and the feeds of one real step through each.
 *
 * @example
 * ```ts
 * import { graphFeeds, loadInt8Split } from "./_int8_split.ts";
 * const split = await loadInt8Split();
 * const feeds = await graphFeeds(split.quantised, split.batch);
 * console.log(Object.keys(feeds.step));
 * ```
 * @module
 */
import type { Tensor } from "../models/tensor.ts";
import { readModel } from "../models/onnx/read_model.ts";
import { type CompiledSegment, compileModel, gradName } from "../models/train/compile.ts";
import { quantizeCutTraffic } from "../models/train/quantize_segments.ts";
import { loadDataset } from "../runtime/data/load_dataset.ts";
import { createEngine } from "../runtime/engine/mod.ts";
import { SegmentRunner } from "../runtime/train/segment_runner.ts";

/** The split the int8 benches measure. */
export interface Int8Split {
  /** The cut tensor's name. */
  cut: string;
  /** 64 training images and their labels. */
  batch: { inputs: Record<string, Tensor>; target: Tensor };
  /** The float segments (front, server). */
  float: CompiledSegment[];
  /** The same segments with the cut quantised in the graphs. */
  quantised: CompiledSegment[];
}

/** The three training graphs of a two-segment split. */
export type GraphName = "forward" | "step" | "backward";

/** Loads the fixture model and data and compiles both versions of the split. */
export async function loadInt8Split(): Promise<Int8Split> {
  const root = new URL("../", import.meta.url);
  const model = readModel(
    await Deno.readFile(new URL("tests/fixtures/models/pneumonia_cnn.onnx", root)),
    "pneumonia_cnn.onnx",
  );
  const cut = "/features/features.5/MaxPool_output_0";
  const data = await loadDataset(new URL("data/pneumoniamnist.npz", root).pathname);
  const batch = data.train.take(Array.from({ length: 64 }, (_, i) => i));
  const float = compileModel(model, { loss: "bce", cuts: [cut] });
  return { cut, batch, float, quantised: quantizeCutTraffic(float) };
}

/** Every feed of the three graphs of `segs`, from one real step through the native engine. */
export async function graphFeeds(
  segs: CompiledSegment[],
  batch: Int8Split["batch"],
): Promise<Record<GraphName, Record<string, Tensor>>> {
  const engine = await createEngine("native");
  const [front, server] = await Promise.all(segs.map((s) => SegmentRunner.create(engine, s)));
  const f = await front.forward(batch.inputs);
  const st = await server.step(f.outputs, batch.target);
  const params = (r: SegmentRunner) => Object.fromEntries([...r.params, ...r.buffers]);
  const grads: Record<string, Tensor> = {};
  for (const [n, g] of Object.entries(st.inputGrads)) grads[gradName(n)] = g;
  const feeds = {
    forward: { ...params(front), ...batch.inputs },
    step: { ...params(server), ...f.outputs, [segs[1].targetName!]: batch.target },
    backward: { ...params(front), ...f.saved, ...grads },
  };
  await front.release();
  await server.release();
  await engine.dispose();
  return feeds;
}
