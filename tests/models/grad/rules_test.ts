/**
 * Every gradient rule of models/grad/rules/ checked against finite differences of the loss
 * (tolerances argued in fd_harness.ts), with broadcasting, strided, padded, dilated and
 * grouped cases; the loss heads themselves; refusal of ops without a rule; and WebGPU's
 * gradients against native's on a small mixed graph.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  type Attr,
  floatAttr,
  intAttr,
  intsAttr,
  type NodeSpec,
  stringAttr,
} from "../../../models/graph/ir.ts";
import { GradError } from "../../../models/grad/context.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import type { Tensor } from "../../../models/tensor.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { createEngine, type Engine } from "../../../runtime/engine/mod.ts";
import {
  assertGradients,
  buildModel,
  checkGradients,
  f32,
  type GradCase,
  int64,
  makeRng,
  prepareCase,
  rand,
  type RandOptions,
} from "./fd_harness.ts";

// One native engine for the whole file (sessions are released case by case).
let native: Promise<Engine> | undefined;
const engine = () => (native ??= createEngine("native"));

/** Runs each case as a step of `t`, so one failing case does not hide the others. */
async function runCases(t: Deno.TestContext, cases: GradCase[]): Promise<void> {
  for (const c of cases) {
    await t.step(c.name, async () => {
      await assertGradients(await engine(), c);
    });
  }
}

/** A one-node case: `x` (and more) as graph inputs, the rest as weights. */
function op(
  name: string,
  opType: string,
  inputs: Record<string, Tensor>,
  attrs: Record<string, Attr> = {},
  more: Partial<GradCase> & { order?: string[] } = {},
): GradCase {
  const names = more.order ??
    [
      ...Object.keys(inputs),
      ...Object.keys(more.weights ?? {}),
      ...Object.keys(more.constants ?? {}),
    ];
  return {
    name,
    inputs,
    output: "y",
    nodes: [{ opType, inputs: names, outputs: ["y"], attrs }],
    ...more,
  };
}

const rng = makeRng(2024);
const r = (dims: number[], o?: RandOptions) => rand(rng, dims, o);

Deno.test("Conv 2-D: strides, asymmetric pads, dilation, groups, bias, output_padding", async (t) => {
  const conv = (
    name: string,
    xs: number[],
    ws: number[],
    attrs: Record<string, Attr>,
    bias = true,
  ) =>
    op(name, "Conv", { x: r(xs) }, attrs, {
      weights: bias ? { w: r(ws), b: r([ws[0]]) } : { w: r(ws) },
    });
  await runCases(t, [
    conv("stride 1, pads [1,0,2,1]", [2, 2, 7, 7], [3, 2, 3, 3], { pads: intsAttr([1, 0, 2, 1]) }),
    // (7 + 2 - 3) / 2 = 3 exactly; (8 + 2 - 3) / 2 = 3.5 floors: output_padding 1 on both axes.
    conv("stride 2, pads 1, odd input 7", [1, 2, 7, 7], [2, 2, 3, 3], {
      strides: intsAttr([2, 2]),
      pads: intsAttr([1, 1, 1, 1]),
    }),
    conv("stride 2, pads 1, input 8 (output_padding 1)", [1, 2, 8, 8], [2, 2, 3, 3], {
      strides: intsAttr([2, 2]),
      pads: intsAttr([1, 1, 1, 1]),
    }),
    conv("stride [2,3], no pads, input 8x9, kernel 2x3", [2, 1, 8, 9], [2, 1, 2, 3], {
      strides: intsAttr([2, 3]),
    }),
    conv("dilation 2, pads [2,1,0,2]", [1, 2, 9, 9], [2, 2, 3, 3], {
      dilations: intsAttr([2, 2]),
      pads: intsAttr([2, 1, 0, 2]),
    }),
    conv("group 2, stride 2, pads 1", [2, 4, 6, 6], [4, 2, 3, 3], {
      group: intAttr(2),
      strides: intsAttr([2, 2]),
      pads: intsAttr([1, 1, 1, 1]),
    }),
    conv("group 2 (2 out channels each), no bias", [1, 4, 5, 5], [4, 2, 3, 3], {
      group: intAttr(2),
    }, false),
    conv("depthwise group 3, stride 2, dilation 2, pads [0,1,1,0], input 9", [1, 3, 9, 9], [
      3,
      1,
      3,
      3,
    ], {
      group: intAttr(3),
      strides: intsAttr([2, 2]),
      dilations: intsAttr([2, 2]),
      pads: intsAttr([0, 1, 1, 0]),
    }),
    conv("no bias, 1x1 kernel", [2, 3, 4, 4], [2, 3, 1, 1], {}, false),
    // Over 9 taps dW takes the Slice im2col instead of the one-hot Conv columns.
    conv("5x5 kernel (25 taps), stride 2, pads 2, group 2", [2, 4, 9, 9], [2, 2, 5, 5], {
      strides: intsAttr([2, 2]),
      pads: intsAttr([2, 2, 2, 2]),
      group: intAttr(2),
    }),
    {
      ...conv("symbolic batch N", [2, 2, 5, 5], [2, 2, 3, 3], { strides: intsAttr([2, 2]) }),
      batchDim: "N",
    },
  ]);
});

