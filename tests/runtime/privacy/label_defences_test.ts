import assert from "node:assert/strict";
import fc from "fast-check";
import { tensor } from "../../../models/tensor.ts";
import { buildCnn } from "../../../models/zoo/cnn.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { marvellNoise, marvellPlan } from "../../../runtime/privacy/marvell.ts";
import { maxNormNoise } from "../../../runtime/privacy/max_norm.ts";
import { flipProbability, RandomisedLabels } from "../../../runtime/privacy/randomised_response.ts";
import { checkLabelDefenceMode, parseLabelDefence } from "../../../runtime/privacy/label_defence.ts";
import { describeDefence, parseDefenceConfig } from "../../../runtime/privacy/defence_config.ts";
import { directionScores, leakAuc, normLeakAuc, rowNorms } from "../../../runtime/privacy/metrics.ts";
import { DefendedPipeline } from "../../../runtime/privacy/defended_pipeline.ts";
import { trainDefended } from "../../../runtime/privacy/defended_training.ts";
import { tinySplits } from "./malicious_server.ts";

/** Head-like gradients: (p − y)·w per sample (a linear head on a logistic loss), batches of 64. */
function headGradients(batches: number, d: number, seed: number): { g: Float32Array; y: number[]; n: number } {
  const rng = new Rng(seed);
  const w = Float32Array.from({ length: d }, () => rng.normal());
  const n = batches * 64, g = new Float32Array(n * d), y: number[] = [];
  for (let i = 0; i < n; i++) {
    y.push(rng.float() < 0.7 ? 1 : 0);
    // Positives fit worse than negatives (as in the undefended runs: norm-leak AUC far from 0.5).
    const p = y[i] ? 0.1 + 0.5 * rng.float() : 0.05 + 0.25 * rng.float();
    for (let k = 0; k < d; k++) g[i * d + k] = (p - y[i]) * w[k];
  }
  return { g, y, n };
}

function leaks(g: Float32Array, y: number[], d: number): { norm: number; dir: number } {
  const ns: number[] = [], ds: number[] = [];
  for (let at = 0; at < y.length; at += 64) {
    const rows = { data: g.subarray(at * d, (at + 64) * d), rows: 64 };
    ns.push(...rowNorms(rows));
    ds.push(...directionScores(rows, y.indexOf(1, at) - at));
  }
  return { norm: leakAuc(ns, y), dir: leakAuc(ds, y) };
}

function perBatch(g: Float32Array, y: number[], d: number, f: (b: Float32Array, yb: number[]) => Float32Array): Float32Array {
  const out = new Float32Array(g.length);
  for (let at = 0; at < y.length; at += 64) out.set(f(g.subarray(at * d, (at + 64) * d), y.slice(at, at + 64)), at * d);
  return out;
}

Deno.test("Marvell: head gradients leak fully; with s = 4 both attacks fall near chance, and the noise spends the power budget", () => {
  const d = 16, { g, y } = headGradients(8, d, 1);
  const before = leaks(g, y, d);
  assert.ok(Math.abs(before.dir - 0.5) > 0.49, `undefended direction AUC ${before.dir}`);
  assert.ok(Math.abs(before.norm - 0.5) > 0.3, `undefended norm AUC ${before.norm}`);
  const rng = new Rng(2);
  let power = 0, budget = 0;
  const noisy = perBatch(g, y, d, (b, yb) => {
    const out = marvellNoise(tensor("float32", [64, d], b), yb, { scale: 4 }, rng).data as Float32Array;
    for (let i = 0; i < out.length; i++) power += (out[i] - b[i]) ** 2 / 64;
    const m = [0, 1].map((c) => Array.from({ length: d }, (_, k) => yb.reduce((s, v, i) => s + (v === c ? b[i * d + k] : 0), 0) / yb.filter((v) => v === c).length));
    budget += 4 * m[1].reduce((s, v, k) => s + (v - m[0][k]) ** 2, 0);
    return out;
  });
  const after = leaks(noisy, y, d);
  assert.ok(Math.abs(after.dir - 0.5) < 0.15, `direction AUC ${after.dir}`);
  assert.ok(Math.abs(after.norm - 0.5) < 0.15, `norm AUC ${after.norm}`);
  assert.ok(Math.abs(power / budget - 1) < 0.15, `noise power ${power} for a budget of ${budget}`);
  // Labels must match the rows; a one-class batch is returned unchanged.
  assert.throws(() => marvellNoise(tensor("float32", [2, 1]), [1], { scale: 1 }, rng), /1 labels for 2 gradient rows/);
  assert.deepEqual(marvellNoise(tensor("float32", [2, 1], new Float32Array([1, 2])), [0, 0], { scale: 1 }, rng).data, new Float32Array([1, 2]));
});

