/**
 * Counts the floating-point operations of a graph from its nodes and the shapes that
 * {@linkcode inferShapes} derives, with the symbolic batch axis (`"N"`) replaced by a
 * batch size. It is how splitgate reports the compute a clinic or the server spends on
 * its segment graphs (forward, backward, fused step), without timing anything.
 *
 * Convention (one FLOP = one floating-point add or multiply; a multiply–add counts 2):
 *
 * | op | FLOPs |
 * | --- | --- |
 * | `Conv` | 2 · N · C_out · (C_in / group) · ∏kernel · ∏out_spatial, + N·C_out·∏out_spatial with a bias |
 * | `ConvTranspose` | 2 · N · C_in · (C_out / group) · ∏kernel · ∏in_spatial (every input element is scattered to a C_out/group × kernel block), + output elements with a bias |
 * | `Gemm` | 2 · M · N · K, + M · N with a C input |
 * | `MatMul` | 2 · (output elements) · K |
 * | `MaxPool`, `AveragePool` | ∏kernel per output element |
 * | reductions (`Reduce*`, `GlobalAveragePool`, `GlobalMaxPool`) | 1 per *input* element |
 * | `ScatterND` / `ScatterElements` with a `reduction` | 1 per update element (else 0) |
 * | data movement and shape ops (`Reshape`, `Transpose`, `Gather`, `Concat`, `Slice`, `Pad`, `Cast`, `Shape`, …) | 0 |
 * | every other op (elementwise arithmetic, activations, `Softmax`, `Where`, comparisons, …) | 1 per output element |
 *
 * The matrix products follow the usual convention of the ONNX-based counters and of
 * PyTorch's `torch.utils.flop_counter` (2 FLOPs per multiply–accumulate). Elementwise
 * ops with several FLOPs per element (Softmax, Sigmoid) are counted as 1: their share is
 * small next to the convolutions and matrix products that dominate.
 *
 * @example
 * ```ts
 * import { countFlops } from "./flops.ts";
 * import { addNode, emptyGraph } from "./ir.ts";
 * const g = emptyGraph("relu");
 * g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 8] });
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["y"] });
 * countFlops(g, { batch: 4 }).total; // 32
 * ```
 * @module
 */
import { type Dim, getInt, getInts, getString, type Graph, type Node } from "./ir.ts";
import { type Facts, inferShapes } from "./infer_shapes.ts";

/** Options of {@linkcode countFlops}. */
export interface FlopOptions {
  /** Value of the symbolic batch axis `"N"`. */
  batch: number;
  /** Values of other symbolic dimensions, by name. */
  dims?: Readonly<Record<string, number>>;
  /** Opset for shape inference (default 17). */
  opset?: number;
  /** Shapes already known (e.g. from the compiler); inferred from the graph when omitted. */
  facts?: Facts;
}

/** The count of one graph. */
export interface FlopCount {
  /** All FLOPs of one run of the graph. */
  total: number;
  /** FLOPs by op type. */
  byOp: Record<string, number>;
  /** Nodes whose count needs a shape that is unknown (counted as 0), by name. */
  unknown: string[];
}

/** Ops that only move or reinterpret data: 0 FLOPs. */
const MOVEMENT = new Set([
  "Identity",
  "Reshape",
  "Flatten",
  "Squeeze",
  "Unsqueeze",
  "Transpose",
  "DepthToSpace",
  "SpaceToDepth",
  "Concat",
  "Split",
  "Slice",
  "Gather",
  "GatherElements",
  "GatherND",
  "Expand",
  "Tile",
  "Pad",
  "Cast",
  "CastLike",
  "Shape",
  "Size",
  "Constant",
  "ConstantOfShape",
  "Range",
  "OneHot",
  "Dropout", // lowered for training; in inference graphs it is the identity
]);

const REDUCTIONS = new Set([
  "ReduceMean",
  "ReduceSum",
  "ReduceMax",
  "ReduceMin",
  "ReduceProd",
  "ReduceL2",
  "ReduceSumSquare",
  "ReduceLogSumExp",
  "GlobalAveragePool",
  "GlobalMaxPool",
]);

