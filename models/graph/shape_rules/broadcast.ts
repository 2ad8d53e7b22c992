/**
 * Shape rules of the ops that broadcast their inputs (ONNX multidirectional broadcasting):
 * binary and variadic arithmetic, comparisons, logic, Where and Expand. Add, Sub, Mul, Div,
 * Equal and Where of tracked integer tensors also compute the result's values, symbolic
 * dimensions included (dim_arith.ts): PyTorch's exporter writes shape arithmetic such as
 * `Shape → Gather → Mul → Reshape` and `expand(n, -1, -1)` as `Where(Equal(s, -1), 1, s)`.
 *
 * @example
 * ```ts
 * import { BROADCAST_SHAPE_RULES } from "./broadcast.ts";
 * const add = { name: "a", opType: "Add", domain: "", inputs: ["x", "b"], outputs: ["y"], attrs: {} };
 * BROADCAST_SHAPE_RULES.Add(add, [
 *   { dtype: "float32", shape: ["N", 3] },
 *   { dtype: "float32", shape: [3] },
 * ], { opset: 17 })[0]?.shape; // ["N", 3]
 * ```
 * @module
 */
import type { DType } from "../../tensor.ts";
import type { Dim } from "../ir.ts";
import { broadcastShapes } from "./dims.ts";
import { foldValues, whereValues } from "./dim_arith.ts";
import { dtypeOf, type ShapeRule } from "./rule.ts";

const COMPARISONS: ReadonlySet<string> = new Set([
  "Equal",
  "Less",
  "Greater",
  "LessOrEqual",
  "GreaterOrEqual",
  "And",
  "Or",
]);

/**
 * The broadcast of every input's shape; unknown as soon as one input's shape is. Bool for
 * comparisons and logic, the second input's type for Where, else the first input's.
 */
const broadcastRule: ShapeRule = (node, inputs) => {
  let shape: Dim[] | undefined = [];
  for (let i = 0; i < node.inputs.length; i++) {
    const s = inputs[i]?.shape;
    shape = s && shape ? broadcastShapes(shape, s) : undefined;
  }
  const dt = dtypeOf(inputs[0]);
  const dtype: DType = COMPARISONS.has(node.opType)
    ? "bool"
    : node.opType === "Where"
    ? (inputs[1]?.dtype ?? dt)
    : dt;
  const value = node.opType === "Where"
    ? whereValues(inputs[0]?.value, inputs[1]?.value, inputs[2]?.value)
    : foldValues(node.opType, inputs[0]?.value, inputs[1]?.value);
  return [{ dtype, shape, value: shape?.length === 1 || shape?.length === 0 ? value : undefined }];
};

/** Expand-13: the input broadcast with the tracked target shape (input 1). */
const expand: ShapeRule = (_node, [x, target]) => {
  const v = target?.value, xs = x?.shape;
  return [{ dtype: dtypeOf(x), shape: v && xs ? broadcastShapes(xs, v) : undefined }];
};

const BROADCAST_OPS = [
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "Max",
  "Min",
  "Sum",
  "Mean",
  ...COMPARISONS,
  "Where",
];

/** Shape rules of the broadcasting ops, by op type. */
export const BROADCAST_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  ...Object.fromEntries(BROADCAST_OPS.map((op) => [op, broadcastRule])),
  Expand: expand,
};