Deno.test("Conv 1-D: stride 2, pads, dilation, groups", async (t) => {
  await runCases(t, [
    op("stride 2, pads [1,0], length 9", "Conv", { x: r([2, 3, 9]) }, {
      strides: intsAttr([2]),
      pads: intsAttr([1, 0]),
    }, {
      weights: { w: r([4, 3, 3]), b: r([4]) },
    }),
    op("dilation 2, group 2, pads [2,1], length 10", "Conv", { x: r([2, 4, 10]) }, {
      dilations: intsAttr([2]),
      group: intAttr(2),
      pads: intsAttr([2, 1]),
    }, { weights: { w: r([2, 2, 3]), b: r([2]) } }),
  ]);
});

Deno.test("MaxPool: non-overlapping, overlapping with pads, dilated, 1-D", async (t) => {
  // Distinct values ≥ 0.0625 apart: no tie moves under the largest perturbation (2⁻⁶).
  const d = (dims: number[]) => r(dims, { distinct: true });
  await runCases(t, [
    op("2x2 s2 on 6x6", "MaxPool", { x: d([1, 2, 6, 6]) }, {
      kernel_shape: intsAttr([2, 2]),
      strides: intsAttr([2, 2]),
    }),
    op("2x2 s2 on 7x7 (last row/col unused)", "MaxPool", { x: d([1, 1, 7, 7]) }, {
      kernel_shape: intsAttr([2, 2]),
      strides: intsAttr([2, 2]),
    }),
    op("3x3 s2 pads 1 (overlapping)", "MaxPool", { x: d([1, 1, 7, 7]) }, {
      kernel_shape: intsAttr([3, 3]),
      strides: intsAttr([2, 2]),
      pads: intsAttr([1, 1, 1, 1]),
    }),
    op("3x2 s1 pads [0,1,1,0]", "MaxPool", { x: d([2, 1, 5, 4]) }, {
      kernel_shape: intsAttr([3, 2]),
      pads: intsAttr([0, 1, 1, 0]),
    }),
    op("2x2 s1 dilation 2", "MaxPool", { x: d([1, 2, 6, 6]) }, {
      kernel_shape: intsAttr([2, 2]),
      dilations: intsAttr([2, 2]),
    }),
    op("1-D k3 s2 pads 1", "MaxPool", { x: d([2, 3, 9]) }, {
      kernel_shape: intsAttr([3]),
      strides: intsAttr([2]),
      pads: intsAttr([1, 1]),
    }),
    op("1-D k2 s2", "MaxPool", { x: d([2, 2, 8]) }, {
      kernel_shape: intsAttr([2]),
      strides: intsAttr([2]),
    }),
    // ceil_mode is accepted only where it adds no window (see the refusal test below).
    op("ceil_mode 1 where it adds no window (7x7, 3x3 s2)", "MaxPool", { x: d([1, 1, 7, 7]) }, {
      kernel_shape: intsAttr([3, 3]),
      strides: intsAttr([2, 2]),
      ceil_mode: intAttr(1),
    }),
  ]);
});

Deno.test("AveragePool and GlobalAveragePool: count_include_pad 0/1, overlapping, 1-D", async (t) => {
  const avg = (name: string, xs: number[], attrs: Record<string, Attr>) =>
    op(name, "AveragePool", { x: r(xs) }, attrs);
  const k3s2p1 = {
    kernel_shape: intsAttr([3, 3]),
    strides: intsAttr([2, 2]),
    pads: intsAttr([1, 1, 1, 1]),
  };
  await runCases(t, [
    avg("2x2 s2 on 6x6", [1, 2, 6, 6], {
      kernel_shape: intsAttr([2, 2]),
      strides: intsAttr([2, 2]),
    }),
    avg("3x3 s2 pads 1, count_include_pad 0", [1, 2, 7, 7], {
      ...k3s2p1,
      count_include_pad: intAttr(0),
    }),
    avg("3x3 s2 pads 1, count_include_pad 1", [1, 2, 7, 7], {
      ...k3s2p1,
      count_include_pad: intAttr(1),
    }),
    avg("3x3 s1 pads [0,1,1,0], count_include_pad 0 (overlapping)", [2, 1, 5, 5], {
      kernel_shape: intsAttr([3, 3]),
      pads: intsAttr([0, 1, 1, 0]),
    }),
    avg("2x3 s[1,2] pads [1,1,1,1], count_include_pad 1", [1, 2, 5, 6], {
      kernel_shape: intsAttr([2, 3]),
      strides: intsAttr([1, 2]),
      pads: intsAttr([1, 1, 1, 1]),
      count_include_pad: intAttr(1),
    }),
    avg("1-D k3 s2 pads 1, count_include_pad 0", [2, 2, 9], {
      kernel_shape: intsAttr([3]),
      strides: intsAttr([2]),
      pads: intsAttr([1, 1]),
    }),
    op("GlobalAveragePool 4x5", "GlobalAveragePool", { x: r([2, 3, 4, 5]) }),
    {
      ...op("GlobalAveragePool 1-D, batch N", "GlobalAveragePool", { x: r([3, 2, 7]) }),
      batchDim: "N",
    },
  ]);
});

