import assert from "node:assert/strict";
import { buildNoPeekModel, NOPEEK_NAMES } from "../../../models/train/nopeek.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { tensor } from "../../../models/tensor.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { biasCorrectedDcor, distanceCorrelation } from "../../../runtime/privacy/metrics.ts";

// float64 reference with the model's own ε (√(d² + ε)), to compare value and gradient.
function dcorRef(x: Float64Array, z: Float64Array, n: number, eps: number): number {
  const centred = (m: Float64Array) => {
    const d = m.length / n, a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += (m[i * d + k] - m[j * d + k]) ** 2;
        a[i * n + j] = Math.sqrt(s + eps);
      }
    }
    const row = new Float64Array(n), col = new Float64Array(n);
    let all = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        row[i] += a[i * n + j] / n;
        col[j] += a[i * n + j] / n;
        all += a[i * n + j] / (n * n);
      }
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += all - row[i] - col[j];
    return a;
  };
  const A = centred(x), B = centred(z);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < A.length; i++) (ab += A[i] * B[i]), (aa += A[i] * A[i]), (bb += B[i] * B[i]);
  return Math.sqrt((ab / A.length) / Math.sqrt((aa / A.length) * (bb / A.length)));
}

/** Central differences (h = 1e-4) of a float64 reference against the model's float32 gradient. */
function assertGradMatchesFd(g: Float32Array, z64: Float64Array, f: (z: Float64Array) => number): void {
  const h = 1e-4;
  let worst = 0, scale = 0;
  for (let i = 0; i < z64.length; i++) {
    const zp = z64.slice(), zm = z64.slice();
    zp[i] += h;
    zm[i] -= h;
    const fd = (f(zp) - f(zm)) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - g[i]));
    scale = Math.max(scale, Math.abs(fd));
  }
  assert.ok(scale > 1e-3, "the gradient should not vanish");
  assert.ok(worst < 2e-3 * scale + 1e-5, `max |fd − grad| = ${worst} (scale ${scale})`);
}

Deno.test("NoPeek model: dCor matches a float64 reference and d dCor/dZ matches finite differences", async () => {
  const n = 12, eps = 1e-6;
  const rng = new Rng(3);
  const x = Float32Array.from({ length: n * 2 * 3 * 3 }, () => rng.normal());
  // Z depends on X partly, so dCor is neither 0 nor 1.
  const z = Float32Array.from({ length: n * 5 }, (_, i) => 0.5 * x[Math.floor(i / 5) * 18 + (i % 5)] + rng.normal());
  const engine = await createEngine("native");
  try {
    const model = buildNoPeekModel({ xShape: ["N", 2, 3, 3], zShape: ["N", 5], epsilon: eps });
    const s = await engine.load(writeModel(model));
    const out = await s.run({ x: tensor("float32", [n, 2, 3, 3], x), z: tensor("float32", [n, 5], z) });
    const got = Number(out[NOPEEK_NAMES.dcor].data[0]);
    const x64 = Float64Array.from(x), z64 = Float64Array.from(z);
    const ref = dcorRef(x64, z64, n, eps);
    assert.ok(Math.abs(got - ref) < 1e-4, `dcor ${got} vs reference ${ref}`);
    assert.ok(ref > 0.2 && ref < 0.95, `test data should be partly dependent, dCor ${ref}`);
    // ε = 1e-6 moves the value by far less than the metric's own tolerance.
    const exact = distanceCorrelation({ data: x64, rows: n }, { data: z64, rows: n });
    assert.ok(Math.abs(exact - ref) < 1e-3, `metric ${exact} vs ε-reference ${ref}`);
    const g = out[NOPEEK_NAMES.grad].data as Float32Array;
    assert.deepEqual(out[NOPEEK_NAMES.grad].dims, [n, 5]);
    assertGradMatchesFd(g, z64, (zz) => dcorRef(x64, zz, n, eps));
    await s.release();
  } finally {
    await engine.dispose();
  }
});

