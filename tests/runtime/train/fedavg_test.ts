import assert from "node:assert/strict";
import fc from "fast-check";
import { tensor } from "../../../models/tensor.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { trainCentral } from "../../../runtime/train/central.ts";
import { averageWeights, trainFedAvg } from "../../../runtime/train/fedavg.ts";
import { toyData, toyModel } from "./toy_fixture.ts";

Deno.test("averageWeights is the sample-weighted mean", () => {
  const a = new Map([["w", tensor("float32", [3], new Float32Array([0, 10, -2]))]]);
  const b = new Map([["w", tensor("float32", [3], new Float32Array([4, 2, 2]))]]);
  assert.deepEqual([...averageWeights([a, b], [1, 3]).get("w")!.data], [3, 4, 1]);
  fc.assert(fc.property(fc.float({ min: -100, max: 100, noNaN: true }), fc.integer({ min: 1, max: 1000 }), (v, n) => {
    const m = new Map([["w", tensor("float32", [1], new Float32Array([v]))]]);
    return averageWeights([m, m], [n, 1]).get("w")!.data[0] === Math.fround(v);
  }));
  assert.throws(() => averageWeights([a, b], [1]), /one weight per model/);
  assert.throws(() => averageWeights([a, new Map()], [1, 1]), /missing/);
});

Deno.test("FedAvg with one clinic and E=1, one round, equals one epoch of central training", async () => {
  const engine = await createEngine("native");
  try {
    const data = toyData(), { model } = toyModel();
    const common = { engine, model, loss: "bce" as const, data, batchSize: 16, optimizer: { kind: "adam" as const, lr: 1e-2 }, seed: 4 };
    const central = await trainCentral({ ...common, epochs: 1 });
    const all = Uint32Array.from({ length: data.train.size }, (_, i) => i);
    const fed = await trainFedAvg({ ...common, clinics: [all], rounds: 1, localEpochs: 1 });
    assert.ok(Math.abs(fed.history[0].trainLoss - central.history[0].trainLoss) < 1e-6);
    assert.ok(Math.abs(fed.test.loss - central.test.loss) < 1e-6, `${fed.test.loss} vs ${central.test.loss}`);
    assert.ok(Math.abs(fed.test.auc - central.test.auc) < 1e-6);
    // Weights went down and up once each: at least the model's float32 size each way.
    const modelBytes = [...model.graph.initializers.values()].reduce((a, t) => a + 4 * t.data.length, 0);
    assert.ok(fed.clinics[0].bytesDownPerEpoch > 0.5 * modelBytes, `${fed.clinics[0].bytesDownPerEpoch} vs ${modelBytes}`);
    assert.ok(fed.clinics[0].bytesUpPerEpoch > 0.5 * modelBytes);

    // Two clinics, two rounds: the history has one entry per round, numbered by epoch.
    const half = (k: number) => Uint32Array.from({ length: 48 }, (_, i) => k * 48 + i);
    const two = await trainFedAvg({ ...common, clinics: [half(0), half(1)], rounds: 2, localEpochs: 1 });
    assert.deepEqual(two.history.map((h) => h.epoch), [1, 2]);
    assert.ok(two.clinics.every((c) => c.flopsPerEpoch > 0));
    assert.equal(two.clinics[0].flopsPerEpoch, two.clinics[1].flopsPerEpoch);
  } finally {
    await engine.dispose();
  }
});
