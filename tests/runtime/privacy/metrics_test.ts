import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "../../../runtime/data/rng.ts";
import {
  biasCorrectedDcor,
  directionScores,
  distanceCorrelation,
  leakAuc,
  mse,
  normLeakAuc,
  psnr,
  rowNorms,
  ssim,
} from "../../../runtime/privacy/metrics.ts";

Deno.test("dCor of independent data is near 0 and of linearly related data is 1", () => {
  const rng = new Rng(11);
  const n = 1500;
  const x = Float64Array.from({ length: n * 2 }, () => rng.normal());
  const y = Float64Array.from({ length: n * 2 }, () => rng.normal());
  const indep = distanceCorrelation({ data: x, rows: n }, { data: y, rows: n }, { maxRows: n });
  assert.ok(indep < 0.1, `independent dCor ${indep}`);
  // Z = 3X + 1 (a similarity transform): dCor = 1 exactly.
  const z = x.map((v) => 3 * v + 1);
  assert.ok(Math.abs(distanceCorrelation({ data: x, rows: n }, { data: z, rows: n }) - 1) < 1e-9);
  assert.ok(Math.abs(distanceCorrelation({ data: x, rows: n }, { data: x, rows: n }) - 1) < 1e-9);
  // A non-linear dependence is caught (Pearson correlation of x and x² is 0).
  const x1 = Float64Array.from({ length: 400 }, () => rng.normal());
  const sq = x1.map((v) => v * v);
  const dep = distanceCorrelation({ data: x1, rows: 400 }, { data: sq, rows: 400 });
  assert.ok(dep > 0.3, `dCor(x, x²) ${dep}`);
});

Deno.test("dCor subsamples with its seed and refuses mismatched rows", () => {
  const rng = new Rng(2);
  const x = Float64Array.from({ length: 900 }, () => rng.normal());
  const z = x.map((v) => v + rng.normal());
  const a = distanceCorrelation({ data: x, rows: 900 }, { data: z, rows: 900 }, { maxRows: 200, seed: 5 });
  const b = distanceCorrelation({ data: x, rows: 900 }, { data: z, rows: 900 }, { maxRows: 200, seed: 5 });
  const c = distanceCorrelation({ data: x, rows: 900 }, { data: z, rows: 900 }, { maxRows: 200, seed: 6 });
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.throws(() => distanceCorrelation({ data: x, rows: 900 }, { data: z.subarray(0, 10), rows: 10 }), RangeError);
});

Deno.test("dCor is invariant to scale and translation, and within [0, 1] (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -100, max: 100 }).map((v) => v / 10), { minLength: 8, maxLength: 30 })
        .filter((xs) => new Set(xs).size > 1),
      fc.double({ min: 0.1, max: 50, noNaN: true }),
      fc.double({ min: -5, max: 5, noNaN: true }),
      (xs, scale, shift) => {
        const n = xs.length;
        const zs = xs.map((v, i) => Math.sin(v) + (i % 3));
        const d1 = distanceCorrelation({ data: xs, rows: n }, { data: zs, rows: n });
        const d2 = distanceCorrelation({ data: xs.map((v) => v * scale + shift), rows: n }, { data: zs, rows: n });
        return d1 >= 0 && d1 <= 1 + 1e-9 && Math.abs(d1 - d2) < 1e-6;
      },
    ),
    { numRuns: 50 },
  );
});

function image(seed: number): Float64Array {
  const rng = new Rng(seed);
  const img = new Float64Array(28 * 28);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) img[y * 28 + x] = 0.5 + 0.3 * Math.sin(x / 4) * Math.cos(y / 5) + 0.05 * rng.float();
  return img;
}

Deno.test("SSIM of an image with itself is 1 and falls as noise grows", () => {
  const img = image(1);
  assert.ok(Math.abs(ssim(img, img, 28, 28) - 1) < 1e-12);
  const rng = new Rng(4);
  let prev = 1;
  for (const sd of [0.02, 0.1, 0.3]) {
    const noisy = img.map((v) => v + sd * rng.normal());
    const s = ssim(img, noisy, 28, 28);
    assert.ok(s < prev, `SSIM ${s} at noise ${sd} should be below ${prev}`);
    prev = s;
  }
  assert.ok(prev < 0.3, `SSIM under heavy noise ${prev}`);
  // Symmetric, and a uniform brightness shift costs less than structure loss.
  const noisy = img.map((v) => v + 0.1 * rng.normal());
  assert.ok(Math.abs(ssim(img, noisy, 28, 28) - ssim(noisy, img, 28, 28)) < 1e-12);
  assert.throws(() => ssim(img, img, 5, 5), RangeError);
});

