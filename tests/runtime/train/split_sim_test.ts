import assert from "node:assert/strict";
import { tensor } from "../../../models/tensor.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { trainCentral } from "../../../runtime/train/central.ts";
import { trainSplitSim, WireLink } from "../../../runtime/train/split_sim.ts";
import { toyData, toyModel } from "./toy_fixture.ts";
const OPT = { kind: "adam" as const, lr: 1e-2 };

Deno.test("split_sim vanilla with one clinic equals central training with the same cut", async () => {
  const engine = await createEngine("native");
  try {
    const data = toyData(), { model, cuts } = toyModel();
    const common = { engine, model, loss: "bce" as const, data, epochs: 2, batchSize: 16, optimizer: OPT, seed: 3 };
    const central = await trainCentral({ ...common, cuts: cuts.default });
    const all = Uint32Array.from({ length: data.train.size }, (_, i) => i);
    const split = await trainSplitSim({ ...common, clinics: [all], cuts: cuts.default });
    for (let e = 0; e < 2; e++) {
      assert.ok(Math.abs(split.history[e].trainLoss - central.history[e].trainLoss) < 1e-6);
      assert.ok(Math.abs(split.history[e].val.auc - central.history[e].val.auc) < 1e-6);
      assert.ok(Math.abs(split.history[e].val.loss - central.history[e].val.loss) < 1e-6);
    }
    assert.equal(split.bestEpoch, central.bestEpoch);
    assert.ok(Math.abs(split.test.auc - central.test.auc) < 1e-6);
    assert.ok(Math.abs(split.test.loss - central.test.loss) < 1e-6);
    // No cut: the same as central training without a cut, and no traffic.
    const whole = await trainSplitSim({ ...common, clinics: [all], cuts: [] });
    const plain = await trainCentral(common);
    assert.ok(Math.abs(whole.test.loss - plain.test.loss) < 1e-6);
    assert.equal(whole.clinics[0].bytesUpPerEpoch, 0);
  } finally {
    await engine.dispose();
  }
});

Deno.test("split_sim measures bytes that scale with the batches; U-shape keeps labels home", async () => {
  const engine = await createEngine("native");
  try {
    const data = toyData(), { model, cuts } = toyModel();
    const idx = (n: number, from = 0) => Uint32Array.from({ length: n }, (_, i) => from + i);
    const common = { engine, model, loss: "bce" as const, data, epochs: 1, batchSize: 16, optimizer: OPT, seed: 0 };
    const small = await trainSplitSim({ ...common, clinics: [idx(32)], cuts: cuts.default });
    const big = await trainSplitSim({ ...common, clinics: [idx(96)], cuts: cuts.default });
    const [s, b] = [small.clinics[0], big.clinics[0]];
    assert.ok(s.bytesUpPerEpoch > 0 && s.bytesDownPerEpoch > 0);
    assert.equal(s.batchesPerEpoch, 2);
    assert.equal(b.batchesPerEpoch, 6);
    // Three times the batches: three times the traffic (same-size messages, Padmé-padded).
    const ratio = b.bytesUpPerEpoch / s.bytesUpPerEpoch;
    assert.ok(ratio > 2.7 && ratio < 3.3, `up ratio ${ratio}`);
    assert.ok(Math.abs(b.flopsPerEpoch / s.flopsPerEpoch - 3) < 1e-9);
    // Activation [16, 4, 2, 2] float32 = 256 bytes per step at least (deflate can't beat
    // random floats by much): a lower bound that fails if nothing were sent.
    assert.ok(s.bytesUpPerEpoch > 2 * 200);
    assert.ok(small.server.flopsPerEpoch > 0);

    // Two clinics: the relay is counted once up (sender) and once down (receiver) per turn.
    const two = await trainSplitSim({ ...common, epochs: 2, clinics: [idx(48), idx(48, 48)], cuts: cuts.ushaped });
    const [c0, c1] = two.clinics;
    assert.ok(c0.relayUpPerEpoch > 0 && c1.relayDownPerEpoch > 0);
    // Turns: 0, 1 | 0, 1: relays 0→1, 1→0, 0→1 — clinic 0 sends 2 and receives 1.
    assert.ok(Math.abs(c0.relayUpPerEpoch - 2 * c0.relayDownPerEpoch) < 0.02 * c0.relayUpPerEpoch);
    // U-shape: the clinic runs the head too, so it computes more than the vanilla front alone.
    assert.ok(c0.flopsPerEpoch > 0 && two.history.length === 2);
    assert.ok(Number.isFinite(two.test.auc));
  } finally {
    await engine.dispose();
  }
});

Deno.test("WireLink: sealed frames are opened and decoded exactly (float32)", () => {
  const link = new WireLink();
  const t = tensor("float32", [3, 4], Float32Array.from({ length: 12 }, (_, i) => i / 7));
  const got = link.up({ a: t });
  assert.deepEqual(got.a.data, t.data);
  assert.ok(link.bytesUp > 48 && link.bytesDown === 0);
  const lossy = new WireLink({ dtype: "float16" });
  lossy.down({ a: t });
  assert.ok(lossy.bytesDown > 0 && lossy.bytesUp === 0);
});
