/**
 * The gradient rules for transformers and mobile CNNs — LayerNormalization
 * (models/grad/rules/normalization.ts), Erf and so exact GELU, the tanh-approximation GELU
 * pattern (x³ by Mul or Pow, Add, Tanh), HardSigmoid and HardSwish (activation.ts) —
 * checked against finite differences of the loss (tolerances argued in fd_harness.ts) on the
 * native and the wasm engine, with the graphs PyTorch 1.13 exports at opset 17 for nn.GELU, nn.LayerNorm,
 * nn.Hardsigmoid and nn.Hardswish.
 */
import { equal, ok, throws } from "node:assert/strict";
import { type Attr, floatAttr, intAttr } from "../../../models/graph/ir.ts";
import { GradError } from "../../../models/grad/context.ts";
import type { Tensor } from "../../../models/tensor.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { createEngine, type Engine } from "../../../runtime/engine/mod.ts";
import {
  assertGradients,
  buildModel,
  f32,
  type GradCase,
  makeRng,
  rand,
  type RandOptions,
} from "./fd_harness.ts";

const rng = makeRng(1919);
const r = (dims: number[], o?: RandOptions) => rand(rng, dims, o);

/** One-node case: `inputs` as graph inputs, then weights, then constants, in that order. */
function op(
  name: string,
  opType: string,
  inputs: Record<string, Tensor>,
  attrs: Record<string, Attr> = {},
  more: Partial<GradCase> = {},
): GradCase {
  const names = [
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

/** PyTorch 1.13, opset 17, nn.GELU(): y = x·(erf(x / √2) + 1)·0.5. */
function exactGelu(x: Tensor): GradCase {
  return {
    name: "GELU exact (Div, Erf, Add, Mul, Mul)",
    inputs: { x },
    constants: { sqrt2: f32([], [Math.SQRT2]), one: f32([], [1]), half: f32([], [0.5]) },
    nodes: [
      { opType: "Div", inputs: ["x", "sqrt2"], outputs: ["s"] },
      { opType: "Erf", inputs: ["s"], outputs: ["e"] },
      { opType: "Add", inputs: ["e", "one"], outputs: ["e1"] },
      { opType: "Mul", inputs: ["x", "e1"], outputs: ["xe"] },
      { opType: "Mul", inputs: ["xe", "half"], outputs: ["y"] },
    ],
    output: "y",
  };
}

/**
 * nn.GELU(approximate="tanh"): y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). PyTorch 1.13
 * writes x³ as Mul(x, Mul(x, x)) (tests/fixtures/models/token_mixer.onnx); other exporters
 * write Pow(x, 3), so both forms are checked.
 */
function tanhGelu(x: Tensor, cube: "Mul" | "Pow"): GradCase {
  const x3 = cube === "Pow" ? [{ opType: "Pow", inputs: ["x", "three"], outputs: ["x3"] }] : [
    { opType: "Mul", inputs: ["x", "x"], outputs: ["x2"] },
    { opType: "Mul", inputs: ["x", "x2"], outputs: ["x3"] },
  ];
  return {
    name: `GELU tanh approximation, x³ by ${cube} (${cube}, Mul, Add, Tanh)`,
    inputs: { x },
    constants: {
      ...(cube === "Pow" ? { three: f32([], [3]) } : {}),
      k: f32([], [0.044715]),
      c: f32([], [Math.sqrt(2 / Math.PI)]),
      one: f32([], [1]),
      half: f32([], [0.5]),
    },
    nodes: [
      ...x3,
      { opType: "Mul", inputs: ["x3", "k"], outputs: ["kx3"] },
      { opType: "Add", inputs: ["x", "kx3"], outputs: ["inner"] },
      { opType: "Mul", inputs: ["inner", "c"], outputs: ["arg"] },
      { opType: "Tanh", inputs: ["arg"], outputs: ["t"] },
      { opType: "Add", inputs: ["t", "one"], outputs: ["t1"] },
      { opType: "Mul", inputs: ["x", "half"], outputs: ["hx"] },
      { opType: "Mul", inputs: ["hx", "t1"], outputs: ["y"] },
    ],
    output: "y",
  };
}

/** LayerNormalization of `x` over the axes from `axis`, Scale and (optional) B as weights. */
function layerNorm(
  name: string,
  xs: number[],
  axis: number,
  o: { bias?: boolean; epsilon?: number; stats?: boolean; batchDim?: string } = {},
): GradCase {
  const a = axis < 0 ? axis + xs.length : axis;
  const ws = xs.slice(a);
  const weights: Record<string, Tensor> = { scale: r(ws, { lo: 0.5, hi: 2 }) };
  if (o.bias ?? true) weights.bias = r(ws);
  const attrs: Record<string, Attr> = { axis: intAttr(axis) };
  if (o.epsilon !== undefined) attrs.epsilon = floatAttr(o.epsilon);
  return {
    name,
    inputs: { x: r(xs) },
    weights,
    nodes: [{
      opType: "LayerNormalization",
      inputs: ["x", ...Object.keys(weights)],
      // Mean and InvStdDev exported but unused: the rule reads them instead of recomputing.
      outputs: o.stats ? ["y", "mean", "inv_std"] : ["y"],
      attrs,
    }],
    output: "y",
    batchDim: o.batchDim,
  };
}

/**
 * mobilenet_v3's order, HardSwish → Conv → BatchNormalization: lowering BatchNormalization
 * to its training form needs its input's rank, which shape inference carries through
 * HardSwish (without its shape rule: "BatchNormalization: input rank unknown").
 */
function hardSwishThenBatchNorm(): GradCase {
  return {
    name: "HardSwish between Conv and BatchNormalization (mobilenet_v3)",
    inputs: { x: r([2, 2, 4, 4], { lo: -5, hi: 5, away: 0.05, avoid: [-3, 3] }) },
    weights: { w: r([3, 2, 1, 1]), gamma: r([3], { lo: 0.5, hi: 2 }), beta: r([3]) },
    constants: { mean: r([3]), var: r([3], { lo: 0.5, hi: 2 }) },
    nodes: [
      { opType: "HardSwish", inputs: ["x"], outputs: ["h"] },
      { opType: "Conv", inputs: ["h", "w"], outputs: ["c"] },
      {
        opType: "BatchNormalization",
        inputs: ["c", "gamma", "beta", "mean", "var"],
        outputs: ["y"],
        attrs: { epsilon: floatAttr(1e-5), momentum: floatAttr(0.9) },
      },
    ],
    output: "y",
  };
}

function cases(): GradCase[] {
  // HardSigmoid's kinks are where α·x + β is 0 or 1; HardSwish's at x = ±3 (PyTorch's).
  const hs = (alpha: number, beta: number) => [-beta / alpha, (1 - beta) / alpha];
  return [
    op("Erf", "Erf", { x: r([3, 8], { lo: -2.5, hi: 2.5 }) }),
    exactGelu(r([3, 8], { lo: -4, hi: 4 })),
    tanhGelu(r([3, 8], { lo: -4, hi: 4 }), "Mul"),
    tanhGelu(r([3, 8], { lo: -4, hi: 4 }), "Pow"),
    op("HardSigmoid default α 0.2, β 0.5", "HardSigmoid", {
      x: r([4, 8], { lo: -4, hi: 4, away: 0.05, avoid: hs(0.2, 0.5) }),
    }),
    // nn.Hardsigmoid exports α = 1/6, β = 0.5.
    op("HardSigmoid α 1/6 (PyTorch)", "HardSigmoid", {
      x: r([4, 8], { lo: -5, hi: 5, away: 0.05, avoid: hs(1 / 6, 0.5) }),
    }, { alpha: floatAttr(1 / 6) }),
    op("HardSwish", "HardSwish", { x: r([4, 8], { lo: -5, hi: 5, away: 0.05, avoid: [-3, 3] }) }),
    hardSwishThenBatchNorm(),
    layerNorm("LayerNormalization axis -1, [2,3,4]", [2, 3, 4], -1),
    layerNorm("LayerNormalization axis 1 (over [3,4]), epsilon 1e-3", [2, 3, 4], 1, {
      epsilon: 1e-3,
    }),
    layerNorm("LayerNormalization without B", [3, 5], -1, { bias: false }),
    // ε of the order of the variance, so a rule that ignored or misread it would fail.
    layerNorm("LayerNormalization epsilon 0.5", [3, 5], -1, { epsilon: 0.5 }),
    layerNorm("LayerNormalization reading its Mean and InvStdDev outputs", [2, 3, 4], -1, {
      stats: true,
    }),
    layerNorm("LayerNormalization, symbolic batch N", [3, 2, 6], 2, { batchDim: "N" }),
  ];
}

for (const engineName of ["native", "wasm"] as const) {
  Deno.test(`LayerNormalization, Erf/GELU, HardSigmoid, HardSwish gradients by FD (${engineName})`, async (t) => {
    const engine: Engine = await createEngine(engineName);
    try {
      for (const c of cases()) {
        await t.step(c.name, async () => {
          await assertGradients(engine, c);
        });
      }
    } finally {
      await engine.dispose();
    }
  });
}

Deno.test("LayerNormalization: a gradient through the Mean or InvStdDev output is refused, naming the node", () => {
  const c = layerNorm("LN stats used", [2, 4], -1, { stats: true });
  c.nodes.push({ opType: "Add", inputs: ["y", "inv_std"], outputs: ["z"] });
  c.output = "z";
  throws(() => compileModel(buildModel(c), { loss: "mse", inputGrads: true }), (e: unknown) => {
    ok(e instanceof GradError, `expected a GradError, got ${e}`);
    equal(e.code, "UNSUPPORTED_ATTR", e.message);
    ok(e.message.includes("LayerNormalization_0"), e.message);
    ok(e.message.includes("InvStdDev"), e.message);
    return true;
  });
});
