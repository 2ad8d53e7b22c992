import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "../../../runtime/data/rng.ts";

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
};

Deno.test("rng: the same seed gives the same sequence, another seed another one", () => {
  fc.assert(fc.property(fc.integer(), (seed) => {
    const a = new Rng(seed), b = new Rng(seed), c = new Rng(seed + 1);
    const xs = Array.from({ length: 8 }, () => a.float());
    assert.deepEqual(Array.from({ length: 8 }, () => b.float()), xs);
    assert.notDeepEqual(Array.from({ length: 8 }, () => c.float()), xs);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  }));
  assert.throws(() => new Rng(1.5), /seed must be a safe integer, got 1.5/);
});

Deno.test("rng: int is in range and covers it; shuffle is a permutation", () => {
  const r = new Rng(11);
  const seen = new Set<number>();
  for (let i = 0; i < 600; i++) {
    const v = r.int(6);
    assert.ok(Number.isInteger(v) && v >= 0 && v < 6);
    seen.add(v);
  }
  assert.equal(seen.size, 6);
  assert.throws(() => r.int(0), /int\(n\) needs an integer n >= 1, got 0/);
  fc.assert(fc.property(fc.array(fc.integer()), fc.integer(), (xs, seed) => {
    const s = new Rng(seed).shuffle(xs.slice());
    assert.deepEqual([...s].sort((a, b) => a - b), [...xs].sort((a, b) => a - b));
  }));
});

Deno.test("rng: normal and gamma have the right moments (fixed seed, 20k draws)", () => {
  const r = new Rng(2024);
  const z = Array.from({ length: 20000 }, () => r.normal());
  assert.ok(Math.abs(mean(z)) < 0.03, `normal mean ${mean(z)}`);
  assert.ok(Math.abs(variance(z) - 1) < 0.05, `normal variance ${variance(z)}`);
  // Gamma(k, 1): mean k, variance k — for the boosted (k < 1) and direct branches.
  for (const k of [0.1, 0.5, 1, 3.5, 20]) {
    const g = Array.from({ length: 20000 }, () => r.gamma(k));
    assert.ok(g.every((x) => x >= 0 && Number.isFinite(x)));
    assert.ok(Math.abs(mean(g) - k) < 0.05 * k + 0.01, `gamma(${k}) mean ${mean(g)}`);
    assert.ok(Math.abs(variance(g) - k) < 0.12 * k + 0.01, `gamma(${k}) variance ${variance(g)}`);
  }
  assert.throws(() => r.gamma(0), /gamma shape must be a finite number > 0, got 0/);
});

Deno.test("rng: dirichlet draws sum to 1; small alpha concentrates, large alpha spreads", () => {
  const r = new Rng(5);
  const maxShare = (alpha: number) =>
    mean(Array.from({ length: 500 }, () => {
      const p = r.dirichlet(new Array(10).fill(alpha));
      assert.ok(Math.abs(p.reduce((s, x) => s + x, 0) - 1) < 1e-12);
      assert.ok(p.every((x) => x >= 0));
      return Math.max(...p);
    }));
  const sparse = maxShare(0.1), dense = maxShare(100);
  assert.ok(sparse > 0.6, `alpha 0.1: mean largest share ${sparse}`);
  assert.ok(dense < 0.2, `alpha 100: mean largest share ${dense}`);
  // Tiny alphas underflow every Gamma to 0 now and then; the draw is repeated, never NaN.
  const tiny = r.dirichlet([1e-3, 1e-3, 1e-3]);
  assert.ok(tiny.every(Number.isFinite));
  assert.throws(() => r.dirichlet([]), /at least one/);
});
