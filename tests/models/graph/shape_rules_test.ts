// Per-family shape rules, called alone through the registry. Expected shapes are worked out
// by hand from the ONNX operator spec's formulas, written beside each case.
import * as assert from "node:assert/strict";
import { type Attr, intAttr, intsAttr, type Node, stringAttr } from "../../../models/graph/ir.ts";
import { SHAPE_INFERENCE_RULES } from "../../../models/graph/shape_rules/mod.ts";
import type { TensorFacts } from "../../../models/graph/shape_rules/facts.ts";
import { ShapeError } from "../../../models/graph/infer_shapes.ts";

function apply(
  opType: string,
  inputs: (TensorFacts | undefined)[],
  attrs: Record<string, Attr> = {},
  opts: { opset?: number; outputs?: number } = {},
) {
  const node: Node = {
    name: "n",
    opType,
    domain: "",
    inputs: inputs.map((_, i) => `i${i}`),
    outputs: Array.from({ length: opts.outputs ?? 1 }, (_, i) => `o${i}`),
    attrs,
  };
  return SHAPE_INFERENCE_RULES.get(opType)!(node, inputs, { opset: opts.opset ?? 17 });
}
const f32 = (...shape: (number | string)[]): TensorFacts => ({ dtype: "float32", shape });
const i64 = (...value: (number | string)[]): TensorFacts => ({
  dtype: "int64",
  shape: [value.length],
  value,
});

Deno.test("conv_pool: Conv and MaxPool output ⌊(len + pads − ((k−1)·d + 1)) / s⌋ + 1, ⌈…⌉ with ceil_mode", () => {
  // (32 + 2 + 2 − 5) / 2 = 15.5 → 15 + 1 = 16; channels from the weight's first axis.
  const conv = apply("Conv", [f32("N", 3, 32, 32), f32(8, 3, 5, 5)], {
    pads: intsAttr([2, 2, 2, 2]),
    strides: intsAttr([2, 2]),
  });
  assert.deepEqual(conv, [{ dtype: "float32", shape: ["N", 8, 16, 16] }]);
  // (7 − 2) / 2 = 2.5: floor → 3, ceil → 4; Indices (output 1) int64 of the same shape.
  const k2s2 = { kernel_shape: intsAttr([2, 2]), strides: intsAttr([2, 2]) };
  assert.deepEqual(apply("MaxPool", [f32(1, 4, 7, 7)], k2s2)[0]?.shape, [1, 4, 3, 3]);
  const ceil = apply("MaxPool", [f32(1, 4, 7, 7)], { ...k2s2, ceil_mode: intAttr(1) }, {
    outputs: 2,
  });
  assert.deepEqual(ceil, [
    { dtype: "float32", shape: [1, 4, 4, 4] },
    { dtype: "int64", shape: [1, 4, 4, 4] },
  ]);
  // Dilation 2 makes a 3-tap kernel span 5: (9 − 5) / 1 + 1 = 5.
  const dil = apply("Conv", [f32(1, 1, 9, 9), f32(2, 1, 3, 3)], { dilations: intsAttr([2, 2]) });
  assert.deepEqual(dil[0]?.shape, [1, 2, 5, 5]);
});

Deno.test("conv_pool: SAME auto_pad and a symbolic spatial axis are refused with code SHAPE, naming the node", () => {
  assert.throws(
    () =>
      apply("Conv", [f32("N", 3, 8, 8), f32(4, 3, 3, 3)], { auto_pad: stringAttr("SAME_UPPER") }),
    (e: unknown) =>
      e instanceof ShapeError && e.code === "SHAPE" &&
      e.message ===
        'node "n" (Conv): auto_pad=SAME_UPPER is not supported; export with explicit pads',
  );
  assert.throws(
    () => apply("AveragePool", [f32("N", 3, "H", 8)], { kernel_shape: intsAttr([2, 2]) }),
    (e: unknown) =>
      e instanceof ShapeError && e.code === "SHAPE" &&
      e.message === 'node "n" (AveragePool): spatial dimension 0 must be static',
  );
});

Deno.test("conv_pool: ConvTranspose output s·(len − 1) + output_padding + ((k−1)·d + 1) − pads", () => {
  // 2·(5 − 1) + 1 + 3 − 1 − 1 = 10; channels weight[1]·group = 2·2.
  const out = apply("ConvTranspose", [f32("N", 4, 5, 5), f32(4, 2, 3, 3)], {
    strides: intsAttr([2, 2]),
    pads: intsAttr([1, 1, 1, 1]),
    output_padding: intsAttr([1, 1]),
    group: intAttr(2),
  });
  assert.deepEqual(out[0]?.shape, ["N", 4, 10, 10]);
});

