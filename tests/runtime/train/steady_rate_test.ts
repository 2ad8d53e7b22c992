import assert from "node:assert/strict";
import fc from "fast-check";
import { SteadyRate, WARMUP_STEPS } from "../../../runtime/train/steady_rate.ts";

Deno.test("SteadyRate counts only the steps after the warm-up", () => {
  fc.assert(fc.property(
    fc.nat({ max: 8 }),
    fc.array(fc.tuple(fc.nat({ max: 512 }), fc.double({ min: 0.5, max: 500, noNaN: true })), { maxLength: 30 }),
    (warmup, steps) => {
      const r = new SteadyRate(warmup);
      for (const [n, ms] of steps) r.add(n, ms);
      const kept = steps.slice(warmup);
      assert.equal(r.steps, kept.length);
      if (kept.length === 0) {
        assert.equal(r.samplesPerSec, null);
        return;
      }
      const samples = kept.reduce((a, [n]) => a + n, 0), ms = kept.reduce((a, [, t]) => a + t, 0);
      assert.ok(Math.abs(r.samplesPerSec! - samples / (ms / 1000)) <= 1e-9 * Math.max(1, samples / (ms / 1000)));
    },
  ));
});

Deno.test("SteadyRate: a slow warm-up does not change the steady rate", () => {
  const r = new SteadyRate();
  assert.equal(r.warmup, WARMUP_STEPS);
  for (const ms of [275, 209, 96, 83, 60]) r.add(64, ms);
  assert.equal(r.samplesPerSec, null);
  for (let i = 0; i < 10; i++) r.add(64, 50);
  assert.equal(r.samplesPerSec, 1280);
});

Deno.test("SteadyRate refuses a bad warm-up or step", () => {
  assert.throws(() => new SteadyRate(-1), (e: unknown) => e instanceof RangeError && /warmup -1/.test(e.message));
  assert.throws(() => new SteadyRate(1.5), RangeError);
  const r = new SteadyRate(0);
  assert.throws(() => r.add(64, NaN), (e: unknown) => e instanceof RangeError && /NaN ms/.test(e.message));
  assert.throws(() => r.add(-1, 5), RangeError);
  assert.throws(() => r.add(64, Infinity), RangeError);
  assert.equal(r.steps, 0);
});