/**
 * Counts the FLOPs of one run of `graph` at batch size `opts.batch`.
 *
 * @throws {RangeError} when the batch size is not a positive integer
 * @example
 * ```ts
 * import { countFlops } from "./flops.ts";
 * import { readModel } from "../onnx/read_model.ts";
 * const model = readModel(await Deno.readFile("tests/fixtures/models/pneumonia_cnn.onnx"));
 * const flops = countFlops(model.graph, { batch: 64, opset: 17 });
 * console.log(flops.total > 0, flops.unknown); // true []
 * ```
 */
export function countFlops(graph: Graph, opts: FlopOptions): FlopCount {
  if (!(Number.isSafeInteger(opts.batch) && opts.batch >= 1)) {
    throw new RangeError(`batch must be an integer >= 1, got ${opts.batch}`);
  }
  const facts = opts.facts ?? inferShapes(graph, opts.opset ?? 17);
  const dimValues: Record<string, number> = { ...opts.dims, N: opts.batch };
  // Symbolic dims are names ("N") or products of names and sizes ("N*196", as shape
  // inference writes for a Reshape that folds the batch axis).
  const resolve = (d: Dim): number | undefined => {
    if (typeof d === "number") return d;
    let v = 1;
    for (const f of d.split("*")) {
      const x = /^\d+$/.test(f) ? Number(f) : dimValues[f];
      if (x === undefined) return undefined;
      v *= x;
    }
    return v;
  };
  const shape = (name: string | undefined): number[] | undefined => {
    if (!name) return undefined;
    const s = facts.get(name)?.shape;
    if (!s) return undefined;
    const out: number[] = [];
    for (const d of s) {
      const v = resolve(d);
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  };
  const byOp: Record<string, number> = {};
  const unknown: string[] = [];
  let total = 0;
  for (const node of graph.nodes) {
    const f = nodeFlops(node, shape);
    if (f === undefined) {
      unknown.push(node.name || node.outputs[0]);
      continue;
    }
    byOp[node.opType] = (byOp[node.opType] ?? 0) + f;
    total += f;
  }
  return { total, byOp, unknown };
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** FLOPs of one node; undefined when a needed shape is unknown. */
function nodeFlops(
  node: Node,
  shape: (name: string | undefined) => number[] | undefined,
): number | undefined {
  const op = node.opType;
  if (node.domain !== "" && node.domain !== "ai.onnx") return elements(shape(node.outputs[0]));
  if (MOVEMENT.has(op)) return 0;
  switch (op) {
    case "Conv": {
      // ONNX Conv: W is [C_out, C_in/group, k...], Y is [N, C_out, out...].
      const w = shape(node.inputs[1]), y = shape(node.outputs[0]);
      if (!w || !y) return undefined;
      const macs = y[0] * prod(y.slice(1)) * prod(w.slice(1));
      return 2 * macs + (node.inputs[2] ? prod(y) : 0);
    }
    case "ConvTranspose": {
      // ONNX ConvTranspose: W is [C_in, C_out/group, k...]; each input element meets a
      // C_out/group × kernel block of W.
      const x = shape(node.inputs[0]), w = shape(node.inputs[1]), y = shape(node.outputs[0]);
      if (!x || !w || !y) return undefined;
      return 2 * prod(x) * prod(w.slice(1)) + (node.inputs[2] ? prod(y) : 0);
    }
    case "Gemm": {
      const a = shape(node.inputs[0]), y = shape(node.outputs[0]);
      if (!a || !y) return undefined;
      const k = getInt(node, "transA", 0) ? a[0] : a[1];
      return 2 * prod(y) * k + (node.inputs[2] ? prod(y) : 0);
    }
    case "MatMul": {
      const a = shape(node.inputs[0]), y = shape(node.outputs[0]);
      if (!a || !y) return undefined;
      return 2 * prod(y) * a[a.length - 1];
    }
    case "MaxPool":
    case "AveragePool": {
      const y = shape(node.outputs[0]);
      if (!y) return undefined;
      return prod(y) * prod(getInts(node, "kernel_shape"));
    }
    case "ScatterND":
    case "ScatterElements": {
      if (getString(node, "reduction", "none") === "none") return 0;
      return elements(shape(node.inputs[2]));
    }
  }
  if (REDUCTIONS.has(op)) return elements(shape(node.inputs[0]));
  return elements(shape(node.outputs[0]));
}

function elements(s: number[] | undefined): number | undefined {
  return s && prod(s);
}