Deno.test("element-wise activations (kinks avoided by ≥ 0.05)", async (t) => {
  const away = { away: 0.05 };
  const clip = (name: string, bounds: [number | undefined, number | undefined]) => {
    const constants: Record<string, Tensor> = {};
    const ins = ["x", "", ""];
    if (bounds[0] !== undefined) (constants.lo = f32([], [bounds[0]])), (ins[1] = "lo");
    if (bounds[1] !== undefined) (constants.hi = f32([], [bounds[1]])), (ins[2] = "hi");
    while (ins.at(-1) === "") ins.pop();
    const avoid = bounds.filter((b): b is number => b !== undefined);
    return op(name, "Clip", { x: r([3, 8], { away: 0.05, avoid }) }, {}, { constants, order: ins });
  };
  await runCases(t, [
    op("Relu", "Relu", { x: r([3, 8], away) }),
    op("LeakyRelu alpha 0.2", "LeakyRelu", { x: r([3, 8], away) }, { alpha: floatAttr(0.2) }),
    op("LeakyRelu default alpha", "LeakyRelu", { x: r([3, 8], away) }),
    op("Sigmoid", "Sigmoid", { x: r([3, 8], { lo: -4, hi: 4 }) }),
    op("Tanh", "Tanh", { x: r([3, 8]) }),
    op("Exp", "Exp", { x: r([3, 8]) }),
    op("Log (positive)", "Log", { x: r([3, 8], { lo: 0.25, hi: 3 }) }),
    op("Sqrt (positive)", "Sqrt", { x: r([3, 8], { lo: 0.25, hi: 3 }) }),
    op("Reciprocal", "Reciprocal", { x: r([3, 8], { lo: -3, hi: 3, away: 0.5 }) }),
    op("Softplus", "Softplus", { x: r([3, 8], { lo: -4, hi: 4 }) }),
    op("Neg", "Neg", { x: r([3, 8]) }),
    op("Abs", "Abs", { x: r([3, 8], away) }),
    op("Identity", "Identity", { x: r([3, 8]) }),
    clip("Clip [-0.5, 0.75]", [-0.5, 0.75]),
    clip("Clip min only (0.25)", [0.25, undefined]),
    clip("Clip max only (-0.25)", [undefined, -0.25]),
    clip("Clip without bounds", [undefined, undefined]),
  ]);
});

Deno.test("Gemm: transA/transB, alpha/beta, C broadcast", async (t) => {
  const cases: GradCase[] = [];
  const [M, K, N] = [3, 4, 5];
  for (const ta of [0, 1]) {
    for (const tb of [0, 1]) {
      for (const cs of [[N], [1, N], [1], [M, N], [M, 1]]) {
        cases.push(
          op(`transA ${ta} transB ${tb}, C [${cs}], alpha 0.7 beta 1.3`, "Gemm", {
            a: r(ta ? [K, M] : [M, K]),
          }, {
            transA: intAttr(ta),
            transB: intAttr(tb),
            alpha: floatAttr(0.7),
            beta: floatAttr(1.3),
          }, { weights: { b: r(tb ? [N, K] : [K, N]), c: r(cs) } }),
        );
      }
    }
  }
  cases.push(op("no C, defaults", "Gemm", { a: r([M, K]) }, {}, { weights: { b: r([K, N]) } }));
  cases.push({
    ...op("transB 1, C [N], batch N", "Gemm", { a: r([M, K]) }, { transB: intAttr(1) }, {
      weights: { b: r([N, K]), c: r([N]) },
    }),
    batchDim: "N",
  });
  await runCases(t, cases);
});

Deno.test("MatMul: 2-D, batched, broadcast batch", async (t) => {
  const mm = (name: string, as: number[], bs: number[]) =>
    op(name, "MatMul", { a: r(as) }, {}, { weights: { b: r(bs) } });
  await runCases(t, [
    mm("[3,4]x[4,5]", [3, 4], [4, 5]),
    mm("[2,3,4]x[2,4,5]", [2, 3, 4], [2, 4, 5]),
    mm("[2,3,4]x[4,5] (B broadcast)", [2, 3, 4], [4, 5]),
    mm("[3,4]x[2,4,5] (A broadcast)", [3, 4], [2, 4, 5]),
    mm("[2,1,3,4]x[3,4,2] (both broadcast)", [2, 1, 3, 4], [3, 4, 2]),
    {
      ...op("[N,3,4]x[N,4,2], both inputs", "MatMul", { a: r([2, 3, 4]), b: r([2, 4, 2]) }),
      batchDim: "N",
    },
  ]);
});

