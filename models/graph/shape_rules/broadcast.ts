/**
 * Shape rules of the ops that broadcast their inputs (ONNX multidirectional broadcasting):
 * binary and variadic arithmetic, comparisons, logic, Where and Expand. Add, Sub, Mul and Div
 * of two tracked static integer tensors also compute the result's values (PyTorch's exporter
 * writes shape arithmetic such as `Shape → Gather → Mul → Reshape` with them).
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

/** Integer arithmetic on tracked values; Div truncates as ONNX integer Div does. */
const FOLD: Readonly<Record<string, (p: number, q: number) => number>> = {
  Add: (p, q) => p + q,
  Sub: (p, q) => p - q,
  Mul: (p, q) => p * q,
  Div: (p, q) => Math.trunc(p / q),
};

/** The values of `a op b` when both are static and `op` folds; a length-1 side broadcasts. */
function foldValues(op: string, a?: Dim[], b?: Dim[]): Dim[] | undefined {
  if (
    !a || !b || !a.every((v) => typeof v === "number") || !b.every((v) => typeof v === "number")
  ) {
    return undefined;
  }
  const f = FOLD[op];
  if (!f) return undefined;
  const fa = a as number[], fb = b as number[];
  const n = Math.max(fa.length, fb.length);
  return Array.from(
    { length: n },
    (_, i) => f(fa[fa.length === 1 ? 0 : i], fb[fb.length === 1 ? 0 : i]),
  );
}

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
  return [{ dtype, shape, value: foldValues(node.opType, inputs[0]?.value, inputs[1]?.value) }];
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
