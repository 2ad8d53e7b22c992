/**
 * A rewrite of backward graphs: a forward tensor that the backward reads only for its shape
 * is not passed from the forward call to the backward call when another tensor of the same
 * static shape crosses anyway.
 *
 * @example
 * ```ts
 * import { shareShapeReads } from "./share_shape_reads.ts";
 * import type { Facts } from "../graph/infer_shapes.ts";
 * const facts: Facts = new Map([
 *   ["a", { dtype: "float32", shape: [2, 3] }],
 *   ["b", { dtype: "float32", shape: [2, 3] }],
 * ]);
 * const node = (opType: string, inputs: string[], out: string) =>
 *   ({ name: out, opType, domain: "", inputs, outputs: [out], attrs: {} });
 * const nodes = shareShapeReads([node("Neg", ["a"], "n"), node("Shape", ["b"], "s")], facts, () => true);
 * console.log(nodes[1].inputs); // ["a"]: b need not cross
 * ```
 * @module
 */
import type { Node } from "../graph/ir.ts";
import type { Facts } from "../graph/infer_shapes.ts";

/**
 * Rewrites backward nodes that read a forward tensor only for its shape. A forward tensor
 * every backward reader of which is `Shape` or `Size` (ONNX operator spec, Shape-15 and
 * Size-13: the output depends on the input's dimensions only) need not cross from the
 * forward call to the backward call whole when another tensor of the same static shape
 * crosses anyway: those readers read that one instead. The gradient rules of the
 * reductions in a lowered BatchNormalization read their input's shape this way, which
 * otherwise saved two extra [N, C, H, W] tensors per block (on the wasm engine every saved
 * tensor is copied out of and back into the module's memory). The shape stays static in
 * the backward graph, so its shape inference and FLOP count are unchanged.
 *
 * @param nodes the backward nodes
 * @param facts shapes of the tensors they read
 * @param isForwardTensor whether a tensor the nodes read comes from the forward call (not a
 *   seed or a constant of the backward graph)
 * @returns `nodes`, with the Shape and Size readers of such tensors reading the twin
 * @example
 * ```ts
 * import { shareShapeReads } from "./share_shape_reads.ts";
 * shareShapeReads([], new Map(), () => true); // []
 * ```
 */
export function shareShapeReads(
  nodes: Node[],
  facts: Facts,
  isForwardTensor: (t: string) => boolean,
): Node[] {
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  const isShapeRead = (n: Node) => (n.opType === "Shape" || n.opType === "Size") && n.domain === "";
  const readers = new Map<string, Node[]>();
  for (const n of nodes) {
    for (const t of n.inputs) {
      if (t && !produced.has(t) && isForwardTensor(t)) {
        readers.set(t, [...(readers.get(t) ?? []), n]);
      }
    }
  }
  const key = (t: string) => {
    const shape = facts.get(t)?.shape;
    return shape ? JSON.stringify(shape) : undefined;
  };
  // Tensors that cross anyway (read by something other than Shape/Size), by static shape.
  const crossing = new Map<string, string>();
  for (const [t, rs] of readers) {
    const k = key(t);
    if (k && !rs.every(isShapeRead) && !crossing.has(k)) crossing.set(k, t);
  }
  const swap = new Map<string, string>();
  for (const [t, rs] of readers) {
    const k = key(t);
    const other = k ? crossing.get(k) : undefined;
    if (other && other !== t && rs.every(isShapeRead)) swap.set(t, other);
  }
  if (swap.size === 0) return nodes;
  return nodes.map((n) =>
    isShapeRead(n) && swap.has(n.inputs[0])
      ? { ...n, inputs: [swap.get(n.inputs[0])!, ...n.inputs.slice(1)] }
      : n
  );
}
