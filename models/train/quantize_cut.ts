/**
 * Per-channel int8 quantisation of a cut tensor inside the graph, so the runtime's codec moves
 * bytes instead of converting floats: {@linkcode appendInt8Quantize} makes a graph output
 * leave as int8 codes with one float32 scale and one int8 zero point per channel, and
 * {@linkcode prependInt8Dequantize} makes a graph input arrive that way and be dequantised
 * first. The arithmetic is the codec's (runtime/codec/quantize.ts), in ONNX operators:
 *
 * - lo = min(0, min of the channel), hi = max(0, max of the channel) (ReduceMin/ReduceMax over
 *   every axis but the channel axis): 0 is always sent exactly, and the zero point fits int8;
 * - scale = max(range · (1/255)·(1 + 2⁻²⁰), FLT_MIN): the factor above 1/255 absorbs the
 *   float32 rounding of the product, so scale · 255 ≥ range holds as the codec's `scaleFor`
 *   guarantees by rounding up, and every code lands in [−128, 127] without clamping; FLT_MIN
 *   keeps an all-zero channel from dividing by zero (it is then sent as zeros); a channel
 *   holding a NaN or ±Infinity gets a NaN scale ((Σx)·0 added), so it cannot leave looking
 *   finite;
 * - zeroPoint = −128 − round(lo / scale), in [−128, 127];
 * - `QuantizeLinear` (ONNX opset 13, per-axis: y = saturate(round(x / scale) + zeroPoint),
 *   round half to even), and on the way in `DequantizeLinear` (opset 13, per-axis:
 *   (q − zeroPoint) · scale). Both need a graph of opset 13 or later.
 *
 * The reconstruction error is therefore within scale/2 per channel, as with the codec.
 *
 * @example
 * ```ts
 * import { addNode, emptyGraph } from "../graph/ir.ts";
 * import { appendInt8Quantize, quantizedNames } from "./quantize_cut.ts";
 * const g = emptyGraph("front");
 * g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 4, 2, 2] });
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["cut"] });
 * g.outputs.push({ name: "cut", dtype: "float32", shape: ["N", 4, 2, 2] });
 * appendInt8Quantize(g, "cut", 1, 17);
 * console.log(g.outputs.map((o) => o.name)); // ["cut.q", "cut.scale", "cut.zero_point"]
 * console.log(quantizedNames("cut").q); // "cut.q"
 * ```
 * @module
 */

import { addNode, type Graph, intAttr, intsAttr, type Node, type ValueInfo } from "../graph/ir.ts";
import { tensor } from "../tensor.ts";

/** The three tensors that carry one quantised cut tensor `name`. */
export interface QuantizedNames {
  /** int8 codes, same shape as the float tensor. */
  readonly q: string;
  /** float32 [channels]: one scale per channel. */
  readonly scale: string;
  /** int8 [channels]: one zero point per channel. */
  readonly zeroPoint: string;
}

/**
 * The names {@linkcode appendInt8Quantize} and {@linkcode prependInt8Dequantize} give the
 * tensors carrying `name`.
 *
 * @example
 * ```ts
 * import { quantizedNames } from "./quantize_cut.ts";
 * quantizedNames("act"); // { q: "act.q", scale: "act.scale", zeroPoint: "act.zero_point" }
 * ```
 */
export function quantizedNames(name: string): QuantizedNames {
  return { q: `${name}.q`, scale: `${name}.scale`, zeroPoint: `${name}.zero_point` };
}

/** (1/255)·(1 + 2⁻²⁰) as float32: just above 1/255, see the module comment. */
const INV_255_UP = Math.fround((1 / 255) * (1 + 2 ** -20));
/** The smallest normal float32: a scale that flush-to-zero cannot turn into 0. */
const FLT_MIN = 1.1754943508222875e-38;

function checkAxis(v: ValueInfo | undefined, name: string, axis: number, where: string): number {
  if (!v) {
    throw new TypeError(
      `${where}: ${JSON.stringify(name)} is not one of the graph's ${
        where.includes("output") ? "outputs" : "inputs"
      }`,
    );
  }
  if (v.dtype !== "float32") {
    throw new TypeError(`${where}: ${JSON.stringify(name)} is ${v.dtype}, expected float32`);
  }
  const rank = v.shape?.length;
  if (rank === undefined || !Number.isInteger(axis) || axis < 0 || axis >= rank || rank < 2) {
    throw new RangeError(
      `${where}: channel axis ${axis} does not fit ${JSON.stringify(name)} of rank ${
        rank ?? "unknown"
      }: expected an integer in [0, rank) and rank >= 2`,
    );
  }
  return rank;
}

/** A fresh name for an intermediate tensor of this rewrite. */
function tmp(name: string, what: string): string {
  return `${name}.quant/${what}`;
}

