import assert from "node:assert/strict";
import fc from "fast-check";
import { tensor } from "../../../models/tensor.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { clipAndNoise } from "../../../runtime/privacy/noise_defence.ts";
import { equaliseNorms, protectCutGradient } from "../../../runtime/privacy/label_protection.ts";
import { describeDefence, parseDefenceConfig } from "../../../runtime/privacy/defence_config.ts";
import { normLeakAuc, rowNorms } from "../../../runtime/privacy/metrics.ts";
import { applyInputNorm } from "../../../runtime/privacy/input_norm.ts";
import { zooModel } from "../../../models/zoo/mod.ts";

Deno.test("noise defence clips every sample to the clip norm, keeps small ones, and noises with std σ·C", () => {
  const rng = new Rng(1);
  const n = 50, d = 40;
  const z = tensor("float32", [n, d], Float32Array.from({ length: n * d }, (_, i) => (i < 10 * d ? 0.01 : 3) * rng.normal()));
  const clipped = clipAndNoise(z, { clip: 2, sigma: 0 }, new Rng(2));
  const norms = rowNorms({ data: clipped.data, rows: n });
  const before = rowNorms({ data: z.data as Float32Array, rows: n });
  for (let i = 0; i < n; i++) {
    if (before[i] > 2) assert.ok(Math.abs(norms[i] - 2) < 1e-5, `row ${i}: ${norms[i]}`);
    else assert.ok(Math.abs(norms[i] - before[i]) < 1e-6, `row ${i} under the clip changed`);
  }
  // Noise: residual std ≈ σ·C.
  const big = tensor("float32", [200, 500]);
  const noisy = clipAndNoise(big, { clip: 4, sigma: 0.25 }, new Rng(3)).data as Float32Array;
  const sd = Math.sqrt(noisy.reduce((s, v) => s + v * v, 0) / noisy.length);
  assert.ok(Math.abs(sd - 1) < 0.02, `noise std ${sd}, expected 1`);
  // Seeded: the same seed gives the same noise, another seed another.
  const a = clipAndNoise(z, { clip: 2, sigma: 0.1 }, new Rng(7)).data;
  const b = clipAndNoise(z, { clip: 2, sigma: 0.1 }, new Rng(7)).data;
  const c = clipAndNoise(z, { clip: 2, sigma: 0.1 }, new Rng(8)).data;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.throws(() => clipAndNoise(z, { clip: 0, sigma: 1 }, rng), RangeError);
  assert.throws(() => clipAndNoise(tensor("float64", [1, 1]), { clip: 1, sigma: 1 }, rng), TypeError);
});

Deno.test("norm equalisation gives every row the batch's mean norm, keeps directions, and blinds the norm attack", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), { minLength: 4, maxLength: 4 }), {
        minLength: 2,
        maxLength: 20,
      }),
      (rows) => {
        const data = Float32Array.from(rows.flat().map((v) => v + 0.5)); // keep rows non-zero
        const g = tensor("float32", [rows.length, 4], data);
        const before = rowNorms({ data, rows: rows.length });
        const out = equaliseNorms(g);
        const after = rowNorms({ data: out.data, rows: rows.length });
        const mean = before.reduce((a, b) => a + b, 0) / rows.length;
        for (let i = 0; i < rows.length; i++) {
          if (before[i] === 0) continue;
          if (Math.abs(after[i] - mean) > 1e-4 * mean + 1e-6) return false;
          // Same direction: positive multiple.
          for (let k = 0; k < 4; k++) if (data[i * 4 + k] * (out.data as Float32Array)[i * 4 + k] < 0) return false;
        }
        return true;
      },
    ),
    { numRuns: 100 },
  );
  // Norms that leak perfectly before (positives 10× larger), not after.
  const rng = new Rng(5);
  const n = 400, labels = Array.from({ length: n }, (_, i) => i % 2);
  const g = tensor("float32", [n, 8], Float32Array.from({ length: n * 8 }, (_, i) => (labels[Math.floor(i / 8)] ? 10 : 1) * rng.normal()));
  assert.ok(normLeakAuc({ data: g.data as Float32Array, rows: n }, labels) > 0.99);
  const eq = protectCutGradient(g, "norm-equalise");
  const leak = normLeakAuc({ data: eq.data as Float32Array, rows: n }, labels);
  assert.ok(Math.abs(leak - 0.5) < 0.1, `after equalisation ${leak}`);
  assert.equal(protectCutGradient(g, "none"), g);
});

Deno.test("defence config: parses valid objects, refuses bad fields with a message naming them", () => {
  assert.deepEqual(parseDefenceConfig(undefined), {});
  const d = parseDefenceConfig({ noise: { clip: 20, sigma: 0.05 }, nopeek: { weight: 1 }, labelProtection: "norm-equalise" });
  assert.equal(describeDefence(d), "noise σ=0.05 C=20, nopeek α=1, norm-equalise");
  assert.throws(() => parseDefenceConfig({ noise: { clip: -1, sigma: 1 } }), /defence\.noise/);
  assert.throws(() => parseDefenceConfig({ nopeek: { weight: "a" } }), /defence\.nopeek/);
  const u = parseDefenceConfig({ nopeek: { weight: 5, estimator: "u" } });
  assert.deepEqual(u, { nopeek: { weight: 5, estimator: "u" } });
  assert.equal(describeDefence(u), "nopeek α=5 (bias-corrected dCor)");
  assert.throws(() => parseDefenceConfig({ nopeek: { weight: 5, estimator: "w" } }), /defence\.nopeek: expected \{weight >= 0, estimator\?: "v" \| "u"\}/);
  assert.throws(() => parseDefenceConfig({ nopeek: { weight: 5, alpha: 1 } }), /defence\.nopeek/);
  assert.throws(() => parseDefenceConfig({ labelProtection: "max" }), /labelProtection/);
  const std = parseDefenceConfig({ inputNorm: "per-image", nopeek: { weight: 80, estimator: "u" } });
  assert.deepEqual(std, { inputNorm: "per-image", nopeek: { weight: 80, estimator: "u" } });
  assert.equal(describeDefence(std), "per-image input standardisation, nopeek α=80 (bias-corrected dCor)");
  assert.throws(() => parseDefenceConfig({ inputNorm: "per-batch" }), /defence\.inputNorm: expected "none" or "per-image", got "per-batch"/);
  assert.throws(() => parseDefenceConfig({ dp: 1 }), /unknown field "dp"/);
  assert.throws(() => parseDefenceConfig([1]), TypeError);
});

Deno.test("input standardisation: applied to the image input only when asked; a model without images is refused by name", () => {
  const spec = { image: { channels: 1, size: 8 }, tabular: { numeric: 4, vocabSizes: [3], codeVocab: 10 } };
  const cnn = zooModel("cnn", spec, () => 0.5).model;
  assert.equal(applyInputNorm(cnn, {}), cnn);
  assert.equal(applyInputNorm(cnn, { inputNorm: "none" }), cnn);
  const std = applyInputNorm(cnn, { inputNorm: "per-image" });
  assert.ok(std.graph.nodes.filter((n) => n.inputs.includes("image")).every((n) => n.name.startsWith("splitgate_standardise/image/")));
  const ehr = zooModel("ehr", spec, () => 0.5).model;
  assert.throws(
    () => applyInputNorm(ehr, { inputNorm: "per-image" }),
    { name: "TypeError", message: /defence\.inputNorm "per-image" needs an image input \(float32 \[N, C, H, W\]\); the model's inputs are numeric: float32\[N, 4\]/ },
  );
});
