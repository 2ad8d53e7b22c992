/**
 * Shape rules of the ops whose output is made from attributes or from another tensor's
 * shape rather than from an input's elements: Shape-15, Size-13, Constant-13,
 * ConstantOfShape-9, Range-11 and OneHot-11 (ONNX operator spec). Shape, Size, integer
 * Constants, small ConstantOfShape and Range outputs start the tracked values that Reshape's
 * and Expand's target shapes are computed from.
 *
 * @example
 * ```ts
 * import { GENERATOR_SHAPE_RULES } from "./generators.ts";
 * const shape = { name: "s", opType: "Shape", domain: "", inputs: ["x"], outputs: ["y"], attrs: {} };
 * GENERATOR_SHAPE_RULES.Shape(shape, [{ dtype: "float32", shape: ["N", 3] }], { opset: 17 });
 * // [{ dtype: "int64", shape: [2], value: ["N", 3] }]
 * ```
 * @module
 */
import { type Dim, getInt, getInts } from "../ir.ts";
import { product } from "./dims.ts";
import { floatValues, tensorValue } from "./facts.ts";
import { dtypeOf, type OutputFacts, type ShapeRule } from "./rule.ts";

/** Shape-15: the input's dimensions from `start` to `end`, as tracked values. */
const shape: ShapeRule = (node, [x]) => {
  const xs = x?.shape;
  const start = getInt(node, "start", 0),
    end = node.attrs.end ? getInt(node, "end") : undefined;
  const v = xs?.slice(start, end);
  return [{ dtype: "int64", shape: [v ? v.length : (xs?.length ?? "r")], value: v }];
};

/** Size-13: a scalar, the product of the input's dimensions. */
const size: ShapeRule = (_node, [x]) => [
  { dtype: "int64", shape: [], value: x?.shape ? [product(x.shape)] : undefined },
];

/**
 * Constant-13: from whichever `value*` attribute is set; tensors and integers are tracked.
 * A Constant with none of them (`sparse_value`, `value_string`…) stays unknown.
 */
const constant: ShapeRule = (node): OutputFacts => {
  const a = node.attrs.value;
  if (a?.type === "tensor") {
    return [{
      dtype: a.value.dtype,
      shape: [...a.value.dims],
      value: tensorValue(a.value),
      floats: floatValues(a.value),
    }];
  }
  if (node.attrs.value_int) {
    return [{ dtype: "int64", shape: [], value: [getInt(node, "value_int")] }];
  }
  if (node.attrs.value_ints) {
    const v = getInts(node, "value_ints");
    return [{ dtype: "int64", shape: [v.length], value: v }];
  }
  if (node.attrs.value_float) return [{ dtype: "float32", shape: [] }];
  if (node.attrs.value_floats) {
    return [{ dtype: "float32", shape: [(node.attrs.value_floats.value as number[]).length] }];
  }
  return [];
};

/**
 * ConstantOfShape-9: the tracked shape (input 0), of the `value` tensor's type (float32).
 * A small integer result of a static length is tracked too (PyTorch's `expand` writes
 * `ConstantOfShape([3]) = 1` and compares the target shape with it).
 */
const constantOfShape: ShapeRule = (node, [x]) => {
  const v = x?.value;
  const a = node.attrs.value;
  const fill = a?.type === "tensor" ? tensorValue(a.value)?.[0] : undefined;
  const n = v?.length === 1 ? v[0] : undefined;
  const value = fill !== undefined && typeof n === "number" && n <= 64
    ? Array.from({ length: n }, () => fill)
    : undefined;
  return [{ dtype: a?.type === "tensor" ? a.value.dtype : "float32", shape: v && [...v], value }];
};

/**
 * Range-11: 1-D of ⌈(limit − start) / delta⌉ elements (spec), clamped at 0. Known when the
 * three scalars are static, or when start is 0 and delta 1 (`arange(n)` of a symbolic n);
 * otherwise a length named after the output. Small static ranges track their values.
 */
const range: ShapeRule = (node, [start, limit, delta]) => {
  const s = start?.value?.[0], l = limit?.value?.[0], d = delta?.value?.[0];
  let len: Dim = `${node.outputs[0]}_d0`;
  let value: Dim[] | undefined;
  if (typeof s === "number" && typeof l === "number" && typeof d === "number" && d !== 0) {
    len = Math.max(Math.ceil((l - s) / d), 0);
    if (len <= 64) value = Array.from({ length: len }, (_, i) => s + i * d);
  } else if (s === 0 && d === 1 && l !== undefined) len = l;
  return [{ dtype: dtypeOf(start), shape: [len], value }];
};

/** OneHot-11: the indices' shape plus a last axis of the tracked `depth`; the values' type. */
const oneHot: ShapeRule = (_node, [indices, depthIn, values]) => {
  const depth = depthIn?.value, idx = indices?.shape;
  return [{
    dtype: values?.dtype ?? "float32",
    shape: idx && depth ? [...idx, depth[0]] : undefined,
  }];
};

/** Shape rules of the generator ops, by op type. */
export const GENERATOR_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  Shape: shape,
  Size: size,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Range: range,
  OneHot: oneHot,
};