Deno.test("Add/Sub/Mul/Div/Sum/Pow with multidirectional broadcasting", async (t) => {
  const cases: GradCase[] = [];
  const shapes = [[4], [3, 1], [1, 3, 1], [2, 1, 4], [2, 3, 4], [1]];
  for (const opType of ["Add", "Sub", "Mul", "Div"]) {
    // Denominators stay ≥ 0.5 from 0 so 1/b is smooth at the scale of h.
    const bOpts: RandOptions = opType === "Div" ? { away: 0.5 } : {};
    for (const bs of shapes) {
      cases.push(
        op(`${opType} [2,3,4] with [${bs}]`, opType, { a: r([2, 3, 4]), b: r(bs, bOpts) }),
      );
    }
    // Broadcast on the left operand as well, and both at once ([3,1] with [2,1,4]).
    cases.push(
      op(`${opType} [3,1] with [2,3,4]`, opType, { a: r([3, 1]), b: r([2, 3, 4], bOpts) }),
    );
    cases.push(
      op(`${opType} [3,1] with [2,1,4]`, opType, { a: r([3, 1]), b: r([2, 1, 4], bOpts) }),
    );
  }
  cases.push(
    op("Mul x·x (one tensor on both inputs)", "Mul", { x: r([2, 5]) }, {}, { order: ["x", "x"] }),
  );
  cases.push(
    op("Div x / w (weight [5])", "Div", { x: r([2, 5]) }, {}, {
      weights: { w: r([5], { away: 0.5 }) },
    }),
  );
  cases.push(op("Sum of [2,3,4], [3,1], [4]", "Sum", { a: r([2, 3, 4]), b: r([3, 1]), c: r([4]) }));
  cases.push(
    op("Pow x^3 (constant exponent)", "Pow", { x: r([2, 5]) }, {}, {
      constants: { p: f32([], [3]) },
    }),
  );
  cases.push(
    op("Pow x^0.5 (positive base)", "Pow", { x: r([2, 5], { lo: 0.25, hi: 3 }) }, {}, {
      constants: { p: f32([], [0.5]) },
    }),
  );
  await runCases(t, cases);
});

Deno.test("shape ops: Reshape, Flatten, Transpose, Concat, Split, Squeeze, Unsqueeze, Expand, Pad, Slice, Cast", async (t) => {
  const x = () => r([2, 3, 4]);
  await runCases(t, [
    op("Reshape [2,3,4] -> [0,-1]", "Reshape", { x: x() }, {}, {
      constants: { s: int64([2], [0, -1]) },
    }),
    op("Reshape [2,3,4] -> [4,6]", "Reshape", { x: x() }, {}, {
      constants: { s: int64([2], [4, 6]) },
    }),
    op("Flatten axis 2", "Flatten", { x: x() }, { axis: intAttr(2) }),
    op("Flatten default axis", "Flatten", { x: r([2, 3, 2, 2]) }),
    op("Transpose perm [2,0,1]", "Transpose", { x: x() }, { perm: intsAttr([2, 0, 1]) }),
    op("Transpose default (reverse)", "Transpose", { x: x() }),
    op("Concat axis 1, sizes 2/3/1", "Concat", { a: r([2, 2, 3]), b: r([2, 3, 3]) }, {
      axis: intAttr(1),
    }, {
      weights: { c: r([2, 1, 3]) },
    }),
    op("Concat axis -1", "Concat", { a: r([2, 2]), b: r([2, 3]) }, { axis: intAttr(-1) }),
    op("Squeeze axes [1]", "Squeeze", { x: r([2, 1, 4]) }, {}, {
      constants: { ax: int64([1], [1]) },
    }),
    op("Squeeze all unit axes", "Squeeze", { x: r([1, 3, 1, 2]) }),
    op("Unsqueeze axes [0,3]", "Unsqueeze", { x: r([3, 4]) }, {}, {
      constants: { ax: int64([2], [0, 3]) },
    }),
    op("Expand [3,1] -> [2,3,4]", "Expand", { x: r([3, 1]) }, {}, {
      constants: { s: int64([3], [2, 3, 4]) },
    }),
    op("Expand [4] -> [3,1] (broadcast both ways)", "Expand", { x: r([4]) }, {}, {
      constants: { s: int64([2], [3, 1]) },
    }),
    op("Pad constant [1,0,2, 0,2,1] value 0.5", "Pad", { x: x() }, {}, {
      constants: { p: int64([6], [1, 0, 2, 0, 2, 1]), v: f32([], [0.5]) },
    }),
    op("Pad with a negative pad (crop)", "Pad", { x: x() }, {}, {
      constants: { p: int64([6], [0, -1, 1, 1, 0, -1]) },
    }),
    op("Slice starts [1,-3] ends [9,3] axes [1,2]", "Slice", { x: x() }, {}, {
      constants: { st: int64([2], [1, -3]), en: int64([2], [9, 3]), ax: int64([2], [1, 2]) },
    }),
    op("Slice without axes, steps 1", "Slice", { x: x() }, {}, {
      constants: {
        st: int64([3], [0, 1, 1]),
        en: int64([3], [1, 3, 4]),
        ax: int64([3], [0, 1, 2]),
        sp: int64([3], [1, 1, 1]),
      },
    }),
    {
      name: "Split [2,6] into 2 and 4, only the second used",
      inputs: { x: r([2, 6]) },
      constants: { sp: int64([2], [2, 4]) },
      nodes: [{
        opType: "Split",
        inputs: ["x", "sp"],
        outputs: ["a", "b"],
        attrs: { axis: intAttr(1) },
      }, {
        opType: "Tanh",
        inputs: ["b"],
        outputs: ["y"],
      }],
      output: "y",
    },
    {
      name: "Split [2,6] in halves, y = a·b",
      inputs: { x: r([2, 6]) },
      nodes: [{
        opType: "Split",
        inputs: ["x"],
        outputs: ["a", "b"],
        attrs: { axis: intAttr(1), num_outputs: intAttr(2) },
      }, {
        opType: "Mul",
        inputs: ["a", "b"],
        outputs: ["y"],
      }],
      output: "y",
      opset: 18,
    },
    {
      name: "Cast float32 -> float64 -> Mul -> float32",
      inputs: { x: r([2, 3]) },
      nodes: [
        { opType: "Cast", inputs: ["x"], outputs: ["x64"], attrs: { to: intAttr(11) } },
        { opType: "Mul", inputs: ["x64", "x64"], outputs: ["sq"] },
        { opType: "Cast", inputs: ["sq"], outputs: ["y"], attrs: { to: intAttr(1) } },
      ],
      output: "y",
    },
  ]);
});

