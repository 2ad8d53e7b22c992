import assert from "node:assert/strict";
import { buildCnn } from "../../../models/zoo/cnn.ts";
import { tensor } from "../../../models/tensor.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { HijackAlarm, meanRowCosine, parseHijackGuard, SplitGuard } from "../../../runtime/privacy/split_guard.ts";
import { FshaAttacker } from "../../../runtime/privacy/fsha_attacker.ts";
import { tinySplits, trainAgainst } from "./malicious_server.ts";

Deno.test("split guard: scores label-following gradients near +1, label-blind ones near -1, alarms after a window", () => {
  const g = tensor("float32", [2, 3], new Float32Array([1, 2, 3, -1, 0, 1]));
  const minus = tensor("float32", [2, 3], (g.data as Float32Array).map((v) => -v));
  assert.ok(Math.abs(meanRowCosine(g, g) - 1) < 1e-6);
  assert.ok(Math.abs(meanRowCosine(g, minus) + 1) < 1e-6);
  const guard = new SplitGuard({ window: 2 }, new Rng(1));
  assert.equal(guard.observe(1, g, minus), 1); // honest: no alarm
  assert.equal(guard.observe(2, g, g), -1); // mean 0 over the window: not below 0
  assert.throws(() => guard.observe(3, g, g), (e: unknown) => e instanceof HijackAlarm && e.step === 3 && e.code === "HIJACK_SUSPECTED");
  assert.throws(() => parseHijackGuard({ every: 1 }), /every\?: integer >= 2/);
  assert.throws(() => parseHijackGuard({ often: 3 }), TypeError);
  assert.deepEqual(parseHijackGuard({ window: 5 }), { window: 5 });
});

Deno.test("FSHA attacker: the gradient it returns ignores the labels and moves with its discriminator", async () => {
  const rng = new Rng(3);
  const aux = tensor("float32", [16, 1, 4, 4], Float32Array.from({ length: 256 }, () => rng.float()));
  const z = tensor("float32", [4, 6], Float32Array.from({ length: 24 }, () => rng.normal()));
  const a = new FshaAttacker(aux, { seed: 1 }), b = new FshaAttacker(aux, { seed: 1 });
  const r1 = await a.step(z, tensor("float32", [4, 1], new Float32Array([0, 1, 0, 1])));
  const r2 = await b.step(z, tensor("float32", [4, 1], new Float32Array([1, 0, 1, 0])));
  assert.deepEqual(r1.cutGrad.data, r2.cutGrad.data);
  assert.ok(meanRowCosine(r1.cutGrad, r2.cutGrad) > 0.999);
  assert.ok((r1.cutGrad.data as Float32Array).some((v) => v !== 0));
  assert.equal(a.width, 6);
});

Deno.test("hijack guard in training: stops the clinic against FSHA within 40 steps, no alarm against an honest server", async () => {
  const engine = await createEngine("native");
  try {
    const data = tinySplits(256, 5);
    const guard = { every: 4, flips: 4, window: 3 };
    for (const seed of [1, 2]) {
      const rng = new Rng(seed);
      const zoo = buildCnn({ random: () => rng.float(), size: 8, channels: [2, 4], hidden: 4 });
      const common = { engine, model: zoo.model, cut: zoo.cuts.default[0], data, seed, batchSize: 16, defence: { hijackGuard: guard } };
      const bad = await trainAgainst({ ...common, server: "fsha", epochs: 3 });
      assert.equal(bad.stopped?.code, "HIJACK_SUSPECTED", `seed ${seed}: ${JSON.stringify(bad.stopped)}`);
      assert.ok(bad.stopped!.step! <= 40, `seed ${seed}: alarm at step ${bad.stopped!.step}`);
      const good = await trainAgainst({ ...common, server: "honest", epochs: 3 });
      assert.equal(good.stopped, undefined, `seed ${seed}: ${good.stopped?.message}`);
      assert.ok(good.guardScores!.length >= 3, `seed ${seed}: ${good.guardScores!.length} fake batches`);
      assert.ok(good.guardScores!.every((s) => s.score > 0), JSON.stringify(good.guardScores));
    }
  } finally {
    await engine.dispose();
  }
});
