/**
 * Per-channel int8 quantisation of a cut tensor inside the graph, so the runtime's codec moves
 * bytes instead of converting floats: {@linkcode appendInt8Quantize} makes a graph output
 * leave as int8 codes with one float32 scale and one int8 zero point per channel, and
 * {@linkcode prependInt8Dequantize} makes a graph input arrive that way and be dequantised
 * first. The arithmetic is the codec's (runtime/codec/quantize.ts), in ONNX operators:
 *
 * - lo = min(0, min of the channel), hi = max(0, max of the channel) (ReduceMin/ReduceMax over
 *   every axis but the channel axis): 0 is always sent exactly, and the zero point fits int8.
 *   A tensor that is ≥ 0 by construction (a ReLU's output, max-pooled: models/graph/
 *   non_negative.ts) has lo = 0 without a ReduceMin, one full pass fewer;
 * - scale = max(range · (1/255)·(1 + 2⁻²⁰), FLT_MIN): the factor above 1/255 absorbs the
 *   float32 rounding of the product, so scale · 255 ≥ range holds as the codec's `scaleFor`
 *   guarantees by rounding up, and every code lands in [−128, 127] without clamping; FLT_MIN
 *   keeps an all-zero channel from dividing by zero (it is then sent as zeros); a tensor
 *   holding a NaN or ±Infinity anywhere gets NaN scales in every channel ((Σx)·0 added, one
 *   sum over the whole tensor), so it cannot leave looking finite;
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
import { isNonNegative } from "../graph/non_negative.ts";

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
export function appendInt8Quantize(
  g: Graph,
  name: string,
  axis: number,
  opset: number,
  opts: QuantizeOptions = {},
): void {
  const at = g.outputs.findIndex((o) => o.name === name);
  const out = g.outputs[at];
  const rank = checkAxis(out, name, axis, "appendInt8Quantize: output");
  const names = quantizedNames(name);
  const reduceAxes = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis);
  const q = new QuantizerNodes(g, name, opset);
  q.constant("zero", 0);
  q.constant("inv255", INV_255_UP);
  q.constant("fltmin", FLT_MIN);
  q.constant("minus128", -128);
  const nonNegative = opts.nonNegative ?? isNonNegative(g, name);
  const { lo, hi } = q.range(reduceAxes, nonNegative);
  q.op("Sub", [hi, lo], q.t("range"));
  q.op("Mul", [q.t("range"), q.t("inv255")], q.t("scale255"));
  q.op("Max", [q.t("scale255"), q.t("fltmin")], q.t("scale_finite"));
  q.poisonNonFinite(q.t("scale_finite"), names.scale);
  q.op("Div", [lo, names.scale], q.t("lo_codes"));
  q.op("Round", [q.t("lo_codes")], q.t("lo_round"));
  q.op("Sub", [q.t("minus128"), q.t("lo_round")], q.t("zp_float"));
  // lo/scale ∈ [−255, 0], so the zero point is already in [−128, 127]; Cast only changes type.
  q.op("Cast", [q.t("zp_float")], names.zeroPoint, { to: intAttr(3) });
  // QuantizeLinear (ONNX opset 13, per-axis): y = saturate(round(x / scale) + zeroPoint),
  // round half to even.
  q.op("QuantizeLinear", [name, names.scale, names.zeroPoint], names.q, { axis: intAttr(axis) });
  g.outputs.splice(
    at,
    1,
    { name: names.q, dtype: "int8", shape: out.shape ? [...out.shape] : undefined },
    { name: names.scale, dtype: "float32", shape: [out.shape![axis]] },
    { name: names.zeroPoint, dtype: "int8", shape: [out.shape![axis]] },
  );
}

/** Options of {@linkcode appendInt8Quantize}. */
export interface QuantizeOptions {
  /**
   * Whether the tensor is ≥ 0 by construction, so its range starts at 0 and no per-channel
   * minimum is computed. Default: what {@linkcode isNonNegative} finds in the graph.
   */
  nonNegative?: boolean;
}

/** Adds the quantiser's nodes for one tensor, naming its temporaries after it. */
class QuantizerNodes {
  readonly #g: Graph;
  readonly #name: string;
  readonly #opset: number;

  constructor(g: Graph, name: string, opset: number) {
    this.#g = g;
    this.#name = name;
    this.#opset = opset;
  }

  /** The name of temporary `what`. */
  t(what: string): string {
    return tmp(this.#name, what);
  }

  /** A float32 scalar initializer named `t(what)`. */
  constant(what: string, value: number): void {
    this.#g.initializers.set(this.t(what), tensor("float32", [], new Float32Array([value])));
  }

  /** A node of `opType` writing `output`; returns `output`. */
  op(opType: string, inputs: string[], output: string, attrs: Node["attrs"] = {}): string {
    addNode(this.#g, { opType, inputs, outputs: [output], attrs });
    return output;
  }

  /**
   * A reduction of the tensor over `axes` (all axes when `axes` is undefined) to `t(out)`.
   * Opset 18 moved ReduceMin/ReduceMax's `axes` from an attribute to an input; ReduceSum moved
   * at opset 13.
   */
  reduce(opType: string, axes: number[] | undefined, out: string): string {
    const asInput = this.#opset >= (opType === "ReduceSum" ? 13 : 18);
    const inputs = [this.#name];
    const attrs: Node["attrs"] = { keepdims: intAttr(0) };
    if (axes && asInput) {
      this.#g.initializers.set(
        this.t(`${out}_axes`),
        tensor("int64", [axes.length], BigInt64Array.from(axes, BigInt)),
      );
      inputs.push(this.t(`${out}_axes`));
    } else if (axes) attrs.axes = intsAttr(axes);
    return this.op(opType, inputs, this.t(out), attrs);
  }

  /**
   * lo = min(0, min of the channel), hi = max(0, max of the channel); lo is the constant 0
   * when the tensor is non-negative by construction (its minimum would only be clamped to 0).
   */
  range(axes: number[], nonNegative: boolean): { lo: string; hi: string } {
    const hi = this.op(
      "Max",
      [this.reduce("ReduceMax", axes, "max"), this.t("zero")],
      this.t("hi"),
    );
    if (nonNegative) return { lo: this.t("zero"), hi };
    const lo = this.op(
      "Min",
      [this.reduce("ReduceMin", axes, "min"), this.t("zero")],
      this.t("lo"),
    );
    return { lo, hi };
  }

  /**
   * `scale` = `finite` + (Σx)·0. ReduceMin/ReduceMax skip a NaN unless it comes first
   * (onnxruntime 1.30, native and wasm), so a NaN would leave as an ordinary code. The sum over
   * the whole tensor is NaN when any value is NaN or ±Infinity (or when a finite tensor's
   * float32 sum overflows, which needs values near 3.4e38 / its element count: such a tensor
   * is refused too); (Σx)·0 is then NaN and every channel's scale with it, which a receiver
   * refuses as it refuses a non-finite float tensor; otherwise it is 0 and s + 0 = s exactly.
   * One sum over the whole tensor is a contiguous pass, cheaper than one per channel.
   */
  poisonNonFinite(finite: string, scale: string): void {
    const sum = this.reduce("ReduceSum", undefined, "sum");
    const poison = this.op("Mul", [sum, this.t("zero")], this.t("poison"));
    this.op("Add", [finite, poison], scale);
  }
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
