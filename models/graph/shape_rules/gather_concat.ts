/**
 * Shape rules of the ops that join, split or index along an axis: Concat-13, Split-13
 * (`split` sizes an input from opset 13, an attribute before), Gather-13, GatherElements-13,
 * ScatterElements-18 and ScatterND-18 (ONNX operator spec). Concat and Gather of tracked
 * integer tensors also compute the values (shape arithmetic).
 *
 * @example
 * ```ts
 * import { GATHER_CONCAT_SHAPE_RULES } from "./gather_concat.ts";
 * import { intAttr } from "../ir.ts";
 * const cat = {
 *   name: "c", opType: "Concat", domain: "", inputs: ["a", "b"], outputs: ["y"],
 *   attrs: { axis: intAttr(1) },
 * };
 * GATHER_CONCAT_SHAPE_RULES.Concat(cat, [
 *   { dtype: "float32", shape: ["N", 2] },
 *   { dtype: "float32", shape: ["N", 3] },
 * ], { opset: 17 })[0]?.shape; // ["N", 5]
 * ```
 * @module
 */
import { type Dim, getInt, getInts } from "../ir.ts";
import { normAxis, product } from "./dims.ts";
import { copyShape, dtypeOf, type ShapeRule } from "./rule.ts";

/**
 * Concat-13: the inputs' shapes with their `axis` sizes summed (symbolically as `a+b`; 0
 * when any is 0). Values of 1-D tracked inputs are concatenated.
 */
const concat: ShapeRule = (node, inputs) => {
  const dt = dtypeOf(inputs[0]);
  const shapes = node.inputs.map((_, i) => inputs[i]?.shape);
  if (shapes.some((s) => !s)) return [{ dtype: dt }];
  const r = shapes[0]!.length;
  const axis = normAxis(getInt(node, "axis"), r);
  const out = [...shapes[0]!];
  out[axis] = product(shapes.map((s) => s![axis])) === 0 ? 0 : shapes.reduce<Dim>((acc, s) => {
    const d = s![axis];
    return typeof acc === "number" && typeof d === "number" ? acc + d : `${acc}+${d}`;
  }, 0);
  const vals = node.inputs.map((_, i) => inputs[i]?.value);
  return [{
    dtype: dt,
    shape: out,
    value: r === 1 && vals.every((v) => v) ? vals.flat() as Dim[] : undefined,
  }];
};

/**
 * Split: output i has `split[i]` along `axis`, or an equal share when no sizes are given.
 * Nothing is known about any output while the input's shape is unknown.
 */
const split: ShapeRule = (node, [x, splitIn], { opset }) => {
  const xs = x?.shape, dt = dtypeOf(x);
  if (!xs) return [];
  const axis = normAxis(getInt(node, "axis", 0), xs.length);
  const sizes = (opset >= 13 ? splitIn?.value : getInts(node, "split", [])) as
    | number[]
    | undefined;
  return node.outputs.map((_, i) => {
    const s = [...xs];
    s[axis] = sizes && sizes.length ? sizes[i] : (xs[axis] as number) / node.outputs.length;
    return { dtype: dt, shape: s };
  });
};

/**
 * Gather-13: the data's axes before `axis`, the indices' shape, the data's axes after it.
 * Gathering from a tracked tensor with tracked indices picks the values.
 */
const gather: ShapeRule = (node, [x, indices]) => {
  const xs = x?.shape, idx = indices?.shape, dt = dtypeOf(x);
  if (!xs || !idx) return [{ dtype: dt }];
  const axis = normAxis(getInt(node, "axis", 0), xs.length);
  let value: Dim[] | undefined;
  const iv = indices?.value;
  if (x?.value && iv) value = iv.map((i) => x.value![normAxis(i as number, x.value!.length)]);
  return [{ dtype: dt, shape: [...xs.slice(0, axis), ...idx, ...xs.slice(axis + 1)], value }];
};

/** GatherElements-13: shaped like the indices (input 1). */
const gatherElements: ShapeRule = (_node, [x, indices]) => [
  { dtype: dtypeOf(x), shape: indices?.shape },
];

/** ScatterElements-18 / ScatterND-18: shaped like the data (input 0). */
const scatter: ShapeRule = (_node, [x]) => [{ dtype: dtypeOf(x), shape: copyShape(x) }];

/** Shape rules of the join, split and index ops, by op type. */
export const GATHER_CONCAT_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  Concat: concat,
  Split: split,
  Gather: gather,
  GatherElements: gatherElements,
  ScatterElements: scatter,
  ScatterND: scatter,
};