Deno.test("Marvell's plan: more power never raises the KL bound, and the budget is met", () => {
  fc.assert(fc.property(
    fc.double({ min: 0.01, max: 10, noNaN: true }),
    fc.double({ min: 0, max: 2, noNaN: true }),
    fc.double({ min: 0, max: 2, noNaN: true }),
    fc.double({ min: 0.1, max: 0.9, noNaN: true }),
    fc.integer({ min: 1, max: 64 }),
    (gap2, v1, v0, p, d) => {
      const lo = marvellPlan({ gap2, v1, v0, p, d, scale: 0.5 }), hi = marvellPlan({ gap2, v1, v0, p, d, scale: 4 });
      const spent = p * (hi.along[0] + (d - 1) * hi.across[0]) + (1 - p) * (hi.along[1] + (d - 1) * hi.across[1]);
      return hi.kl <= lo.kl + 1e-9 && spent <= hi.power * (1 + 1e-9);
    },
  ));
});

Deno.test("max-norm: every row's expected squared norm is the batch max, so the norm attack is blind", () => {
  const d = 64, { g, y } = headGradients(8, d, 3);
  const rng = new Rng(4);
  const noisy = perBatch(g, y, d, (b) => maxNormNoise(tensor("float32", [64, d], b), rng).data as Float32Array);
  assert.ok(Math.abs(normLeakAuc({ data: g, rows: y.length }, y) - 0.5) > 0.3);
  const after = leaks(noisy, y, d);
  assert.ok(Math.abs(after.norm - 0.5) < 0.1, `norm AUC ${after.norm}`);
  // The batch's largest row is untouched.
  const b = g.subarray(0, 64 * d), norms = rowNorms({ data: b, rows: 64 }), top = norms.indexOf(Math.max(...norms));
  const out = maxNormNoise(tensor("float32", [64, d], b), rng).data as Float32Array;
  assert.deepEqual(out.subarray(top * d, (top + 1) * d), b.subarray(top * d, (top + 1) * d));
});

Deno.test("randomised response: flips with probability 1/(1 + e^ε), once per record", () => {
  assert.equal(flipProbability(0), 0.5);
  assert.ok(Math.abs(flipProbability(Math.log(3)) - 0.25) < 1e-12);
  const n = 20000, labels = Float32Array.from({ length: n }, (_, i) => i % 2);
  const rr = new RandomisedLabels(labels, 1, new Rng(5));
  const p = 1 / (1 + Math.E);
  assert.ok(Math.abs(rr.flipped / n - p) < 0.01, `flip rate ${rr.flipped / n}, expected ${p}`);
  const idx = [3, 7, 11], t = tensor("float32", [3, 1]);
  assert.deepEqual(rr.take(idx, t).data, rr.take(idx, t).data);
  assert.deepEqual(rr.take(idx, t).dims, [3, 1]);
  assert.throws(() => new RandomisedLabels([0, 2], 1, new Rng(1)), /label 1 is 2; expected 0 or 1/);
  assert.throws(() => flipProbability(-1), RangeError);
});

