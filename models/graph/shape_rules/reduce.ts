/**
 * Shape rules of the reductions (ONNX operator spec, ReduceSum-13 and the other Reduce*-18):
 * the reduced axes are dropped, or kept as 1 with `keepdims` (the default). `axes` is an
 * input from opset 13 for ReduceSum and from opset 18 for the others, an attribute before;
 * no axes reduce every axis unless `noop_with_empty_axes`.
 *
 * @example
 * ```ts
 * import { REDUCE_SHAPE_RULES } from "./reduce.ts";
 * import { intAttr, intsAttr } from "../ir.ts";
 * const mean = {
 *   name: "m", opType: "ReduceMean", domain: "", inputs: ["x"], outputs: ["y"],
 *   attrs: { axes: intsAttr([2, 3]), keepdims: intAttr(0) },
 * };
 * REDUCE_SHAPE_RULES.ReduceMean(mean, [{ dtype: "float32", shape: ["N", 4, 8, 8] }], { opset: 17 })[0]?.shape;
 * // ["N", 4]
 * ```
 * @module
 */
import { type Dim, getInt, getInts } from "../ir.ts";
import { normAxis } from "./dims.ts";
import { dtypeOf, type ShapeRule } from "./rule.ts";

/** Every Reduce* op: the input's shape without (or with 1 at) the reduced axes. */
const reduce: ShapeRule = (node, [x, axesIn], { opset }) => {
  const xs = x?.shape, dt = dtypeOf(x);
  if (!xs) return [{ dtype: dt }];
  const axesFromInput = node.opType === "ReduceSum" ? opset >= 13 : opset >= 18;
  const axes0 = axesFromInput
    ? (node.inputs[1] ? axesIn?.value as number[] | undefined : [])
    : getInts(node, "axes", []);
  const keep = getInt(node, "keepdims", 1);
  if (axes0 === undefined) return [{ dtype: dt }];
  const noop = getInt(node, "noop_with_empty_axes", 0);
  const axes = axes0.length === 0
    ? (noop ? [] : xs.map((_, i) => i))
    : axes0.map((a) => normAxis(a, xs.length));
  const out: Dim[] = [];
  xs.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return [{ dtype: dt, shape: out }];
};

const REDUCE_OPS = [
  "ReduceMean",
  "ReduceSum",
  "ReduceMax",
  "ReduceMin",
  "ReduceProd",
  "ReduceL2",
  "ReduceSumSquare",
  "ReduceLogSumExp",
] as const;

/** Shape rules of the reductions, by op type. */
export const REDUCE_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = Object.fromEntries(
  REDUCE_OPS.map((op) => [op, reduce]),
);
