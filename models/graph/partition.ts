/**
 * Splits one graph into two that run one after the other: the first computes the outputs
 * asked for first (and whatever the second needs from it), the second computes the rest.
 * Nothing is computed twice: each node of the original lands in exactly one of the two
 * (nodes without inputs, such as `Constant`, may land in both, so that no constant has to
 * travel between them).
 *
 * Why: a split server answers a step with the loss and the cut gradient, which need only
 * part of its step graph; the parameter gradients (the weight gradients of every layer) can
 * be computed after the reply has left, while the clinic runs its own backward pass.
 *
 * The tensors that cross from the first graph to the second (the *boundary*) become extra
 * outputs of the first and inputs of the second, under their own names. A graph must be
 * in topological order, as the ONNX IR requires (ONNX IR spec, "Graphs": "nodes ... MUST
 * be topologically sorted").
 *
 * @example
 * ```ts
 * import { partitionGraph } from "./partition.ts";
 * import type { Model } from "./ir.ts";
 * declare const step: Model;
 * const { first, second, boundary } = partitionGraph(step, ["loss", "grad.cut"]);
 * ```
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { Graph, Model, Node, ValueInfo } from "./ir.ts";
import { inferShapes } from "./infer_shapes.ts";

/** The two graphs of {@linkcode partitionGraph}. */
export interface GraphPartition {
  /**
   * Computes the `first` outputs, any other output of the original that its nodes already
   * produce (see `firstOutputs`), and the boundary tensors. Takes every input of the original.
   */
  first: Model;
  /** Computes the remaining outputs; takes the boundary tensors and the original inputs it reads. */
  second: Model;
  /** Tensors that the first graph outputs for the second, in the first graph's node order. */
  boundary: string[];
  /** Outputs of the original that the first graph computes (the requested ones and any it produces anyway). */
  firstOutputs: string[];
  /** Outputs of the original that the second graph computes. */
  secondOutputs: string[];
}

/**
 * Partitions `model`'s graph: `first` computes `firstOutputs` (outputs of the original
 * graph), `second` the other outputs from what `first` passes it.
 *
 * @throws {TypeError} naming an entry of `firstOutputs` that is not an output of the graph,
 *   or a tensor whose producing node is missing
 * @example
 * ```ts
 * import { partitionGraph } from "./partition.ts";
 * import { addNode, emptyGraph, type Model } from "./ir.ts";
 * const g = emptyGraph("g");
 * g.inputs.push({ name: "x", dtype: "float32", shape: [2] });
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["r"] });
 * addNode(g, { opType: "Neg", inputs: ["r"], outputs: ["a"] });
 * addNode(g, { opType: "Exp", inputs: ["r"], outputs: ["b"] });
 * g.outputs.push({ name: "a", dtype: "float32" }, { name: "b", dtype: "float32" });
 * const model: Model = { irVersion: 8, opsets: new Map([["", 17]]), producerName: "", producerVersion: "", graph: g };
 * const p = partitionGraph(model, ["a"]);
 * p.boundary; // ["r"]
 * p.secondOutputs; // ["b"]
 * ```
 */