Deno.test("Gather: embedding with repeated and negative indices, axis 1, scalar index", async (t) => {
  await runCases(t, [
    op("table [5,3], indices [4,3] with repeats", "Gather", {}, {}, {
      weights: { table: r([5, 3]) },
      inputs: { idx: int64([4, 3], [0, 2, 2, 4, 0, 1, 2, 2, 2, 3, -1, 0]) },
      order: ["table", "idx"],
    }),
    op("axis 1: data [2,5,3], indices [4] with repeats", "Gather", { data: r([2, 5, 3]) }, {
      axis: intAttr(1),
    }, {
      constants: { idx: int64([4], [1, 3, 1, -5]) },
    }),
    op("axis -1: data [2,3,4], indices [2,2]", "Gather", { data: r([2, 3, 4]) }, {
      axis: intAttr(-1),
    }, {
      constants: { idx: int64([2, 2], [3, 0, 3, 3]) },
    }),
    op("scalar index, axis 0", "Gather", { data: r([4, 3]) }, {}, {
      constants: { idx: int64([], [2]) },
    }),
  ]);
});

Deno.test("ReduceMean and ReduceSum: keepdims 0/1, several axes, opset 17 and 18", async (t) => {
  const cases: GradCase[] = [];
  for (const keep of [0, 1]) {
    for (const axes of [[1], [0, 2], [-1], []]) {
      const tag = `axes [${axes}] keepdims ${keep}`;
      const ax = axes.length ? { ax: int64([axes.length], axes) } : undefined;
      cases.push(
        op(`ReduceSum ${tag}`, "ReduceSum", { x: r([2, 3, 4]) }, { keepdims: intAttr(keep) }, {
          constants: ax,
        }),
      );
      cases.push(op(`ReduceMean (opset 17, attribute) ${tag}`, "ReduceMean", { x: r([2, 3, 4]) }, {
        keepdims: intAttr(keep),
        ...(axes.length ? { axes: intsAttr(axes) } : {}),
      }));
      cases.push(
        op(`ReduceMean (opset 18, input) ${tag}`, "ReduceMean", { x: r([2, 3, 4]) }, {
          keepdims: intAttr(keep),
        }, {
          constants: ax,
          opset: 18,
        }),
      );
    }
  }
  // A reduced axis of symbolic size: the rule divides by |x| / |y| at run time.
  cases.push({
    ...op("ReduceMean over the symbolic batch axis", "ReduceMean", { x: r([3, 4]) }, {
      axes: intsAttr([0]),
      keepdims: intAttr(0),
    }),
    batchDim: "N",
  });
  await runCases(t, cases);
});

Deno.test("Softmax and LogSoftmax along axis 1 and -1", async (t) => {
  const cases: GradCase[] = [];
  for (const opType of ["Softmax", "LogSoftmax"]) {
    for (const axis of [1, -1]) {
      cases.push(
        op(`${opType} axis ${axis}`, opType, { x: r([2, 3, 4]) }, { axis: intAttr(axis) }),
      );
    }
    cases.push(op(`${opType} default axis, 2-D`, opType, { x: r([3, 5]) }));
  }
  await runCases(t, cases);
});

/** Per-channel batch mean and biased variance of an [N, C, ...] tensor, in float64. */
function channelStats(x: Tensor): { mean: number[]; biased: number[]; count: number } {
  const [n, c] = x.dims;
  const inner = x.dims.slice(2).reduce((a, b) => a * b, 1);
  const xs = x.data as Float32Array;
  const mean = new Array(c).fill(0), biased = new Array(c).fill(0);
  const at = (i: number, ch: number, j: number) => xs[(i * c + ch) * inner + j];
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < inner; j++) mean[ch] += at(i, ch, j);
    mean[ch] /= n * inner;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < inner; j++) biased[ch] += (at(i, ch, j) - mean[ch]) ** 2;
    }
    biased[ch] /= n * inner;
  }
  return { mean, biased, count: n * inner };
}

function bnCase(name: string, xs: number[]): GradCase {
  const c = xs[1];
  return {
    name,
    inputs: { x: r(xs) },
    weights: { gamma: r([c], { lo: 0.5, hi: 2 }), beta: r([c]) },
    constants: { mean: r([c]), var: r([c], { lo: 0.5, hi: 2 }) },
    // ONNX momentum weights the running value: PyTorch's momentum 0.1 exports as 0.9.
    nodes: [{
      opType: "BatchNormalization",
      inputs: ["x", "gamma", "beta", "mean", "var"],
      outputs: ["y"],
      attrs: { epsilon: floatAttr(1e-5), momentum: floatAttr(0.9) },
    }],
    output: "y",
  };
}

Deno.test("BatchNormalization (training lowering): gradients by FD on batch statistics", async (t) => {
  await runCases(t, [
    bnCase("BN 2-D [4,3,2,2]", [4, 3, 2, 2]),
    bnCase("BN 1-D [6,2]", [6, 2]),
    bnCase("BN [3,2,5]", [3, 2, 5]),
  ]);
});

