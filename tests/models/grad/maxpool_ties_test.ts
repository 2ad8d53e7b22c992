import assert from "node:assert/strict";
import { emptyGraph, intsAttr, type Model } from "../../../models/graph/ir.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { tensor } from "../../../models/tensor.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";

// MaxPool's gradient goes to the FIRST maximum of each window in row-major order (PyTorch's
// rule), and MaxPool(Relu(x)) gates it by [x > 0]. Ties are not differentiable, so finite
// differences cannot check them: this compares with a direct reference on data full of ties,
// for the square-tile path (priorities + Resize) and the general path (chained masks).

/** A pooling geometry: a square H × H input, k × k windows, stride s, pads on every side. */
interface Geom {
  h: number;
  k: number;
  s: number;
  pad: number;
}

const outSize = ({ h, k, s, pad }: Geom) => Math.floor((h + 2 * pad - k) / s) + 1;

function model(withRelu: boolean, geom: Geom): Model {
  const g = emptyGraph("ties");
  const o = outSize(geom);
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 2, geom.h, geom.h] });
  const pooled = withRelu ? "r" : "x";
  if (withRelu) g.nodes.push({ name: "relu", opType: "Relu", domain: "", inputs: ["x"], outputs: ["r"], attrs: {} });
  g.nodes.push({
    name: "pool",
    opType: "MaxPool",
    domain: "",
    inputs: [pooled],
    outputs: ["y"],
    attrs: {
      kernel_shape: intsAttr([geom.k, geom.k]),
      strides: intsAttr([geom.s, geom.s]),
      pads: intsAttr([geom.pad, geom.pad, geom.pad, geom.pad]),
    },
  });
  g.nodes.push({ name: "flat", opType: "Flatten", domain: "", inputs: ["y"], outputs: ["logits"], attrs: {} });
  g.outputs.push({ name: "logits", dtype: "float32", shape: ["N", 2 * o * o] });
  return { irVersion: 8, opsets: new Map([["", 17]]), producerName: "test", producerVersion: "0", graph: g };
}

/** Reference gradient of mean((pool(f(x)) − t)²) with respect to x (padding is −∞). */
function reference(x: Float32Array, t: Float32Array, withRelu: boolean, geom: Geom): Float32Array {
  const { h, k, s, pad } = geom;
  const o = outSize(geom);
  const f = (v: number) => (withRelu ? Math.max(v, 0) : v);
  const out = new Float32Array(x.length);
  const n = x.length / (2 * h * h);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < 2; c++) {
      for (let oy = 0; oy < o; oy++) {
        for (let ox = 0; ox < o; ox++) {
          let best = -1, bestV = -Infinity;
          for (let ky = 0; ky < k; ky++) {
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * s + ky - pad, ix = ox * s + kx - pad;
              if (iy < 0 || ix < 0 || iy >= h || ix >= h) continue;
              const i = ((b * 2 + c) * h + iy) * h + ix;
              if (f(x[i]) > bestV) (bestV = f(x[i])), (best = i);
            }
          }
          const j = ((b * 2 + c) * o + oy) * o + ox;
          const g = (2 * (bestV - t[j])) / t.length;
          out[best] += withRelu && !(x[best] > 0) ? 0 : g;
        }
      }
    }
  }
  return out;
}

const GEOMS: [string, Geom][] = [
  ["2x2 s2 on 6x6", { h: 6, k: 2, s: 2, pad: 0 }],
  ["2x2 s2 on 7x7 (last row and column in no window)", { h: 7, k: 2, s: 2, pad: 0 }],
  ["3x3 s3 on 9x9", { h: 9, k: 3, s: 3, pad: 0 }],
  ["2x2 s2 pads 1 on 6x6", { h: 6, k: 2, s: 2, pad: 1 }],
  ["3x3 s2 pads 1 on 7x7 (overlapping: the general path)", { h: 7, k: 3, s: 2, pad: 1 }],
];

for (const engineName of ["native", "wasm"] as const) {
  Deno.test(`MaxPool gradients follow the first-maximum rule on tied data, with and without a Relu before (${engineName})`, async (tt) => {
    const engine = await createEngine(engineName);
    try {
      for (const [label, geom] of GEOMS) {
        await tt.step(label, async () => {
          const o = outSize(geom);
          for (const withRelu of [false, true]) {
            const [segment] = compileModel(model(withRelu, geom), { loss: "mse", inputGrads: true });
            const s = await SegmentRunner.create(engine, segment);
            for (let seed = 1; seed <= 3; seed++) {
              const n = 4;
              // Values from {-1, 0, 1, 2}: most windows hold ties, many of zeros.
              const x = Float32Array.from({ length: n * 2 * geom.h * geom.h }, (_, i) => ((i * 7919 * seed) % 4) - 1);
              const t = Float32Array.from({ length: n * 2 * o * o }, (_, i) => ((i * 31 + seed) % 5) / 4);
              const step = await s.step(
                { x: tensor("float32", [n, 2, geom.h, geom.h], x) },
                tensor("float32", [n, 2 * o * o], t),
              );
              const got = step.inputGrads.x.data as Float32Array;
              const want = reference(x, t, withRelu, geom);
              for (let i = 0; i < want.length; i++) {
                assert.ok(
                  Math.abs(got[i] - want[i]) < 1e-6,
                  `relu=${withRelu} seed=${seed} element ${i}: ${got[i]} vs ${want[i]}`,
                );
              }
            }
            await s.release();
          }
        });
      }
    } finally {
      await engine.dispose();
    }
  });
}