export function partitionGraph(model: Model, firstOutputs: readonly string[]): GraphPartition {
  const g = model.graph;
  const outputNames = new Set(g.outputs.map((o) => o.name));
  for (const o of firstOutputs) {
    if (!outputNames.has(o)) {
      throw new TypeError(`partition: ${JSON.stringify(o)} is not an output of graph ${JSON.stringify(g.name)}`);
    }
  }
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o !== "") producer.set(o, i);
  });
  const sources = new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);

  /** Indices of the nodes needed for `targets`, not looking past the nodes in `stop`. */
  const closure = (targets: Iterable<string>, stop: ReadonlySet<number>): Set<number> => {
    const need = new Set<number>();
    const todo = [...targets];
    while (todo.length > 0) {
      const t = todo.pop()!;
      if (t === "" || sources.has(t)) continue;
      const i = producer.get(t);
      if (i === undefined) throw new TypeError(`partition: no node of graph ${JSON.stringify(g.name)} produces ${JSON.stringify(t)}`);
      if (need.has(i) || stop.has(i)) continue;
      need.add(i);
      todo.push(...g.nodes[i].inputs);
    }
    return need;
  };

  const inFirst = closure(firstOutputs, new Set());
  const wanted = new Set(firstOutputs);
  // Outputs that the first graph produces anyway (or that are inputs) are its outputs too.
  for (const o of g.outputs) {
    const i = producer.get(o.name);
    if (i === undefined || inFirst.has(i)) wanted.add(o.name);
  }
  const rest = g.outputs.map((o) => o.name).filter((o) => !wanted.has(o));
  const inSecond = closure(rest, inFirst);
  // Constants the second graph reads are made again there rather than passed over.
  const copied = new Set<number>();
  for (const i of inSecond) {
    for (const t of g.nodes[i].inputs) {
      const p = producer.get(t);
      if (p !== undefined && inFirst.has(p) && g.nodes[p].inputs.length === 0) copied.add(p);
    }
  }
  const boundarySet = new Set<string>();
  const secondInputs = new Set<string>();
  for (const i of inSecond) {
    for (const t of g.nodes[i].inputs) {
      if (t === "" || g.initializers.has(t)) continue;
      const p = producer.get(t);
      if (p === undefined) secondInputs.add(t);
      else if (inFirst.has(p) && !copied.has(p)) boundarySet.add(t);
    }
  }
  // Boundary in node order, so that the first graph's outputs read like its computation.
  const boundary: string[] = [];
  g.nodes.forEach((n, i) => {
    if (inFirst.has(i)) for (const o of n.outputs) if (boundarySet.has(o) && !wanted.has(o)) boundary.push(o);
  });
  const crossing = [...wanted].filter((o) => boundarySet.has(o));

  const facts = inferShapes(g, model.opsets.get("") ?? 13);
  const info = (name: string): ValueInfo => {
    const f = facts.get(name);
    if (!f) throw new TypeError(`partition: the type of ${JSON.stringify(name)} is unknown`);
    // Dtype only: a boundary tensor's shape is whatever the first graph computes.
    return { name, dtype: f.dtype };
  };
  const originalOutput = new Map(g.outputs.map((o) => [o.name, o]));
  const pick = (keep: (i: number) => boolean): Node[] =>
    g.nodes.filter((_, i) => keep(i)).map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } }));
  const initializersOf = (nodes: readonly Node[]) => {
    const m = new Map<string, Tensor>();
    for (const n of nodes) for (const t of n.inputs) if (g.initializers.has(t)) m.set(t, g.initializers.get(t)!);
    return m;
  };

  const firstNodes = pick((i) => inFirst.has(i));
  const firstGraph: Graph = {
    name: `${g.name}_first`,
    nodes: firstNodes,
    inputs: g.inputs.map((v) => ({ ...v, shape: v.shape && [...v.shape] })),
    outputs: [
      ...g.outputs.filter((o) => wanted.has(o.name)).map((o) => ({ ...o, shape: o.shape && [...o.shape] })),
      ...boundary.map(info),
    ],
    initializers: initializersOf(firstNodes),
    valueInfo: new Map(),
  };
  const secondNodes = pick((i) => inSecond.has(i) || copied.has(i));
  const secondGraph: Graph = {
    name: `${g.name}_second`,
    nodes: secondNodes,
    inputs: [
      ...g.inputs.filter((v) => secondInputs.has(v.name)).map((v) => ({ ...v, shape: v.shape && [...v.shape] })),
      ...[...boundary, ...crossing].map((n) => originalOutput.get(n) ?? info(n)).map((v) => ({ name: v.name, dtype: v.dtype })),
    ],
    outputs: rest.map((o) => {
      const v = originalOutput.get(o)!;
      return { ...v, shape: v.shape && [...v.shape] };
    }),
    initializers: initializersOf(secondNodes),
    valueInfo: new Map(),
  };
  return {
    first: { ...model, opsets: new Map(model.opsets), graph: firstGraph },
    second: { ...model, opsets: new Map(model.opsets), graph: secondGraph },
    boundary: [...boundary, ...crossing],
    firstOutputs: [...wanted],
    secondOutputs: rest,
  };
}