Deno.test("BatchNormalization (training lowering): running statistics and outputs as PyTorch", async () => {
  const c = bnCase("BN stats", [4, 3, 2, 2]);
  const p = await prepareCase(await engine(), c);
  try {
    // Running statistics are buffers: fed to every graph, never differentiated.
    deepEqual([...p.segment.buffers.keys()].sort(), ["mean", "var"]);
    deepEqual([...p.segment.params.keys()].sort(), ["beta", "gamma"]);
    ok(!("grad.mean" in p.stepOutputs) && !("grad.var" in p.stepOutputs));
    const x = c.inputs!.x;
    const { mean, biased, count } = channelStats(x);
    const run = (k: string) => Array.from(c.constants![k].data as Float32Array);
    const gamma = Array.from(c.weights!.gamma.data as Float32Array),
      beta = Array.from(c.weights!.beta.data as Float32Array);
    // torch.nn.BatchNorm2d.train(): r ← (1 − 0.1)·r + 0.1·s, with the unbiased batch variance.
    const expectMean = run("mean").map((m, ch) => 0.9 * m + 0.1 * mean[ch]);
    const expectVar = run("var").map((v, ch) => 0.9 * v + 0.1 * biased[ch] * count / (count - 1));
    const close = (got: Tensor | undefined, want: number[], what: string) => {
      ok(got, `${what}: missing`);
      deepEqual(got.dims, [want.length], what);
      want.forEach((w, i) => {
        const g = (got.data as Float32Array)[i];
        ok(
          Math.abs(g - w) <= 1e-5 * Math.max(1, Math.abs(w)),
          `${what}[${i}]: ${g}, expected ${w}`,
        );
      });
    };
    close(p.stepOutputs[p.segment.bufferUpdates.get("mean")!], expectMean, "running mean");
    close(p.stepOutputs[p.segment.bufferUpdates.get("var")!], expectVar, "running var");
    // Training forward: batch statistics, biased variance; inference: running statistics.
    const [n, ch] = x.dims, inner = 4;
    const norm = (m: number[], v: number[]) =>
      Array.from(x.data as Float32Array, (xv, i) => {
        const k = Math.floor(i / inner) % ch;
        return (xv - m[k]) / Math.sqrt(v[k] + 1e-5) * gamma[k] + beta[k];
      });
    close(tensorOf(p.output), norm(mean, biased), "training output");
    const inferSession = await (await engine()).load(writeModel(p.segment.infer));
    const inferred = (await inferSession.run(p.feeds)).y;
    await inferSession.release();
    close(tensorOf(inferred), norm(run("mean"), run("var")), "inference output");
    void n;
  } finally {
    await p.release();
  }
});

/** A tensor viewed flat (for element-wise comparisons). */
function tensorOf(t: Tensor): Tensor {
  return { ...t, dims: [t.data.length] };
}

Deno.test("Dropout (training lowering): ratio 0 is the identity; otherwise gradient = mask of the same run", async (t) => {
  await t.step("ratio 0 by FD", async () => {
    await assertGradients(
      await engine(),
      op("Dropout ratio 0", "Dropout", { x: r([3, 4]) }, {}, { constants: { p: f32([], [0]) } }),
    );
  });
  await t.step("ratio 0.25: mask, scaling, gradient, fresh masks", async () => {
    const x = r([40, 50], { away: 0.05 });
    const c = op("Dropout ratio 0.25", "Dropout", { x }, {}, { constants: { p: f32([], [0.25]) } });
    const p = await prepareCase(await engine(), c);
    try {
      const xs = x.data as Float32Array,
        ys = p.output.data as Float32Array,
        ts = p.target.data as Float32Array;
      const gx = p.grads.get("x")!;
      let kept = 0;
      for (let i = 0; i < xs.length; i++) {
        const keep = ys[i] !== 0;
        kept += keep ? 1 : 0;
        // Inverted dropout: kept values are scaled by 1 / (1 − p).
        const want = keep ? xs[i] / 0.75 : 0;
        ok(Math.abs(ys[i] - want) <= 1e-6 * Math.abs(want), `y[${i}] = ${ys[i]}, expected ${want}`);
        const wantG = keep ? (2 * (ys[i] - ts[i]) / xs.length) / 0.75 : 0;
        ok(
          Math.abs(gx[i] - wantG) <= 1e-5 * Math.abs(wantG) + 1e-12,
          `grad.x[${i}] = ${gx[i]}, expected ${wantG}`,
        );
      }
      // 2000 draws: the kept fraction is 0.75 ± 0.0097 (one σ); allow 4σ.
      ok(Math.abs(kept / xs.length - 0.75) < 0.04, `kept fraction ${kept / xs.length}`);
      // Each step of one session draws a fresh mask.
      const again = await p.step.run({ ...p.feeds, target: p.target }, ["y"]);
      const ys2 = again.y.data as Float32Array;
      ok(
        ys.some((v, i) => (v === 0) !== (ys2[i] === 0)),
        "two steps of one session drew the same dropout mask",
      );
    } finally {
      await p.release();
    }
  });
});

