/**
 * The builder a gradient rule writes its backward nodes into: it names new tensors,
 * infers their shapes as it goes, hoists constants, and offers the few composite
 * patterns many rules share (un-broadcasting, reductions whose `axes` moved from attribute
 * to input between opsets).
 *
 * @example
 * ```ts
 * import { GradContext } from "./context.ts";
 * const facts = new Map([["x", { dtype: "float32" as const, shape: ["N", 3] }]]);
 * const ctx = new GradContext(facts, 17, "grad");
 * const [y] = ctx.emit("Relu", ["x"]);
 * console.log(ctx.nodes.length, ctx.shape(y)); // 1 ["N", 3]
 * ```
 * @module
 */
import type { DType } from "../tensor.ts";
import { ONNX_DTYPE_CODES } from "../dtypes.ts";
import { type Tensor, tensor } from "../tensor.ts";
import { type Attr, type Dim, intAttr, intsAttr, type Node } from "../graph/ir.ts";
import { type Facts, floatValues, inferNode } from "../graph/infer_shapes.ts";
import { GradError } from "./grad_error.ts";

// GradError moved to its own file; re-exported here so that existing imports keep working.
export { GRAD_ERROR_CODES, GradError, type GradErrorCode, isGradErrorCode } from "./grad_error.ts";

/** Collects the nodes and constants of a backward graph. */
export class GradContext {
  /** Emitted nodes, in order. */
  readonly nodes: Node[] = [];
  /** Constants the emitted nodes use. */
  readonly initializers: Map<string, Tensor> = new Map();
  #counter = 0;

  /**
   * @param facts shapes of the forward tensors; extended with every emitted tensor
   * @param opset the `ai.onnx` opset the emitted nodes must conform to
   * @param prefix name prefix of emitted tensors, unique in the graph
   */
  constructor(readonly facts: Facts, readonly opset: number, readonly prefix = "grad") {}

  /** Forward producer and consumers of each tensor, set by the reverse pass. */
  #producer = new Map<string, Node>();
  #consumers = new Map<string, Node[]>();
  #external = new Set<string>();
  /** Nodes whose local derivative a consumer's rule has already applied (fusion). */
  readonly applied: Set<Node> = new Set();

  /**
   * Records the forward graph's structure for rules that fuse with a neighbour.
   * `external` tensors also receive gradient from outside the graph (seeds, outputs).
   */
  setGraph(nodes: readonly Node[], external: Iterable<string>): void {
    for (const n of nodes) {
      for (const o of n.outputs) if (o) this.#producer.set(o, n);
      for (const i of n.inputs) {
        if (!i) continue;
        const list = this.#consumers.get(i);
        list ? list.push(n) : this.#consumers.set(i, [n]);
      }
    }
    this.#external = new Set(external);
  }

  /**
   * The node producing `x` when `x` is an output of an `opType` node whose gradient comes
   * only through `consumer` (no other reader, not a graph output or seed); otherwise
   * undefined. A rule that gets a node here may apply that node's derivative itself and
   * mark it in {@linkcode GradContext.applied}.
   */
  soleProducer(x: string, opType: string, consumer: Node): Node | undefined {
    const p = this.#producer.get(x);
    if (!p || p.opType !== opType || this.#external.has(x)) return undefined;
    const readers = this.#consumers.get(x) ?? [];
    return readers.length === 1 && readers[0] === consumer ? p : undefined;
  }

  /** A fresh tensor name containing `hint`. */
  fresh(hint: string): string {
    return `${this.prefix}/${hint.replace(/^\/+/, "")}#${this.#counter++}`;
  }

  /**
   * Emits one node and returns its output names (fresh), inferring their shapes.
   *
   * @example
   * ```ts
   * import { GradContext } from "./context.ts";
   * const ctx = new GradContext(new Map([["gy", { dtype: "float32" as const, shape: [2] }]]), 17);
   * const [dx] = ctx.emit("Mul", ["gy", ctx.scalar(2)]);
   * console.log(ctx.shape(dx)); // [2]
   * ```
   */
  emit(
    opType: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    nOut = 1,
    hint?: string,
  ): string[] {
    const outputs = Array.from({ length: nOut }, () => this.fresh(hint ?? opType));
    const node: Node = { name: outputs[0], opType, domain: "", inputs, outputs, attrs };
    this.nodes.push(node);
    inferNode(node, this.facts, this.opset);
    return outputs;
  }

  /** {@linkcode emit} for single-output nodes. */
  emit1(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, hint?: string): string {
    return this.emit(opType, inputs, attrs, 1, hint)[0];
  }

  /**
   * Emits `Cast(x)` to `dtype` and returns the output's name. `to` is the ONNX
   * `TensorProto.DataType` code of `dtype` from the one dtype table (dtypes.ts; onnx.proto:
   * FLOAT = 1, FLOAT16 = 10, DOUBLE = 11), so a float16 graph casts to FLOAT16.
   *
   * @example
   * ```ts
   * // const mask = ctx.cast(ctx.emit1("Greater", [y, zero]), ctx.dtype(y));
   * ```
   */
  cast(x: string, dtype: DType): string {
    return this.emit1("Cast", [x], { to: intAttr(ONNX_DTYPE_CODES[dtype]) });
  }

  /** Adds a constant tensor and returns its name. */
  constant(t: Tensor, hint = "const"): string {
    const name = this.fresh(hint);
    this.initializers.set(name, t);
    const value = t.dtype === "int64" && t.dims.length <= 1
      ? Array.from(t.data as BigInt64Array, Number)
      : undefined;
    this.facts.set(name, { dtype: t.dtype, shape: [...t.dims], value, floats: floatValues(t) });
    return name;
  }

  /** A 1-D int64 constant (axes, shapes, pads). */
  ints(values: readonly number[]): string {
    return this.constant(
      tensor("int64", [values.length], BigInt64Array.from(values.map(BigInt))),
      "ints",
    );
  }

  /** A scalar constant of the given float dtype. */
  scalar(value: number, dtype: DType = "float32"): string {
    const t = dtype === "float64"
      ? tensor("float64", [], new Float64Array([value]))
      : tensor("float32", [], new Float32Array([value]));
    return this.constant(t, "scalar");
  }

  /** Zeros with the runtime shape of `like` and the given float dtype. */
  zerosLike(like: string, dtype: DType): string {
    const one: Tensor = dtype === "float64"
      ? tensor("float64", [1], new Float64Array(1))
      : tensor("float32", [1], new Float32Array(1));
    return this.emit1("ConstantOfShape", [this.emit1("Shape", [like])], { value: { type: "tensor", value: one } });
  }

  /** dtype of a known tensor. */
  dtype(name: string): DType {
    const f = this.facts.get(name);
    if (!f) throw new GradError("UNKNOWN_TENSOR", `tensor ${JSON.stringify(name)} is not defined`);
    return f.dtype;
  }

  /** Shape of a tensor, or an error naming the node that needed it. */
  shape(name: string, node?: Node): Dim[] {
    const s = this.facts.get(name)?.shape;
    if (!s) {
      throw new GradError(
        "UNKNOWN_SHAPE",
        `${node ? `node ${JSON.stringify(node.name)} (${node.opType}): ` : ""}shape of tensor ${
          JSON.stringify(name)
        } is unknown; ` +
          `give the model's inputs static ranks`,
      );
    }
    return s;
  }

  /** Rank of a tensor. */
  rank(name: string, node?: Node): number {
    return this.shape(name, node).length;
  }

  /** ReduceSum over `axes` (axes as an input since opset 13). */
  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    return this.emit1("ReduceSum", [x, this.ints(axes)], { keepdims: intAttr(keepdims ? 1 : 0) });
  }

