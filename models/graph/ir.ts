/**
 * splitgate's graph IR: a plain, mutable mirror of an ONNX `GraphProto` that the gradient
 * builder, the splitter and the exporter work on. It keeps exactly what ONNX keeps (nodes in
 * topological order, named tensors, initializers, typed attributes) so that reading a model
 * and writing it back loses nothing splitgate relies on.
 *
 * @example
 * ```ts
 * import { emptyGraph, addNode, intAttr } from "./ir.ts";
 * const g = emptyGraph("tiny");
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["y"] });
 * addNode(g, { opType: "Flatten", inputs: ["y"], outputs: ["z"], attrs: { axis: intAttr(1) } });
 * ```
 * @module
 */
import type { DType, Tensor } from "../tensor.ts";

/** A typed ONNX attribute value (ONNX IR `AttributeProto`). */
export type Attr =
  | { readonly type: "int"; readonly value: number }
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "ints"; readonly value: readonly number[] }
  | { readonly type: "floats"; readonly value: readonly number[] }
  | { readonly type: "strings"; readonly value: readonly string[] }
  | { readonly type: "tensor"; readonly value: Tensor };

/** One operator application. An empty input name marks an omitted optional input. */
export interface Node {
  name: string;
  opType: string;
  /** Operator domain; `""` is the default `ai.onnx` domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

/** A dimension: a size, or a symbolic name such as `"batch"` for a dynamic axis. */
export type Dim = number | string;

/** Name, element type and (when known) shape of a tensor. */
export interface ValueInfo {
  name: string;
  dtype: DType;
  shape?: Dim[];
  /**
   * The ONNX element type written instead of `dtype`'s, for the one type splitgate computes
   * nothing with: STRING (8), the raw category input of an exported table model
   * (`models/train/table_preprocessing.ts`). Absent everywhere else.
   */
  onnxElemType?: number;
}

/** A computation graph in ONNX's sense. */
export interface Graph {
  name: string;
  /** Nodes in topological order. */
  nodes: Node[];
  /** Runtime inputs (initializers are not listed here). */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Constant tensors by name: weights, and constants the exporter hoisted. */
  initializers: Map<string, Tensor>;
  /** Known types of intermediate tensors. */
  valueInfo: Map<string, ValueInfo>;
}

/** A model: a graph and the operator sets it was written against. */
export interface Model {
  irVersion: number;
  /** Operator set per domain; `""` is `ai.onnx`. */
  opsets: Map<string, number>;
  producerName: string;
  producerVersion: string;
  graph: Graph;
}

/**
 * An empty graph.
 *
 * @example
 * ```ts
 * import { emptyGraph } from "./ir.ts";
 * const g = emptyGraph("segment0");
 * ```
 */
export function emptyGraph(name: string): Graph {
  return {
    name,
    nodes: [],
    inputs: [],
    outputs: [],
    initializers: new Map(),
    valueInfo: new Map(),
  };
}

/** Fields accepted by {@linkcode addNode}; name and domain get defaults. */
export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
  name?: string;
  domain?: string;
}

/**
 * Appends a node to `g` and returns it.
 *
 * @example
 * ```ts
 * import { addNode, emptyGraph } from "./ir.ts";
 * addNode(emptyGraph("g"), { opType: "Relu", inputs: ["x"], outputs: ["y"] });
 * ```
 */
export function addNode(g: Graph, spec: NodeSpec): Node {
  const node: Node = {
    name: spec.name ?? `${spec.opType}_${g.nodes.length}`,
    opType: spec.opType,
    domain: spec.domain ?? "",
    inputs: [...spec.inputs],
    outputs: [...spec.outputs],
    attrs: { ...(spec.attrs ?? {}) },
  };
  g.nodes.push(node);
  return node;
}