/**
 * Replaces graph output `name` (float32, rank ≥ 2) by its per-channel int8 quantisation along
 * `axis`: the outputs `name.q` (int8, same shape), `name.scale` (float32 [C]) and
 * `name.zero_point` (int8 [C]), in that order where `name` stood.
 *
 * @param opset the graph's `ai.onnx` opset (ReduceMin/ReduceMax take `axes` as an input from 18)
 * @throws {TypeError} when `name` is not a float32 graph output
 * @throws {RangeError} when `axis` does not fit its rank
 *
 * @example
 * ```ts
 * import { emptyGraph } from "../graph/ir.ts";
 * import { appendInt8Quantize } from "./quantize_cut.ts";
 * const g = emptyGraph("g");
 * g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3] });
 * g.outputs.push({ name: "x", dtype: "float32", shape: ["N", 3] });
 * appendInt8Quantize(g, "x", 1, 17); // g now outputs x.q, x.scale, x.zero_point
 * ```
 */
export function appendInt8Quantize(g: Graph, name: string, axis: number, opset: number): void {
  const at = g.outputs.findIndex((o) => o.name === name);
  const out = g.outputs[at];
  const rank = checkAxis(out, name, axis, "appendInt8Quantize: output");
  const names = quantizedNames(name);
  const reduceAxes = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis);
  const t = (w: string) => tmp(name, w);
  g.initializers.set(t("zero"), tensor("float32", [], new Float32Array([0])));
  g.initializers.set(t("inv255"), tensor("float32", [], new Float32Array([INV_255_UP])));
  g.initializers.set(t("fltmin"), tensor("float32", [], new Float32Array([FLT_MIN])));
  g.initializers.set(t("minus128"), tensor("float32", [], new Float32Array([-128])));
  const reduce = (op: string, out: string) => {
    if (opset >= 18) {
      g.initializers.set(
        t("axes"),
        tensor("int64", [reduceAxes.length], BigInt64Array.from(reduceAxes, BigInt)),
      );
      addNode(g, {
        opType: op,
        inputs: [name, t("axes")],
        outputs: [out],
        attrs: { keepdims: intAttr(0) },
      });
    } else {
      addNode(g, {
        opType: op,
        inputs: [name],
        outputs: [out],
        attrs: { axes: intsAttr(reduceAxes), keepdims: intAttr(0) },
      });
    }
  };
  reduce("ReduceMin", t("min"));
  reduce("ReduceMax", t("max"));
  addNode(g, { opType: "Min", inputs: [t("min"), t("zero")], outputs: [t("lo")] });
  addNode(g, { opType: "Max", inputs: [t("max"), t("zero")], outputs: [t("hi")] });
  addNode(g, { opType: "Sub", inputs: [t("hi"), t("lo")], outputs: [t("range")] });
  addNode(g, { opType: "Mul", inputs: [t("range"), t("inv255")], outputs: [t("scale255")] });
  addNode(g, { opType: "Max", inputs: [t("scale255"), t("fltmin")], outputs: [t("scale_finite")] });
  // ReduceMin/ReduceMax skip a NaN unless it comes first (onnxruntime 1.30, native and wasm),
  // so a NaN would leave as an ordinary code. (Σx)·0 over the channel is 0 when the sum is
  // finite and NaN when any value is NaN or ±Infinity (or when a finite channel's float32 sum
  // overflows, which needs values near 3.4e38 / its element count: such a channel is refused
  // too); added to the scale it changes no finite scale (s ± 0 = s exactly) and makes the
  // scale of a non-finite channel NaN, which a receiver's check refuses as it refuses a
  // non-finite float tensor. It sums x itself: Σ(x·0), exact for every finite channel, took a
  // full-size Mul and its temporary, 7–17 µs of a 64×32×7×7 cut (ORT profile, shared machine).
  if (opset >= 13) {
    g.initializers.set(
      t("sum_axes"),
      tensor("int64", [reduceAxes.length], BigInt64Array.from(reduceAxes, BigInt)),
    );
    addNode(g, {
      opType: "ReduceSum",
      inputs: [name, t("sum_axes")],
      outputs: [t("sum")],
      attrs: { keepdims: intAttr(0) },
    });
  } else {
    addNode(g, {
      opType: "ReduceSum",
      inputs: [name],
      outputs: [t("sum")],
      attrs: { axes: intsAttr(reduceAxes), keepdims: intAttr(0) },
    });
  }
  addNode(g, { opType: "Mul", inputs: [t("sum"), t("zero")], outputs: [t("poison")] });
  addNode(g, { opType: "Add", inputs: [t("scale_finite"), t("poison")], outputs: [names.scale] });
  addNode(g, { opType: "Div", inputs: [t("lo"), names.scale], outputs: [t("lo_codes")] });
  addNode(g, { opType: "Round", inputs: [t("lo_codes")], outputs: [t("lo_round")] });
  addNode(g, { opType: "Sub", inputs: [t("minus128"), t("lo_round")], outputs: [t("zp_float")] });
  // lo/scale ∈ [−255, 0], so the zero point is already in [−128, 127]; Cast only changes type.
  addNode(g, {
    opType: "Cast",
    inputs: [t("zp_float")],
    outputs: [names.zeroPoint],
    attrs: { to: intAttr(3) },
  });
  addNode(g, {
    opType: "QuantizeLinear",
    inputs: [name, names.scale, names.zeroPoint],
    outputs: [names.q],
    attrs: { axis: intAttr(axis) },
  });
  g.outputs.splice(
    at,
    1,
    { name: names.q, dtype: "int8", shape: out.shape ? [...out.shape] : undefined },
    { name: names.scale, dtype: "float32", shape: [out.shape![axis]] },
    { name: names.zeroPoint, dtype: "int8", shape: [out.shape![axis]] },
  );
}

