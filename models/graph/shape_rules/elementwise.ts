/**
 * Shape rules of the ops whose output has the shape of their first input: activations,
 * unary arithmetic and rounding, casts, linear (de)quantisation, Dropout, BatchNormalization and
 * LayerNormalization
 * (ONNX operator spec, https://onnx.ai/onnx/operators/). Identity and the casts also carry the tracked integer
 * values through, so shape arithmetic survives them.
 *
 * @example
 * ```ts
 * import { ELEMENTWISE_SHAPE_RULES } from "./elementwise.ts";
 * const relu = { name: "r", opType: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attrs: {} };
 * ELEMENTWISE_SHAPE_RULES.Relu(relu, [{ dtype: "float32", shape: ["N", 3] }], { opset: 17 });
 * // [{ dtype: "float32", shape: ["N", 3], value: undefined }]
 * ```
 * @module
 */
import { DTYPE_OF_ONNX_CODE } from "../../dtypes.ts";
import { type Dim, getInt } from "../ir.ts";
import { normAxis } from "./dims.ts";
import { copyShape, dtypeOf, type ShapeRule } from "./rule.ts";

/** Same dtype and shape as the input; no tracked values. */
const sameShape: ShapeRule = (_node, [x]) => [
  { dtype: dtypeOf(x), shape: copyShape(x), value: undefined },
];

/** Identity: same dtype, shape and tracked values. */
const identity: ShapeRule = (_node, [x]) => [
  { dtype: dtypeOf(x), shape: copyShape(x), value: x?.value },
];

/** Dropout-13: the output, and the optional boolean mask, shaped like the input. */
const dropout: ShapeRule = (_node, [x]) => [
  { dtype: dtypeOf(x), shape: copyShape(x) },
  { dtype: "bool", shape: copyShape(x) },
];

// `to` / `dtype` is an ONNX TensorProto.DataType code (dtypes.ts); a code without a
// splitgate dtype (STRING, UINT64, BFLOAT16, ...) is taken as float32.
const dtypeOfCode = (code: number) => DTYPE_OF_ONNX_CODE.get(code) ?? "float32";

/** Cast-13: the `to` type; values pass through. */
const cast: ShapeRule = (node, [x]) => [
  { dtype: dtypeOfCode(getInt(node, "to")), shape: copyShape(x), value: x?.value },
];

/**
 * EyeLike-9: a 2-D identity of the input's shape, of the `dtype` attribute's type if given,
 * else the input's.
 */
const eyeLike: ShapeRule = (node, [x]) => {
  if (!node.attrs.dtype) return [{ dtype: dtypeOf(x), shape: copyShape(x) }];
  return [{ dtype: dtypeOfCode(getInt(node, "dtype")), shape: copyShape(x), value: undefined }];
};

/** CastLike-15: the type of the second input; values pass through. */
const castLike: ShapeRule = (_node, [x, like]) => [
  { dtype: like?.dtype ?? dtypeOf(x), shape: copyShape(x), value: x?.value },
];

/**
 * QuantizeLinear-13: y shaped like x, of the zero point's type (input 2), uint8 without one;
 * from opset 21 an `output_dtype` attribute, when set, names it.
 */
const quantizeLinear: ShapeRule = (node, [x, , zeroPoint]) => {
  const code = getInt(node, "output_dtype", 0);
  const dtype = code !== 0 ? dtypeOfCode(code) : zeroPoint?.dtype ?? "uint8";
  return [{ dtype, shape: copyShape(x), value: undefined }];
};

/**
 * DequantizeLinear-13: y shaped like x, float32; from opset 19 of the scale's type (input 1).
 * Without this rule an unknown op takes its first input's type, int8, and a graph cut at a
 * dequantised tensor (partition.ts) would declare the float tensor int8.
 */
const dequantizeLinear: ShapeRule = (_node, [x, scale], ctx) => [
  {
    dtype: ctx.opset >= 19 ? scale?.dtype ?? "float32" : "float32",
    shape: copyShape(x),
    value: undefined,
  },
];

/**
 * BatchNormalization-15: Y shaped like X; the optional running mean and variance outputs
 * shaped like input 3 (the mean).
 */
const batchNormalization: ShapeRule = (node, inputs) => {
  const dt = dtypeOf(inputs[0]);
  const out = [{ dtype: dt, shape: copyShape(inputs[0]) }];
  for (let i = 1; i < node.outputs.length; i++) out.push({ dtype: dt, shape: inputs[3]?.shape });
  return out;
};

/**
 * LayerNormalization-17: Y shaped like X; the optional Mean and InvStdDev outputs shaped like
 * X with every axis from `axis` (default -1) on set to 1, of the `stash_type` type (default
 * 1, FLOAT).
 */
const layerNormalization: ShapeRule = (node, [x]) => {
  const xs = x?.shape;
  let stats: Dim[] | undefined;
  if (xs) {
    const axis = normAxis(getInt(node, "axis", -1), xs.length);
    stats = xs.map((d, i) => (i < axis ? d : 1));
  }
  const stash = dtypeOfCode(getInt(node, "stash_type", 1));
  const out = [{ dtype: dtypeOf(x), shape: copyShape(x) }];
  for (let i = 1; i < node.outputs.length; i++) {
    out.push({ dtype: stash, shape: stats && [...stats] });
  }
  return out;
};

const SAME_SHAPE_OPS = [
  "Relu",
  "LeakyRelu",
  "Sigmoid",
  "Tanh",
  "Exp",
  "Log",
  "Neg",
  "Sqrt",
  "Abs",
  "Reciprocal",
  "Softmax",
  "LogSoftmax",
  "Erf",
  "Clip",
  "Elu",
  "Softplus",
  "HardSigmoid",
  "HardSwish",
  "Sign",
  "Floor",
  "Ceil",
  "Round",
  "Not",
  "RandomUniformLike",
] as const;

/** Shape rules of the ops shaped like their first input, by op type. */
export const ELEMENTWISE_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  ...Object.fromEntries(SAME_SHAPE_OPS.map((op) => [op, sameShape])),
  Identity: identity,
  Dropout: dropout,
  Cast: cast,
  EyeLike: eyeLike,
  CastLike: castLike,
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
};