/** Float64 references of the loss heads (PyTorch's definitions, see models/grad/loss.ts). */
function referenceLoss(kind: "bce" | "ce" | "mse", x: Tensor, t: Tensor): number {
  const xs = x.data as Float32Array;
  if (kind === "ce") {
    const [n, c] = x.dims;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(xs.subarray(i * c, (i + 1) * c));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      s += lse - row[Number((t.data as BigInt64Array)[i])];
    }
    return s / n;
  }
  const ts = t.data as Float32Array;
  let s = 0;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    s += kind === "mse"
      ? (v - ts[i]) ** 2
      : Math.max(v, 0) - v * ts[i] + Math.log1p(Math.exp(-Math.abs(v)));
  }
  return s / xs.length;
}

Deno.test("loss heads bce, ce, mse: value against float64 reference, dLoss/dlogits by FD", async (t) => {
  const kinds = [
    { kind: "bce" as const, x: r([4, 3], { lo: -3, hi: 3 }) },
    {
      kind: "bce" as const,
      x: r([6, 1], { lo: -3, hi: 3 }),
      target: f32([6, 1], [0, 1, 1, 0, 1, 0]),
    },
    { kind: "ce" as const, x: r([5, 4], { lo: -3, hi: 3 }) },
    { kind: "mse" as const, x: r([4, 3]) },
  ];
  for (const { kind, x, target } of kinds) {
    await t.step(`${kind} on [${x.dims}]`, async () => {
      const c: GradCase = {
        ...op(`${kind} loss`, "Identity", { x }),
        loss: kind,
        lossFrom: "step",
        target,
      };
      const p = await prepareCase(await engine(), c);
      try {
        const ref = referenceLoss(kind, x, p.target);
        ok(
          Math.abs(p.stepLoss - ref) <= 1e-6 * Math.max(1, Math.abs(ref)),
          `${kind}: loss ${p.stepLoss}, reference ${ref}`,
        );
        const report = await checkGradients(p);
        ok(report.ok, `${kind}:\n  ${report.failures.join("\n  ")}`);
      } finally {
        await p.release();
      }
    });
  }
});

Deno.test("the harness detects a wrong gradient", async () => {
  const p = await prepareCase(
    await engine(),
    op("Gemm for the sanity check", "Gemm", { a: r([3, 4]) }, {}, {
      weights: { b: r([4, 2]), c: r([2]) },
    }),
  );
  try {
    const right = await checkGradients(p);
    ok(right.ok, right.failures.join("\n"));
    // Scaled by 1.1: every direction must fail, not just some.
    const scaled = new Map([...p.grads].map(([k, g]) => [k, g.map((v) => v * 1.1)]));
    const wrong = await checkGradients(p, scaled);
    equal(wrong.ok, false);
    for (const name of p.grads.keys()) {
      ok(
        wrong.records.filter((rec) => rec.tensor === name && rec.what.startsWith("dir")).every((
          rec,
        ) => !rec.ok),
        name,
      );
    }
    // One element of one tensor off by 5 %: exactly that element check fails.
    const a = Float64Array.from(p.grads.get("a")!);
    a[5] *= 1.05;
    const local = await checkGradients(p, new Map([...p.grads, ["a", a]]));
    const failedElements = local.records.filter((rec) => !rec.ok && rec.what.startsWith("["));
    deepEqual(failedElements.map((rec) => `${rec.tensor}${rec.what}`), ["a[5]"]);
    // A gradient that was never computed (all zeros) fails too.
    const zero = await checkGradients(p, new Map([...p.grads, ["b", new Float64Array(8)]]));
    ok(zero.failures.some((f) => f.startsWith("b")), zero.failures.join("\n"));
  } finally {
    await p.release();
  }
});

/** x → Relu → `opType` (node `the_<op>_node`) → Tanh → y. */
function unsupportedCase(
  opType: string,
  attrs: Record<string, Attr>,
  extra: Record<string, Tensor> = {},
): GradCase {
  return {
    name: opType,
    inputs: { x: r([2, 3]), ...extra },
    nodes: [
      { opType: "Relu", inputs: ["x"], outputs: ["h"], name: "first_relu" },
      {
        opType,
        inputs: ["h", ...Object.keys(extra)],
        outputs: ["z"],
        attrs,
        name: `the_${opType.toLowerCase()}_node`,
      },
      { opType: "Tanh", inputs: ["z"], outputs: ["y"] },
    ],
    output: "y",
  };
}

function assertRefused(c: GradCase, opType: string): void {
  throws(() => compileModel(buildModel(c), { loss: "mse", inputGrads: true }), (e: unknown) => {
    ok(e instanceof GradError, `expected a GradError, got ${e}`);
    equal(e.code, "UNSUPPORTED_OP", e.message);
    ok(e.message.includes(opType), e.message);
    ok(e.message.includes(`the_${opType.toLowerCase()}_node`), e.message);
    return true;
  });
}

Deno.test("an op without a rule on the path is refused at compile time, naming op and node", () => {
  // Ops shape inference knows (so the loss head can be built) but no rule covers.
  assertRefused(unsupportedCase("Elu", {}), "Elu");
  assertRefused(unsupportedCase("Max", {}, { x2: r([2, 3]) }), "Max");
  // Off the path (fed by constants only) an op without a rule is fine.
  const off: GradCase = {
    name: "Elu off the path",
    inputs: { x: r([2, 3]) },
    // Named onnx::… so it is a constant, not a parameter (compile.ts's convention).
    constants: { "onnx::k": f32([2, 3], [1, 2, 3, 3, 2, 1]) },
    nodes: [
      { opType: "Elu", inputs: ["onnx::k"], outputs: ["hk"] },
      { opType: "Add", inputs: ["x", "hk"], outputs: ["y"] },
    ],
    output: "y",
  };
  const [seg] = compileModel(buildModel(off), { loss: "mse", inputGrads: true });
  ok(seg.step!.graph.outputs.some((o) => o.name === "grad.x"));
});