Deno.test("NoPeek model refuses shapes without a feature axis and a bad epsilon", () => {
  assert.throws(() => buildNoPeekModel({ xShape: ["N"], zShape: ["N", 4] }), RangeError);
  assert.throws(() => buildNoPeekModel({ xShape: ["N", 3], zShape: ["N", 4], epsilon: 0 }), RangeError);
  assert.throws(() => buildNoPeekModel({ xShape: ["N", 3], zShape: ["N", 4], estimator: "w" as "u" }), /estimator must be "v" or "u"/);
});

// float64 reference of the bias-corrected (U-centred) estimator with the model's ε and floor.
function uDcorRef(x: Float64Array, z: Float64Array, n: number, eps: number, floor: number): number {
  const uCentred = (m: Float64Array) => {
    const d = m.length / n, a = new Float64Array(n * n), row = new Float64Array(n);
    let all = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += (m[i * d + k] - m[j * d + k]) ** 2;
        a[i * n + j] = Math.sqrt(s + eps);
        row[i] += a[i * n + j];
        all += a[i * n + j];
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        a[i * n + j] = i === j ? 0 : a[i * n + j] - row[i] / (n - 2) - row[j] / (n - 2) + all / ((n - 1) * (n - 2));
      }
    }
    return a;
  };
  const A = uCentred(x), B = uCentred(z);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < A.length; i++) (ab += A[i] * B[i]), (aa += A[i] * A[i]), (bb += B[i] * B[i]);
  return Math.sqrt(Math.max(ab / Math.sqrt(aa * bb), 0) + floor);
}

Deno.test("NoPeek model, bias-corrected estimator: value matches metrics.ts and d dCor/dZ matches finite differences", async () => {
  const n = 12, eps = 1e-6;
  const rng = new Rng(5);
  const x = Float32Array.from({ length: n * 2 * 3 * 3 }, () => rng.normal());
  const z = Float32Array.from({ length: n * 5 }, (_, i) => 0.7 * x[Math.floor(i / 5) * 18 + (i % 5)] + 0.5 * rng.normal());
  const engine = await createEngine("native");
  try {
    const model = buildNoPeekModel({ xShape: ["N", 2, 3, 3], zShape: ["N", 5], epsilon: eps, estimator: "u" });
    const s = await engine.load(writeModel(model));
    const x64 = Float64Array.from(x), z64 = Float64Array.from(z);
    const out = await s.run({ x: tensor("float32", [n, 2, 3, 3], x), z: tensor("float32", [n, 5], z) });
    const got = Number(out[NOPEEK_NAMES.dcor].data[0]);
    const ref = uDcorRef(x64, z64, n, eps, 1e-4);
    assert.ok(Math.abs(got - ref) < 1e-4, `dcor ${got} vs reference ${ref}`);
    // Up to ε and the floor, it is the audit's bias-corrected dCor, and below the V-statistic.
    const exact = biasCorrectedDcor({ data: x64, rows: n }, { data: z64, rows: n });
    assert.ok(Math.abs(exact - Math.sqrt(ref ** 2 - 1e-4)) < 1e-3, `metric ${exact} vs reference ${ref}`);
    assert.ok(exact > 0.2 && exact < distanceCorrelation({ data: x64, rows: n }, { data: z64, rows: n }));
    const g = out[NOPEEK_NAMES.grad].data as Float32Array;
    assertGradMatchesFd(g, z64, (zz) => uDcorRef(x64, zz, n, eps, 1e-4));
    // A batch of another size runs on the same model (n comes from the batch at run time).
    const m = 7;
    const out2 = await s.run({ x: tensor("float32", [m, 2, 3, 3], x.slice(0, m * 18)), z: tensor("float32", [m, 5], z.slice(0, m * 5)) });
    const ref2 = uDcorRef(x64.slice(0, m * 18), z64.slice(0, m * 5), m, eps, 1e-4);
    assert.ok(Math.abs(Number(out2[NOPEEK_NAMES.dcor].data[0]) - ref2) < 1e-4);
    await s.release();
  } finally {
    await engine.dispose();
  }
});