/**
 * Replaces graph input `name` (float32, rank ≥ 2) by the three inputs `name.q`,
 * `name.scale` and `name.zero_point` of its per-channel int8 quantisation along `axis`, and
 * dequantises them first ((q − zeroPoint) · scale, broadcast along `axis`), so the rest of the
 * graph is unchanged.
 *
 * @throws {TypeError} when `name` is not a float32 graph input
 * @throws {RangeError} when `axis` does not fit its rank
 *
 * @example
 * ```ts
 * import { emptyGraph } from "../graph/ir.ts";
 * import { prependInt8Dequantize } from "./quantize_cut.ts";
 * const g = emptyGraph("g");
 * g.inputs.push({ name: "cut", dtype: "float32", shape: ["N", 3] });
 * prependInt8Dequantize(g, "cut", 1); // g now takes cut.q, cut.scale, cut.zero_point
 * ```
 */
export function prependInt8Dequantize(g: Graph, name: string, axis: number): void {
  const at = g.inputs.findIndex((i) => i.name === name);
  const input = g.inputs[at];
  checkAxis(input, name, axis, "prependInt8Dequantize: input");
  const names = quantizedNames(name);
  g.inputs.splice(
    at,
    1,
    { name: names.q, dtype: "int8", shape: input.shape ? [...input.shape] : undefined },
    { name: names.scale, dtype: "float32", shape: [input.shape![axis]] },
    { name: names.zeroPoint, dtype: "int8", shape: [input.shape![axis]] },
  );
  // ONNX opset 13 DequantizeLinear, per-axis: y = (x − x_zero_point) · x_scale, one pass over
  // the codes. q − zeroPoint is an integer float32 holds exactly, so the product is rounded
  // once, as the codec's dequantizeInt8 rounds it: the floats are bit for bit the codec's
  // (tests/models/train/quantize_cut_test.ts). It replaced a Cast, Sub, Mul chain (three
  // passes, two float32 temporaries): on the pneumonia_cnn split step (64×32×7×7 cut,
  // onnxruntime-node 1.30) the chain's forward + step + backward ran 0.05–0.21 ms slower, A/B
  // of the graphs in one process, 2026-12-06, shared machine (bench:int8-nodes shows the
  // nodes' own times).
  // onnxruntime gives every consumer of a DequantizeLinear its own copy of the node (its QDQ
  // rule "EnsureUniqueDQForNodeUnit", on native and wasm): a cut read by two nodes (a Conv and
  // its weight gradient, or the Shape that reshapes its gradient) was dequantised twice, a
  // second full pass of about 20–45 µs for a 64×32×7×7 cut (bench:int8-nodes, shared machine).
  // Shape and Size read only the shape, which the codes have too, so they read the codes; when
  // more than one reader is left, a Reshape to the codes' shape stands between (it aliases its
  // input, about 3 µs) and is the dequantisation's one consumer.
  for (const n of g.nodes) {
    if ((n.opType === "Shape" || n.opType === "Size") && n.inputs[0] === name) {
      n.inputs[0] = names.q;
    }
  }
  const readers = g.nodes.filter((n) => n.inputs.includes(name)).length +
    g.outputs.filter((o) => o.name === name).length;
  const dequantized = readers > 1 ? tmp(name, "dequantized") : name;
  const nodes = [
    node(tmp(name, "dequantize"), "DequantizeLinear", [names.q, names.scale, names.zeroPoint], [
      dequantized,
    ], { axis: intAttr(axis) }),
  ];
  if (readers > 1) {
    nodes.push(
      node(tmp(name, "shape"), "Shape", [names.q], [tmp(name, "shape")]),
      node(tmp(name, "one_reader"), "Reshape", [dequantized, tmp(name, "shape")], [name]),
    );
  }
  g.nodes.unshift(...nodes);
}

/** A node of the default (`ai.onnx`) domain. */
function node(
  name: string,
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Node["attrs"] = {},
): Node {
  return { name, domain: "", opType, inputs, outputs, attrs };
}