/** An `int` attribute. @example `intAttr(1)` */
export const intAttr = (value: number): Attr => ({ type: "int", value });
/** A `float` attribute. @example `floatAttr(0.5)` */
export const floatAttr = (value: number): Attr => ({ type: "float", value });
/** An `ints` attribute. @example `intsAttr([0, 2, 3])` */
export const intsAttr = (value: readonly number[]): Attr => ({ type: "ints", value: [...value] });
/** A `floats` attribute. @example `floatsAttr([1, 2])` */
export const floatsAttr = (value: readonly number[]): Attr => ({
  type: "floats",
  value: [...value],
});
/** A `string` attribute. @example `stringAttr("NOTSET")` */
export const stringAttr = (value: string): Attr => ({ type: "string", value });
/** A `tensor` attribute. @example `tensorAttr(tensor("float32", [], new Float32Array([1])))` */
export const tensorAttr = (value: Tensor): Attr => ({ type: "tensor", value });

/**
 * Reads an integer attribute, or `fallback` when absent.
 *
 * @example
 * ```ts
 * import { getInt } from "./ir.ts";
 * getInt({ opType: "Flatten", attrs: {} } as never, "axis", 1); // 1
 * ```
 */
export function getInt(node: Node, name: string, fallback?: number): number {
  const a = node.attrs[name];
  if (a === undefined) {
    if (fallback === undefined) throw attrError(node, name, "int", "missing");
    return fallback;
  }
  if (a.type !== "int") throw attrError(node, name, "int", a.type);
  return a.value;
}

/** Reads a float attribute, or `fallback` when absent. @example `getFloat(node, "alpha", 1)` */
export function getFloat(node: Node, name: string, fallback?: number): number {
  const a = node.attrs[name];
  if (a === undefined) {
    if (fallback === undefined) throw attrError(node, name, "float", "missing");
    return fallback;
  }
  if (a.type !== "float" && a.type !== "int") throw attrError(node, name, "float", a.type);
  return a.value;
}

/** Reads an `ints` attribute, or `fallback` when absent. @example `getInts(node, "pads", [0, 0, 0, 0])` */
export function getInts(node: Node, name: string, fallback?: readonly number[]): number[] {
  const a = node.attrs[name];
  if (a === undefined) {
    if (fallback === undefined) throw attrError(node, name, "ints", "missing");
    return [...fallback];
  }
  if (a.type !== "ints") throw attrError(node, name, "ints", a.type);
  return [...a.value];
}

/** Reads a string attribute, or `fallback` when absent. @example `getString(node, "auto_pad", "NOTSET")` */
export function getString(node: Node, name: string, fallback?: string): string {
  const a = node.attrs[name];
  if (a === undefined) {
    if (fallback === undefined) throw attrError(node, name, "string", "missing");
    return fallback;
  }
  if (a.type !== "string") throw attrError(node, name, "string", a.type);
  return a.value;
}

function attrError(node: Node, name: string, want: string, got: string): TypeError {
  return new TypeError(
    `node ${JSON.stringify(node.name)} (${node.opType}): attribute ${JSON.stringify(name)} ` +
      `expected ${want}, got ${got}`,
  );
}

/**
 * A deep-enough copy of a graph: nodes, lists and maps are new; tensors are shared
 * (they are treated as immutable throughout splitgate).
 *
 * @example
 * ```ts
 * import { cloneGraph, emptyGraph } from "./ir.ts";
 * const copy = cloneGraph(emptyGraph("g"));
 * ```
 */
export function cloneGraph(g: Graph): Graph {
  return {
    name: g.name,
    nodes: g.nodes.map((n) => ({
      ...n,
      inputs: [...n.inputs],
      outputs: [...n.outputs],
      attrs: { ...n.attrs },
    })),
    inputs: g.inputs.map((v) => ({ ...v, shape: v.shape && [...v.shape] })),
    outputs: g.outputs.map((v) => ({ ...v, shape: v.shape && [...v.shape] })),
    initializers: new Map(g.initializers),
    valueInfo: new Map(
      [...g.valueInfo].map(([k, v]) => [k, { ...v, shape: v.shape && [...v.shape] }]),
    ),
  };
}
