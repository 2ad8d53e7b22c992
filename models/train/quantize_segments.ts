/**
 * Compiled segments whose cut traffic is int8 inside the graphs (docs/design/transport.md: quantise in the
 * graph): the sender of a cut ends its forward (and inference) graph in the cut's per-channel
 * int8 quantisation and starts its backward graph by dequantising the gradient it receives;
 * the receiver starts its graphs by dequantising the cut and ends its backward (or step) graph
 * in the cut gradient's quantisation. What crosses the cut is then three tensors per cut
 * tensor — `cut.q` (int8), `cut.scale`, `cut.zero_point` — and their gradients'
 * `grad.cut.q`, `grad.cut.scale`, `grad.cut.zero_point`, which are exactly the names
 * {@linkcode "./compile.ts".gradName} gives the gradients of those three, so a runner that
 * pairs an output with `grad.<output>` (runtime/train/segment_runner.ts) needs no change.
 *
 * The reverse passes were generated before this rewrite, so the gradient is that of the
 * dequantised cut (straight-through, as with the codec's int8, which also dequantises before
 * the server's graph): the numbers differ from the float path only by the quantisation error,
 * within scale/2 per channel (quantize_cut.ts).
 *
 * @example
 * ```ts
 * import { readModel } from "../onnx/read_model.ts";
 * import { compileModel } from "./compile.ts";
 * import { quantizeCutTraffic } from "./quantize_segments.ts";
 * const model = readModel(Deno.readFileSync("tests/fixtures/models/pneumonia_cnn.onnx"), "cnn");
 * const segs = quantizeCutTraffic(
 *   compileModel(model, { loss: "bce", cuts: ["/features/features.5/MaxPool_output_0"] }),
 * );
 * console.log(segs[1].inputs.map((i) => i.dtype)); // ["int8", "float32", "int8"]
 * ```
 * @module
 */

import { cloneGraph, type Model, type ValueInfo } from "../graph/ir.ts";
import { type CompiledSegment, gradName } from "./compile.ts";
import { appendInt8Quantize, prependInt8Dequantize, quantizedNames } from "./quantize_cut.ts";

function opsetOf(m: Model): number {
  return m.opsets.get("") ?? 17;
}

/** A copy of `m` whose graph `edit` rewrote (the original is shared by the float segments). */
function edited(m: Model | undefined, edit: (m: Model) => void): Model | undefined {
  if (!m) return undefined;
  const copy: Model = { ...m, opsets: new Map(m.opsets), graph: cloneGraph(m.graph) };
  edit(copy);
  return copy;
}

/** The three value infos that carry `v` quantised along `axis`. */
function carriers(v: ValueInfo, axis: number): ValueInfo[] {
  const n = quantizedNames(v.name);
  const c = v.shape?.[axis] ?? "C";
  return [
    { name: n.q, dtype: "int8", shape: v.shape ? [...v.shape] : undefined },
    { name: n.scale, dtype: "float32", shape: [c] },
    { name: n.zeroPoint, dtype: "int8", shape: [c] },
  ];
}

/** The sender of `cut`: quantise it on the way out, dequantise its gradient on the way in. */
function sender(s: CompiledSegment, cut: ValueInfo, axis: number): CompiledSegment {
  const out = (m: Model) => {
    const keep = s.saved.includes(cut.name); // the backward still needs the float cut
    appendInt8Quantize(m.graph, cut.name, axis, opsetOf(m));
    if (keep) m.graph.outputs.push({ ...cut, shape: cut.shape && [...cut.shape] });
  };
  return {
    ...s,
    outputs: s.outputs.flatMap((o) => (o.name === cut.name ? carriers(o, axis) : [o])),
    forward: edited(s.forward, out),
    infer: edited(s.infer, out)!,
    backward: edited(s.backward, (m) => prependInt8Dequantize(m.graph, gradName(cut.name), axis)),
  };
}

/** The receiver of `cut`: dequantise it on the way in, quantise its gradient on the way out. */
function receiver(s: CompiledSegment, cut: ValueInfo, axis: number): CompiledSegment {
  const inward = (m: Model) => {
    if (m.graph.inputs.some((i) => i.name === cut.name)) {
      prependInt8Dequantize(m.graph, cut.name, axis);
    }
  };
  const grad = gradName(cut.name);
  const both = (m: Model) => {
    inward(m);
    if (m.graph.outputs.some((o) => o.name === grad)) {
      appendInt8Quantize(m.graph, grad, axis, opsetOf(m));
    }
  };
  return {
    ...s,
    inputs: s.inputs.flatMap((i) => (i.name === cut.name ? carriers(i, axis) : [i])),
    inputGradNames: s.inputGradNames.flatMap((g) =>
      g === grad ? Object.values(quantizedNames(grad)) : [g]
    ),
    // A backward that needs the float cut (e.g. a Conv's weight gradient) takes it from the
    // forward, which now dequantises it: the forward hands it out as an output.
    forward: edited(s.forward, (m) => {
      const keep = s.saved.includes(cut.name) && m.graph.inputs.some((i) => i.name === cut.name);
      inward(m);
      if (keep) m.graph.outputs.push({ ...cut, shape: cut.shape && [...cut.shape] });
    }),
    step: edited(s.step, both),
    infer: edited(s.infer, inward)!,
    backward: edited(s.backward, (m) => {
      if (m.graph.outputs.some((o) => o.name === grad)) {
        appendInt8Quantize(m.graph, grad, axis, opsetOf(m));
      }
    }),
  };
}

/**
 * Rewrites every cut between consecutive segments so that it, and its gradient, cross as
 * per-channel int8 made and read inside the graphs. Segments are copied; `segments` is
 * unchanged.
 *
 * @param axis the channel axis of every cut tensor (default 1, NCHW channels, as the codec's
 *   `channelAxis`)
 * @throws {TypeError} when a cut tensor is not float32 or a segment does not take the cut
 *   its predecessor sends
 * @throws {RangeError} when `axis` does not fit a cut tensor's rank
 *
 * @example
 * ```ts
 * import type { CompiledSegment } from "./compile.ts";
 * import { quantizeCutTraffic } from "./quantize_segments.ts";
 * function int8Cut(segments: CompiledSegment[]): CompiledSegment[] {
 *   return quantizeCutTraffic(segments, 1);
 * }
 * ```
 */
export function quantizeCutTraffic(
  segments: readonly CompiledSegment[],
  axis = 1,
): CompiledSegment[] {
  const out = [...segments];
  for (let i = 0; i + 1 < out.length; i++) {
    for (const cut of segments[i].outputs) {
      if (!segments[i + 1].inputs.some((v) => v.name === cut.name)) {
        throw new TypeError(
          `segment ${i + 1} does not take the cut ${
            JSON.stringify(cut.name)
          } that segment ${i} sends`,
        );
      }
      out[i] = sender(out[i], cut, axis);
      out[i + 1] = receiver(out[i + 1], cut, axis);
    }
  }
  return out;
}