Deno.test("MSE and PSNR on known values", () => {
  assert.equal(mse([0, 0, 0, 0], [1, 1, 0, 0]), 0.5);
  // MSE 0.01 at range 1 is 20 dB; at range 255 with MSE 65.025 it is 30 dB.
  assert.ok(Math.abs(psnr([0, 0], [0.1, 0.1]) - 20) < 1e-9);
  assert.ok(Math.abs(psnr([0], [Math.sqrt(65.025)], 255) - 30) < 1e-9);
  assert.equal(psnr([0.3], [0.3]), Infinity);
  assert.throws(() => mse([1], [1, 2]), RangeError);
});

Deno.test("leak AUC: a perfectly leaking score gives 1, its mirror 0, a shuffled score about 0.5", () => {
  const rng = new Rng(8);
  const n = 4000;
  const labels = Array.from({ length: n }, () => (rng.float() < 0.3 ? 1 : 0));
  // Gradients whose norm is 2 for positives and 1 for negatives: the norm attack is perfect.
  const g = new Float64Array(n * 3);
  labels.forEach((y, i) => {
    const r = [rng.normal(), rng.normal(), rng.normal()];
    const norm = Math.hypot(...r), target = y ? 2 : 1;
    for (let k = 0; k < 3; k++) g[i * 3 + k] = (r[k] / norm) * target;
  });
  assert.equal(normLeakAuc({ data: g, rows: n }, labels), 1);
  assert.equal(normLeakAuc({ data: g, rows: n }, labels.map((y) => 1 - y)), 0);
  const shuffled = rng.shuffle([...labels]);
  const auc = normLeakAuc({ data: g, rows: n }, shuffled);
  assert.ok(Math.abs(auc - 0.5) < 0.04, `shuffled AUC ${auc}`);
  // Equal norms (what norm equalisation produces) tie every score: exactly 0.5.
  const flat = new Float64Array(n * 3).fill(1);
  assert.equal(normLeakAuc({ data: flat, rows: n }, labels), 0.5);
});

Deno.test("direction attack: opposite gradient directions per class give AUC 1", () => {
  const rng = new Rng(9);
  const n = 64, d = 5;
  const w = Array.from({ length: d }, () => rng.normal());
  const labels = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  // Binary logit gradients: (σ − y)·w, negative multiples of w for positives.
  const g = new Float64Array(n * d);
  labels.forEach((y, i) => {
    const c = y ? -(0.1 + rng.float()) : 0.1 + rng.float();
    for (let k = 0; k < d; k++) g[i * d + k] = c * w[k];
  });
  const known = labels.indexOf(1);
  const s = directionScores({ data: g, rows: n }, known);
  assert.ok(Number.isNaN(s[known]));
  assert.equal(leakAuc(s, labels), 1);
  const norms = rowNorms({ data: [3, 4], rows: 1 });
  assert.equal(norms[0], 5);
  assert.throws(() => directionScores({ data: g, rows: n }, n), RangeError);
});

Deno.test("bias-corrected dCor: near 0 for independent high-dimensional data where the V-statistic is not; 1 for linear", () => {
  const rng = new Rng(12);
  const n = 300;
  const x = Float64Array.from({ length: n * 200 }, () => rng.float());
  const z = Float64Array.from({ length: n * 400 }, () => rng.normal());
  const v = distanceCorrelation({ data: x, rows: n }, { data: z, rows: n });
  const u = biasCorrectedDcor({ data: x, rows: n }, { data: z, rows: n });
  assert.ok(v > 0.3, `the V-statistic's high-dimensional floor: ${v}`);
  assert.ok(u < 0.15, `bias-corrected ${u}`);
  const lin = x.map((t) => 2 - 5 * t);
  assert.ok(Math.abs(biasCorrectedDcor({ data: x, rows: n }, { data: lin, rows: n }) - 1) < 1e-9);
  // Dependence survives the correction: Z = X + noise.
  const dep = x.map((t) => t + 0.3 * rng.normal());
  assert.ok(biasCorrectedDcor({ data: x, rows: n }, { data: dep, rows: n }) > 0.5);
  assert.throws(() => biasCorrectedDcor({ data: [1, 2, 3], rows: 3 }, { data: [1, 2, 3], rows: 3 }), RangeError);
});