Deno.test("defence config: label defence, budget and hijack guard parse, and are refused by name when malformed", () => {
  const c = parseDefenceConfig({ labelDefence: { kind: "marvell", scale: 2 }, budget: { epsilon: 3, delta: 1e-5 }, hijackGuard: { every: 8 } });
  assert.deepEqual(c, { labelDefence: { kind: "marvell", scale: 2 }, budget: { epsilon: 3, delta: 1e-5 }, hijackGuard: { every: 8 } });
  assert.equal(describeDefence(c), "marvell s=2");
  assert.equal(describeDefence({ labelDefence: { kind: "rr", epsilon: 1 } }), "label RR ε=1");
  assert.deepEqual(parseLabelDefence({ kind: "max-norm" }), { kind: "max-norm" });
  assert.throws(() => parseDefenceConfig({ labelDefence: { kind: "marvell" } }), /defence\.labelDefence: expected/);
  assert.throws(() => parseDefenceConfig({ labelDefence: { kind: "rr", epsilon: 1, extra: 1 } }), /defence\.labelDefence/);
  assert.throws(() => parseDefenceConfig({ budget: { epsilon: 1, delta: 1 } }), /defence\.budget: expected \{epsilon > 0, delta in \(0, 1\)\}/);
  assert.throws(() => parseDefenceConfig({ hijackGuard: { every: 0 } }), /defence\.hijackGuard/);
  assert.throws(() => checkLabelDefenceMode({ kind: "rr", epsilon: 1 }, "ushaped"), /needs mode vanilla, got ushaped/);
  assert.throws(() => checkLabelDefenceMode({ kind: "marvell", scale: 1 }, "vanilla"), /needs mode ushaped, got vanilla/);
});

Deno.test("defended pipeline: U-shaped Marvell perturbs the head gradient the clinic sends, not its own head's step", async () => {
  const engine = await createEngine("native");
  try {
    const rng = new Rng(2);
    const zoo = buildCnn({ random: () => rng.float(), channels: [4, 8], hidden: 8 });
    const segs = compileModel(zoo.model, { loss: "bce", cuts: zoo.cuts.ushaped });
    const x = tensor("float32", [8, 1, 28, 28], Float32Array.from({ length: 8 * 784 }, () => rng.float()));
    const y = tensor("float32", [8, 1], Float32Array.from({ length: 8 }, (_, i) => i % 2));
    const plain = await DefendedPipeline.create(engine, segs, {}, 1);
    const noisy = await DefendedPipeline.create(engine, segs, { labelDefence: { kind: "marvell", scale: 4 } }, 1);
    const a = await plain.forwardBackward({ image: x }, y), b = await noisy.forwardBackward({ image: x }, y);
    assert.equal(a.loss, b.loss);
    assert.notDeepEqual(a.headGrad!.data, b.headGrad!.data);
    await plain.release();
    await noisy.release();
  } finally {
    await engine.dispose();
  }
});

Deno.test("trainer: stops before the epoch that would overspend the budget, and reports ε", async () => {
  const engine = await createEngine("native");
  try {
    const rng = new Rng(1);
    const zoo = buildCnn({ random: () => rng.float(), size: 8, channels: [2, 4], hidden: 4 });
    // σ = 4: ε ≈ 3.19 after two epochs, ≈ 4.2 after three at δ = 1e-5 (budget 4).
    const r = await trainDefended({
      engine, model: zoo.model, cuts: zoo.cuts.default, loss: "bce", data: tinySplits(64, 3), epochs: 5, batchSize: 16,
      optimizer: { kind: "adam", lr: 1e-3 }, seed: 1, defence: { noise: { clip: 5, sigma: 4 }, budget: { epsilon: 4, delta: 1e-5 } },
    });
    assert.equal(r.stopped?.code, "BUDGET_SPENT");
    assert.equal(r.stopped?.epoch, 3);
    assert.equal(r.history.length, 2);
    assert.ok(Math.abs(r.privacy.features!.epsilon - 3.19) < 0.01, `ε ${r.privacy.features!.epsilon}`);
    assert.match(r.stopped!.message, /privacy budget spent: epoch 3 would bring the cut noise to ε = 4\.\d+/);
  } finally {
    await engine.dispose();
  }
});
