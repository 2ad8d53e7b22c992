/**
 * Drops the zero initial states of LSTM and GRU nodes (inputs 5 and 6, `initial_h` and
 * `initial_c`): the ONNX operator spec (LSTM-14, GRU-14) defines a missing initial state as
 * zero, so the graph computes the same outputs without them.
 *
 * Why: `torch.onnx.export` of `nn.LSTM`/`nn.GRU` called without `hx` builds one zeros tensor
 * of shape [layers·directions, batch, hidden] from the input's runtime shape
 * (Shape → Gather → Concat → ConstantOfShape) and gives each layer a Slice of it. A cut
 * between two layers would then make the second layer read a tensor of the first segment,
 * which `splitModel` refuses; without the input, each layer starts from zero on its own side.
 *
 * A state counts as zero when it is a `ConstantOfShape` whose `value` is absent or all zeros,
 * or a `Constant` node of zeros, reached through shape-only ops that keep zeros zero (Slice,
 * Expand, Reshape, Squeeze, Unsqueeze, Transpose, Identity, Cast, Gather of the data input).
 * Float initializers are left alone: the compiler treats them as trainable parameters (a
 * learned initial state may start at zero), so dropping them would freeze them silently.
 * The nodes that only fed a dropped state are removed too.
 *
 * @example
 * ```ts
 * import { dropZeroInitialStates } from "./drop_zero_states.ts";
 * import { emptyGraph } from "../graph/ir.ts";
 * const g = emptyGraph("none");
 * console.log(dropZeroInitialStates(g) === g); // true: nothing to drop, the graph is returned as is
 * ```
 * @module
 */
import type { Graph, Node } from "../graph/ir.ts";
import type { Tensor } from "../tensor.ts";

/** Ops through which a zero tensor stays zero (data input 0 only). */
const ZERO_PRESERVING = new Set([
  "Slice",
  "Expand",
  "Reshape",
  "Squeeze",
  "Unsqueeze",
  "Transpose",
  "Identity",
  "Cast",
  "Gather",
]);

const allZero = (t: Tensor | undefined) =>
  t !== undefined && [...t.data].every((v) => Number(v) === 0);

/**
 * Returns `g` with the zero initial states of its LSTM and GRU nodes removed (module doc),
 * or `g` itself when there are none.
 *
 * @param g the model graph, nodes in topological order
 * @example
 * ```ts
 * import { dropZeroInitialStates } from "./drop_zero_states.ts";
 * import { addNode, emptyGraph, intAttr } from "../graph/ir.ts";
 * const g = emptyGraph("gru");
 * addNode(g, { opType: "ConstantOfShape", inputs: ["shape"], outputs: ["zeros"] });
 * addNode(g, {
 *   opType: "GRU", inputs: ["x", "W", "R", "B", "", "zeros"], outputs: ["y"],
 *   attrs: { hidden_size: intAttr(4) },
 * });
 * const out = dropZeroInitialStates(g);
 * console.log(out.nodes.length, out.nodes[0].inputs); // 1 ["x", "W", "R", "B"]
 * ```
 */
export function dropZeroInitialStates(g: Graph): Graph {
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const isZero = (t: string): boolean => {
    const p = producer.get(t);
    if (!p || p.domain !== "") return false;
    if (p.opType === "ConstantOfShape") {
      const v = p.attrs.value;
      return v === undefined || (v.type === "tensor" && allZero(v.value));
    }
    if (p.opType === "Constant") {
      const v = p.attrs.value;
      return v?.type === "tensor" && allZero(v.value);
    }
    return ZERO_PRESERVING.has(p.opType) && isZero(p.inputs[0]);
  };
  const dropped = new Set<string>();
  const nodes = g.nodes.map((n) => {
    if ((n.opType !== "LSTM" && n.opType !== "GRU") || n.domain !== "") return n;
    const inputs = n.inputs.map((t, i) => ((i === 5 || i === 6) && t && isZero(t) ? "" : t));
    if (inputs.every((t, i) => t === n.inputs[i])) return n;
    n.inputs.forEach((t, i) => inputs[i] !== t && dropped.add(t));
    while (inputs.length > 0 && inputs[inputs.length - 1] === "") inputs.pop();
    return { ...n, inputs };
  });
  return dropped.size > 0 ? { ...g, nodes: removeDead(nodes, g, dropped) } : g;
}

/**
 * Removes, from the last node back, nodes none of whose outputs is read or a graph output,
 * among the producers of `released` (the tensors the rewritten nodes stopped reading) and,
 * transitively, of their inputs. Other unused nodes are kept as they were.
 */
function removeDead(nodes: Node[], g: Graph, released: Set<string>): Node[] {
  const outputs = new Set(g.outputs.map((v) => v.name));
  const candidates = new Set(released);
  const keep = new Array(nodes.length).fill(true);
  const readers = new Map<string, number>();
  for (const n of nodes) for (const t of n.inputs) if (t) readers.set(t, (readers.get(t) ?? 0) + 1);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    const dead = n.outputs.some((o) => candidates.has(o)) &&
      n.outputs.every((o) => !o || (!outputs.has(o) && !readers.get(o)));
    if (!dead) continue;
    keep[i] = false;
    for (const t of n.inputs) {
      if (!t) continue;
      readers.set(t, readers.get(t)! - 1);
      candidates.add(t);
    }
  }
  return nodes.filter((_, i) => keep[i]);
}