  /** ReduceMean over `axes` (axes an attribute before opset 18, an input from 18). */
  reduceMean(x: string, axes: number[], keepdims: boolean): string {
    if (this.opset >= 18) {
      return this.emit1("ReduceMean", [x, this.ints(axes)], {
        keepdims: intAttr(keepdims ? 1 : 0),
      });
    }
    return this.emit1("ReduceMean", [x], {
      axes: intsAttr(axes),
      keepdims: intAttr(keepdims ? 1 : 0),
    });
  }

  /** Reshape `x` to the runtime shape of `like`. */
  reshapeLike(x: string, like: string): string {
    return this.emit1("Reshape", [x, this.emit1("Shape", [like])]);
  }

  /**
   * Sums a gradient of the broadcast shape `outName` back to the shape of `inName`
   * (ONNX multidirectional broadcasting, reversed): reduce the leading axes `inName` lacks
   * and the axes where it has size 1.
   */
  unbroadcast(g: string, inName: string, outName: string, node?: Node): string {
    const xs = this.shape(inName, node), ys = this.shape(outName, node);
    const lead = ys.length - xs.length;
    const axes: number[] = [];
    for (let i = 0; i < ys.length; i++) {
      if (i < lead) axes.push(i);
      else if (xs[i - lead] === 1 && ys[i] !== 1) axes.push(i);
      else if (
        xs[i - lead] !== ys[i] && typeof xs[i - lead] === "string" && typeof ys[i] === "number"
      ) {
        throw new GradError(
          "UNKNOWN_SHAPE",
          `cannot tell whether ${inName} broadcasts on axis ${i}`,
        );
      }
    }
    if (axes.length === 0) return g;
    const summed = this.reduceSum(g, axes, true);
    return lead > 0 || this.shape(summed).length !== xs.length
      ? this.reshapeLike(summed, inName)
      : summed;
  }

  /**
   * Sums the batch axes of a MatMul operand's gradient `g` (shape `[...batch, m, k]`)
   * back to the shape of `x` (ONNX MatMul broadcasts like numpy.matmul).
   */
  unbroadcastBatch(g: string, x: string, node?: Node): string {
    const xs = this.shape(x, node), gs = this.shape(g, node);
    if (gs.length === xs.length && gs.every((d, i) => d === xs[i] || i >= gs.length - 2)) return g;
    const lead = gs.length - xs.length;
    const axes: number[] = [];
    for (let i = 0; i < gs.length - 2; i++) {
      if (i < lead || (xs[i - lead] === 1 && gs[i] !== 1)) axes.push(i);
    }
    return this.reshapeLike(this.reduceSum(g, axes, true), x);
  }

  /** Sums several gradient contributions (one `Sum` node), or returns the only one. */
  accumulate(parts: string[]): string {
    return parts.length === 1 ? parts[0] : this.emit1("Sum", parts, {}, "acc");
  }
}