Deno.test("an op unknown to shape inference (Hardmax, Einsum) is refused naming op and node", () => {
  // Everything after such an op is shapeless; the refusal must still name the op and its
  // node rather than blame the loss head's shape.
  assertRefused(unsupportedCase("Hardmax", {}), "Hardmax");
  assertRefused(unsupportedCase("Einsum", { equation: stringAttr("ij->ij") }), "Einsum");
});

Deno.test("documented refusals: strided Slice, ceil_mode windows past the input", () => {
  const refused = (c: GradCase, code: string) =>
    throws(() => compileModel(buildModel(c), { loss: "mse", inputGrads: true }), (e: unknown) => {
      ok(e instanceof GradError, `expected a GradError, got ${e}`);
      equal(e.code, code, e.message);
      ok(e.message.includes(`${c.nodes[0].opType}_0`), e.message);
      return true;
    });
  refused(
    op("strided slice", "Slice", { x: r([2, 6]) }, {}, {
      constants: {
        st: int64([1], [0]),
        en: int64([1], [6]),
        ax: int64([1], [1]),
        sp: int64([1], [2]),
      },
    }),
    "UNSUPPORTED_ATTR",
  );
  // 6x6, 3x3 s2, ceil_mode: a third window starts at 4 and hangs one cell past the input.
  refused(
    op("ceil_mode", "MaxPool", { x: r([1, 1, 6, 6]) }, {
      kernel_shape: intsAttr([3, 3]),
      strides: intsAttr([2, 2]),
      ceil_mode: intAttr(1),
    }),
    "UNSUPPORTED_ATTR",
  );
});

/**
 * MaxPool → Conv stride 2 → Flatten → Gemm, plus an embedding (Gather) added to the logits.
 * MaxPool comes first so that its input is the distinct-valued x (no tie can flip under the
 * finite-difference steps; after a Conv, near-ties would make the reference wrong).
 */
function mixedCase(): GradCase {
  const nodes: NodeSpec[] = [
    { opType: "MaxPool", inputs: ["x"], outputs: ["m"], attrs: { kernel_shape: intsAttr([2, 2]) } },
    {
      opType: "Conv",
      inputs: ["m", "w", "bw"],
      outputs: ["c"],
      attrs: { strides: intsAttr([2, 2]), pads: intsAttr([1, 1, 1, 1]) },
    },
    { opType: "Flatten", inputs: ["c"], outputs: ["f"] },
    { opType: "Gemm", inputs: ["f", "g", "bg"], outputs: ["z"], attrs: { transB: intAttr(1) } },
    { opType: "Gather", inputs: ["emb", "idx"], outputs: ["e"] },
    { opType: "Add", inputs: ["z", "e"], outputs: ["y"] },
  ];
  // x [2,1,6,6] → m [2,1,5,5] → c [2,2,3,3] → f [2,18] → y [2,4].
  return {
    name: "mixed maxpool/conv/gemm/gather",
    inputs: { x: r([2, 1, 6, 6], { distinct: true }), idx: int64([2], [3, 1]) },
    weights: { w: r([2, 1, 3, 3]), bw: r([2]), g: r([4, 18]), bg: r([4]), emb: r([5, 4]) },
    nodes,
    output: "y",
  };
}

Deno.test("mixed graph: native gradients pass finite differences", async () => {
  await assertGradients(await engine(), mixedCase());
});

Deno.test({
  name: "webgpu: gradients of the mixed graph agree with native within 1e-4",
  // ort-web's WebGPU device lives for the whole process.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const c = mixedCase();
    const [seg] = compileModel(buildModel(c), { loss: "mse", inputGrads: true });
    const bytes = writeModel(seg.step!);
    const feeds: Record<string, Tensor> = { ...c.inputs };
    for (const [k, v] of seg.params) feeds[k] = v;
    feeds.target = rand(makeRng(5), [2, 4]);
    const nat = await (await (await engine()).load(bytes)).run(feeds);
    const gpu = await (await (await createEngine("webgpu")).load(bytes)).run(feeds);
    const names = Object.keys(nat).filter((k) => k.startsWith("grad."));
    deepEqual(names.sort(), ["grad.bg", "grad.bw", "grad.emb", "grad.g", "grad.w", "grad.x"]);
    for (const k of [...names, "loss", "y"]) {
      const a = gpu[k].data as Float32Array, b = nat[k].data as Float32Array;
      let num = 0, den = 0;
      for (let i = 0; i < b.length; i++) {
        num += (a[i] - b[i]) ** 2;
        den += b[i] ** 2;
      }
      ok(den > 0, `${k}: native gradient is all zeros`);
      ok(
        Math.sqrt(num / den) <= 1e-4,
        `${k}: webgpu vs native relative error ${Math.sqrt(num / den)}`,
      );
    }
  },
});
