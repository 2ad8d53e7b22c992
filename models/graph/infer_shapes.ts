/**
 * Static shape and type inference over the graph IR, with symbolic dimensions (a dynamic
 * batch axis stays `"N"`), following the shape rules of each operator in the ONNX operator
 * spec (https://onnx.ai/onnx/operators/). It also tracks the *values* of small integer
 * tensors (shape computations such as `Shape → Gather → Unsqueeze → Concat → Reshape`, as
 * PyTorch's exporter writes them), so that the target shape of a `Reshape` is known.
 *
 * The per-op rules live in shape_rules/, one file per op family, merged into one registry
 * ({@linkcode SHAPE_INFERENCE_RULES}); this module walks the graph and records what they infer.
 *
 * The gradient rules need ranks and broadcast axes; they never need the batch size.
 *
 * @example
 * ```ts
 * import { inferShapes } from "./infer_shapes.ts";
 * import { readModel } from "../onnx/read_model.ts";
 * const model = readModel(await Deno.readFile("tests/fixtures/models/pneumonia_cnn.onnx"));
 * const info = inferShapes(model.graph, 17);
 * console.log(info.get("logits")?.shape); // ["N", 1]
 * ```
 * @module
 */
import type { Graph, Node } from "./ir.ts";
import { type Facts, floatValues, tensorValue } from "./shape_rules/facts.ts";
import { SHAPE_INFERENCE_RULES } from "./shape_rules/mod.ts";
import { dtypeOf, type ShapeRule } from "./shape_rules/rule.ts";

export { type Facts, floatValues, type TensorFacts } from "./shape_rules/facts.ts";
export { ShapeError } from "./shape_rules/shape_error.ts";
export { broadcastShapes } from "./shape_rules/dims.ts";
export { SHAPE_INFERENCE_RULES } from "./shape_rules/mod.ts";

/**
 * Infers dtype and shape of every tensor in `g`. Graph inputs and initializers seed the
 * map; each node adds its outputs. Unknown shapes stay `undefined` (the rules that need
 * them report it), unless `observed` holds them: shapes and small integer values measured
 * on a batch (runtime/train/observe_shapes.ts), for tensors whose shape depends on the data.
 *
 * @example
 * ```ts
 * import { inferShapes } from "./infer_shapes.ts";
 * import { emptyGraph } from "./ir.ts";
 * inferShapes(emptyGraph("g"), 17).size; // 0
 * ```
 */
export function inferShapes(g: Graph, opset: number, seed?: Facts, observed?: Facts): Facts {
  const facts: Facts = new Map(seed ?? []);
  for (const v of g.inputs) facts.set(v.name, { dtype: v.dtype, shape: v.shape && [...v.shape] });
  for (const [name, t] of g.initializers) {
    facts.set(name, {
      dtype: t.dtype,
      shape: [...t.dims],
      value: tensorValue(t),
      floats: floatValues(t),
    });
  }
  for (const node of g.nodes) {
    inferNode(node, facts, opset);
    if (observed) fillObserved(node, facts, observed);
  }
  return facts;
}

/**
 * Fills what the rules left open for `node`'s outputs (a shape, or the values of a small
 * integer tensor) from `observed`, the same tensors measured on a real batch. Only gaps are
 * filled: what the rules inferred, symbolic batch included, is kept.
 */
function fillObserved(node: Node, facts: Facts, observed: Facts): void {
  for (const name of node.outputs) {
    const f = facts.get(name), o = name ? observed.get(name) : undefined;
    if (!o || (f?.shape && (f.value || !o.value))) continue;
    facts.set(name, {
      ...f,
      dtype: f?.dtype ?? o.dtype,
      shape: f?.shape ?? (o.shape && [...o.shape]),
      value: f?.value ?? o.value,
    });
  }
}

/**
 * An op without a rule: its outputs get the first input's dtype and an unknown shape; the
 * gradient builder refuses ops it has no rule for.
 */
const unknownOp: ShapeRule = (node, [x]) => node.outputs.map(() => ({ dtype: dtypeOf(x) }));

/**
 * Infers the outputs of one node into `facts` by the op's rule in {@linkcode SHAPE_INFERENCE_RULES}.
 * Exposed for the gradient builder, which infers the nodes it emits one at a time.
 *
 * @throws {ShapeError} `SHAPE` when the rule cannot infer the node (e.g. `auto_pad=SAME_UPPER`)
 * @example
 * ```ts
 * import { type Facts, inferNode } from "./infer_shapes.ts";
 * const facts: Facts = new Map([["x", { dtype: "float32", shape: ["N", 3] }]]);
 * inferNode({ name: "r", opType: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attrs: {} }, facts, 17);
 * console.log(facts.get("y")?.shape); // ["N", 3]
 * ```
 */
export function inferNode(node: Node, facts: Facts, opset: number): void {
  const inputs = node.inputs.map((n) => (n ? facts.get(n) : undefined));
  const rule = SHAPE_INFERENCE_RULES.get(node.opType) ?? unknownOp;
  const outputs = rule(node, inputs, { opset });
  // An omitted optional output (empty name) records nothing, nor does an output the rule
  // leaves unknown. Inferring a node again (training lowering re-infers a segment's nodes)
  // keeps a shape or value known before, e.g. one measured on a batch, that the rule cannot
  // infer.
  outputs.forEach((f, i) => {
    const name = node.outputs[i];
    if (!f || !name) return;
    const before = facts.get(name);
    const keep = before?.dtype === f.dtype &&
      ((!f.shape && before.shape) || (!f.value && before.value));
    facts.set(
      name,
      keep ? { ...f, shape: f.shape ?? before.shape, value: f.value ?? before.value } : f,
    );
  });
}