Deno.test("broadcast: shapes broadcast, comparisons are bool, integer values fold (Div truncates)", () => {
  assert.deepEqual(apply("Add", [f32("N", 1, 4), f32(3, 1)])[0]?.shape, ["N", 3, 4]);
  assert.equal(apply("Less", [f32(2), f32(2)])[0]?.dtype, "bool");
  assert.deepEqual(apply("Mul", [i64(2, 3), i64(4)])[0]?.value, [8, 12]);
  assert.deepEqual(apply("Div", [i64(-7, 7), i64(2)])[0]?.value, [-3, 3]);
  // A symbolic value folds as a product (dim_arith.ts); a symbolic sum does not.
  assert.deepEqual(apply("Mul", [i64("N", 3), i64(4)])[0]?.value, ["N*4", 12]);
  assert.equal(apply("Add", [i64("N", 3), i64(4)])[0]?.value, undefined);
  assert.throws(() => apply("Add", [f32(2, 3), f32(4)]), RangeError);
});

Deno.test("gather_concat: Split by sizes (input from opset 13, attribute before) or equal shares", () => {
  const x = f32("N", 6);
  const expect = [{ dtype: "float32", shape: ["N", 2] }, { dtype: "float32", shape: ["N", 4] }];
  assert.deepEqual(apply("Split", [x, i64(2, 4)], { axis: intAttr(1) }, { outputs: 2 }), expect);
  assert.deepEqual(
    apply("Split", [x], { axis: intAttr(1), split: intsAttr([2, 4]) }, { opset: 11, outputs: 2 }),
    expect,
  );
  assert.deepEqual(
    apply("Split", [x], { axis: intAttr(-1) }, { outputs: 3 }).map((o) => o?.shape),
    [
      ["N", 2],
      ["N", 2],
      ["N", 2],
    ],
  );
  assert.deepEqual(apply("Split", [{ dtype: "float32" }], {}, { outputs: 2 }), []);
});

Deno.test("gather_concat: Concat sums the axis and joins values; Gather picks tracked values", () => {
  const cat = apply("Concat", [i64("N", 3), i64(4)], { axis: intAttr(0) });
  assert.deepEqual(cat, [{ dtype: "int64", shape: [3], value: ["N", 3, 4] }]);
  assert.deepEqual(apply("Concat", [f32("N", 2), f32("N", "K")], { axis: intAttr(1) })[0]?.shape, [
    "N",
    "2+K",
  ]);
  // Gather(Shape(x) = [N, 3, 4], indices [-1]) = [4], shaped like the indices.
  assert.deepEqual(apply("Gather", [i64("N", 3, 4), i64(-1)]), [
    { dtype: "int64", shape: [1], value: [4] },
  ]);
});

Deno.test("slice_pad: Slice clamps negative and out-of-range bounds, steps backwards, slices values", () => {
  const INT_MAX = 2 ** 31 - 1;
  // starts −3 → 7, ends INT_MAX → 10: 3 elements.
  assert.deepEqual(apply("Slice", [f32(10, "N"), i64(-3), i64(INT_MAX)])[0]?.shape, [3, "N"]);
  // Step −1 from −1 (9) down past the start (end −INT_MAX clamps to −1): all 10.
  const rev = apply("Slice", [f32(10), i64(-1), i64(-INT_MAX), i64(0), i64(-1)]);
  assert.deepEqual(rev[0]?.shape, [10]);
  // A tracked 1-D tensor's values are sliced: [N, 3, 4][1:] = [3, 4].
  assert.deepEqual(apply("Slice", [i64("N", 3, 4), i64(1), i64(INT_MAX)])[0]?.value, [3, 4]);
  // A symbolic axis sliced whole keeps its name; sliced in part it gets a fresh one.
  assert.deepEqual(apply("Slice", [f32("N", 4), i64(0), i64(INT_MAX)])[0]?.shape, ["N", 4]);
  assert.deepEqual(apply("Slice", [f32("N", 4), i64(1), i64(INT_MAX)])[0]?.shape, ["o0_d0", 4]);
  assert.deepEqual(apply("Pad", [f32("N", 3, 5), i64(0, 1, 2, 0, 1, 0)])[0]?.shape, ["N", 5, 7]);
});

Deno.test("reshape: Unsqueeze, Squeeze and Transpose axes; Reshape's 0 and −1", () => {
  // Negative axes count in the output's rank: 2 + 2 = 4, so −1 is axis 3.
  assert.deepEqual(apply("Unsqueeze", [f32(3, 4), i64(0, -1)])[0]?.shape, [1, 3, 4, 1]);
  assert.deepEqual(
    apply("Unsqueeze", [f32(3, 4)], { axes: intsAttr([1]) }, { opset: 11 })[0]?.shape,
    [3, 1, 4],
  );
  assert.deepEqual(apply("Squeeze", [f32(1, "N", 1, 5)])[0]?.shape, ["N", 5]);
  assert.deepEqual(apply("Transpose", [f32("N", 3, 5)])[0]?.shape, [5, 3, "N"]);
  assert.deepEqual(apply("Reshape", [f32("N", 4, 6), i64(0, -1)])[0]?.shape, ["N", 24]);
  assert.deepEqual(apply("Reshape", [f32(2, 4, 6), i64(-1, 8)])[0]?.shape, [6, 8]);
});

