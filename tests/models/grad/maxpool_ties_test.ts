import assert from "node:assert/strict";
import { emptyGraph, intsAttr, type Model } from "../../../models/graph/ir.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { tensor } from "../../../models/tensor.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";

// MaxPool's gradient goes to the FIRST maximum of each window in row-major order (PyTorch's
// rule), and MaxPool(Relu(x)) gates it by [x > 0]. Ties are not differentiable, so finite
// differences cannot check them: this compares with a direct reference on data full of ties.
function model(withRelu: boolean): Model {
  const g = emptyGraph("ties");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 2, 6, 6] });
  const pooled = withRelu ? "r" : "x";
  if (withRelu) g.nodes.push({ name: "relu", opType: "Relu", domain: "", inputs: ["x"], outputs: ["r"], attrs: {} });
  g.nodes.push({
    name: "pool",
    opType: "MaxPool",
    domain: "",
    inputs: [pooled],
    outputs: ["y"],
    attrs: { kernel_shape: intsAttr([2, 2]), strides: intsAttr([2, 2]) },
  });
  g.nodes.push({ name: "flat", opType: "Flatten", domain: "", inputs: ["y"], outputs: ["logits"], attrs: {} });
  g.outputs.push({ name: "logits", dtype: "float32", shape: ["N", 18] });
  return { irVersion: 8, opsets: new Map([["", 17]]), producerName: "test", producerVersion: "0", graph: g };
}

/** Reference gradient of mean((pool(f(x)) − t)²) with respect to x. */
function reference(x: Float32Array, t: Float32Array, withRelu: boolean): Float32Array {
  const f = (v: number) => (withRelu ? Math.max(v, 0) : v);
  const out = new Float32Array(x.length);
  const n = x.length / 72;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < 2; c++) {
      for (let oy = 0; oy < 3; oy++) {
        for (let ox = 0; ox < 3; ox++) {
          let best = -1, bestV = -Infinity;
          for (let ky = 0; ky < 2; ky++) {
            for (let kx = 0; kx < 2; kx++) {
              const i = ((b * 2 + c) * 6 + oy * 2 + ky) * 6 + ox * 2 + kx;
              if (f(x[i]) > bestV) (bestV = f(x[i])), (best = i);
            }
          }
          const o = (b * 2 + c) * 9 + oy * 3 + ox;
          const g = (2 * (bestV - t[o])) / t.length;
          out[best] += withRelu && !(x[best] > 0) ? 0 : g;
        }
      }
    }
  }
  return out;
}

Deno.test("MaxPool gradients follow the first-maximum rule on tied data, with and without a Relu before", async () => {
  const engine = await createEngine("native");
  try {
    for (const withRelu of [false, true]) {
      for (let seed = 1; seed <= 3; seed++) {
        const n = 4;
        // Values from {-1, 0, 1, 2}: most windows hold ties, many of zeros.
        const x = Float32Array.from({ length: n * 72 }, (_, i) => ((i * 7919 * seed) % 4) - 1);
        const t = Float32Array.from({ length: n * 18 }, (_, i) => ((i * 31 + seed) % 5) / 4);
        const [segment] = compileModel(model(withRelu), { loss: "mse", inputGrads: true });
        const s = await SegmentRunner.create(engine, segment);
        const step = await s.step({ x: tensor("float32", [n, 2, 6, 6], x) }, tensor("float32", [n, 18], t));
        const got = step.inputGrads.x.data as Float32Array;
        const want = reference(x, t, withRelu);
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `relu=${withRelu} seed=${seed} element ${i}: ${got[i]} vs ${want[i]}`);
        }
        await s.release();
      }
    }
  } finally {
    await engine.dispose();
  }
});
