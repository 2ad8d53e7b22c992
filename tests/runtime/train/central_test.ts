import assert from "node:assert/strict";
import { buildCnn } from "../../../models/zoo/cnn.ts";
import { exportModel } from "../../../models/train/export.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { readModel } from "../../../models/onnx/read_model.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { loadDataset } from "../../../runtime/data/load_dataset.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { evaluate, trainCentral } from "../../../runtime/train/central.ts";
import { Pipeline } from "../../../runtime/train/pipeline.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { concatRows } from "../../../runtime/train/metrics.ts";
import type { Tensor } from "../../../models/tensor.ts";

const DATA = new URL("../../../data/pneumoniamnist.npz", import.meta.url).pathname;

Deno.test("central training learns, and the exported ONNX predicts the same in plain onnxruntime", async () => {
  const engine = await createEngine("native");
  try {
    const full = await loadDataset(DATA);
    const rng = new Rng(1);
    const take = (n: number) => Array.from({ length: n }, (_, i) => i);
    const data = { train: full.train.subset(take(1024)), val: full.val.subset(take(256)), test: full.test };
    const { model } = buildCnn({ random: () => rng.float() });
    const result = await trainCentral({
      engine, model, loss: "bce", data, epochs: 2, batchSize: 64, optimizer: { kind: "adam", lr: 1e-3 }, seed: 1,
    });
    assert.equal(result.history.length, 2);
    assert.ok(result.history[1].trainLoss < result.history[0].trainLoss * 1.05, "training loss should not grow");
    assert.ok(result.test.auc > 0.8, `test AUC ${result.test.auc} after 2 short epochs`);
    assert.ok(result.bestEpoch >= 1 && result.bestEpoch <= 2);
    // 32 steps, the first five of them warm-up.
    assert.ok(result.steadySamplesPerSec !== null && result.steadySamplesPerSec > 0);

    // Export: one standard model with the best weights; onnxruntime runs it as is.
    const bytes = writeModel(exportModel(model, result.weights));
    assert.equal(readModel(bytes).graph.nodes.length, model.graph.nodes.length);
    const session = await engine.load(bytes);
    const outs: Tensor[] = [];
    for (let i = 0; i < data.test.size; i += 256) {
      const idx = Array.from({ length: Math.min(256, data.test.size - i) }, (_, k) => i + k);
      outs.push((await session.run(data.test.take(idx).inputs)).logits);
    }
    const exported = concatRows(outs).data as Float32Array;
    // The same weights through splitgate's own inference graph.
    const pipe = await Pipeline.create(engine, compileModel(model, { loss: "bce" }));
    pipe.load(result.weights);
    const ours = (await evaluate((x) => pipe.infer(x), data.test, "bce")).logits.data as Float32Array;
    await pipe.release();
    assert.equal(exported.length, ours.length);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(exported[i] - ours[i]));
    assert.ok(worst < 1e-4, `exported model differs by ${worst}`);
    // And the exported model's AUC is the reported test AUC.
    const m = (await evaluate(async (x) => (await session.run(x)).logits, data.test, "bce"));
    assert.ok(Math.abs(m.auc - result.test.auc) < 1e-6);
  } finally {
    await engine.dispose();
  }
});

Deno.test("exportModel refuses weights that do not fit the model", () => {
  const { model } = buildCnn({ random: () => 0.5 });
  assert.throws(() => exportModel(model, new Map([["nope", model.graph.initializers.get("head.fc2.bias")!]])), /not an initializer/);
  const w = model.graph.initializers.get("head.fc2.weight")!;
  assert.throws(
    () => exportModel(model, new Map([["head.fc2.bias", w]])),
    /does not match the model's float32 \[1\]/,
  );
});