Deno.test("reduce: axes from the input (ReduceSum ≥ 13, others ≥ 18) or the attribute; keepdims", () => {
  const x = f32("N", 4, 8, 8);
  assert.deepEqual(apply("ReduceSum", [x, i64(2, 3)], { keepdims: intAttr(0) })[0]?.shape, [
    "N",
    4,
  ]);
  assert.deepEqual(apply("ReduceMean", [x], { axes: intsAttr([-1]) })[0]?.shape, ["N", 4, 8, 1]);
  assert.deepEqual(apply("ReduceMean", [x, i64(1)], {}, { opset: 18 })[0]?.shape, ["N", 1, 8, 8]);
  // No axes: every axis, unless noop_with_empty_axes.
  assert.deepEqual(apply("ReduceMax", [x], { keepdims: intAttr(0) })[0]?.shape, []);
  assert.deepEqual(
    apply("ReduceMax", [x], { noop_with_empty_axes: intAttr(1) })[0]?.shape,
    ["N", 4, 8, 8],
  );
});

Deno.test("generators and elementwise: Shape slices, Size multiplies, Cast takes `to`, Dropout's mask is bool", () => {
  assert.deepEqual(apply("Shape", [f32("N", 3, 4)], { start: intAttr(1) }), [
    { dtype: "int64", shape: [2], value: [3, 4] },
  ]);
  assert.deepEqual(apply("Size", [f32("N", 3, 4)])[0]?.value, ["N*12"]);
  // TensorProto.DataType 7 is INT64.
  assert.deepEqual(apply("Cast", [i64("N", 3)], { to: intAttr(7) }), [
    { dtype: "int64", shape: [2], value: ["N", 3] },
  ]);
  assert.deepEqual(apply("Dropout", [f32("N", 3)], {}, { outputs: 2 }).map((o) => o?.dtype), [
    "float32",
    "bool",
  ]);
});

Deno.test("elementwise: LayerNormalization's Mean and InvStdDev keep the axes before `axis`; HardSwish keeps the shape", () => {
  const x = f32("N", 5, 8);
  // axis -1 (the default): statistics per (n, l), shape [N, 5, 1]; stash_type 1 is FLOAT.
  assert.deepEqual(apply("LayerNormalization", [x, f32(8), f32(8)], {}, { outputs: 3 }), [
    { dtype: "float32", shape: ["N", 5, 8] },
    { dtype: "float32", shape: ["N", 5, 1] },
    { dtype: "float32", shape: ["N", 5, 1] },
  ]);
  // axis 1: normalized over [5, 8], statistics [N, 1, 1]; stash_type 11 is DOUBLE.
  const ln = apply("LayerNormalization", [x, f32(5, 8)], {
    axis: intAttr(1),
    stash_type: intAttr(11),
  }, { outputs: 2 });
  assert.deepEqual(ln[1], { dtype: "float64", shape: ["N", 1, 1] });
  assert.deepEqual(apply("HardSwish", [x]), [{
    dtype: "float32",
    shape: ["N", 5, 8],
    value: undefined,
  }]);
});

Deno.test("elementwise: QuantizeLinear takes its zero point's type, DequantizeLinear gives float32 (its scale's type from 19)", () => {
  const q = { dtype: "int8" as const, shape: ["N", 4, 2] };
  const scale = f32(4), zp = { dtype: "int8" as const, shape: [4] };
  assert.deepEqual(apply("QuantizeLinear", [f32("N", 4, 2), scale, zp], { axis: intAttr(1) }), [
    { dtype: "int8", shape: ["N", 4, 2], value: undefined },
  ]);
  assert.equal(apply("QuantizeLinear", [f32(3), f32()])[0]?.dtype, "uint8");
  // opset 21 output_dtype 3 is INT8.
  assert.equal(
    apply("QuantizeLinear", [f32(3), f32()], { output_dtype: intAttr(3) }, { opset: 21 })[0]?.dtype,
    "int8",
  );
  assert.deepEqual(apply("DequantizeLinear", [q, scale, zp], { axis: intAttr(1) }), [
    { dtype: "float32", shape: ["N", 4, 2], value: undefined },
  ]);
  const half = { dtype: "float16" as const, shape: [4] };
  assert.equal(apply("DequantizeLinear", [q, half, zp], {}, { opset: 19 })[0]?.dtype, "float16");
});
