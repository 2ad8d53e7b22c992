/**
 * The graph IR and the passes over it that know nothing of training: shape and type
 * inference (a registry of per-op rules, shape_rules/), feed checks, input
 * standardisation, partitioning one graph into two, and FLOP counts.
 *
 * @example
 * ```ts
 * import { addNode, emptyGraph, inferShapes } from "./mod.ts";
 * const g = emptyGraph("tiny");
 * g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3] });
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["y"] });
 * console.log(inferShapes(g, 17).get("y")?.shape); // ["N", 3]
 * ```
 * @module
 */
export {
  addNode,
  type Attr,
  cloneGraph,
  type Dim,
  emptyGraph,
  floatAttr,
  floatsAttr,
  getFloat,
  getInt,
  getInts,
  getString,
  type Graph,
  intAttr,
  intsAttr,
  type Model,
  type Node,
  type NodeSpec,
  stringAttr,
  tensorAttr,
  type ValueInfo,
} from "./ir.ts";
export {
  broadcastShapes,
  type Facts,
  inferNode,
  inferShapes,
  ShapeError,
  type TensorFacts,
} from "./infer_shapes.ts";
export { SHAPE_ERROR_CODES, type ShapeErrorCode } from "./shape_rules/shape_error.ts";
export {
  mergeShapeRuleFamilies,
  SHAPE_INFERENCE_FAMILIES,
  SHAPE_INFERENCE_RULES,
  type ShapeRule,
  type ShapeRuleContext,
} from "./shape_rules/mod.ts";
export { checkFeeds } from "./check_feeds.ts";
export { STANDARDISE_EPSILON, standardiseInputs } from "./standardise_inputs.ts";
export { type GraphPartition, partitionGraph } from "./partition.ts";
export { countFlops, type FlopCount, type FlopOptions } from "./flops.ts";
