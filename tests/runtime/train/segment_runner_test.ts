import assert from "node:assert/strict";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import type { Tensor } from "../../../models/tensor.ts";
import { binaryLabels, randomTensor, testEngine, tinyConfig } from "../server/harness.ts";

const same = (a: Tensor, b: Tensor, what: string) => assert.deepEqual([...a.data as Float32Array], [...b.data as Float32Array], what);

Deno.test("stepDeferred: the loss, cut gradient, buffers and (later) parameter gradients are the fused step's, exactly", async () => {
  const engine = await testEngine();
  const { segments } = buildSplitModel(tinyConfig("vanilla").model, "vanilla", "bce");
  const seg = segments[1];
  const fused = await SegmentRunner.create(engine, seg), split = await SegmentRunner.create(engine, seg);
  await split.warm({ deferred: true });
  const cut = seg.inputs[0].name;
  for (let k = 0; k < 2; k++) {
    const x = randomTensor([6, 16, 4, 4], 20 + k), y = binaryLabels(6);
    const a = await fused.step({ [cut]: x }, y);
    const b = await split.stepDeferred({ [cut]: x }, y);
    assert.equal(b.loss, a.loss);
    same(b.inputGrads[cut], a.inputGrads[cut], "cut gradient");
    for (const o of seg.outputs) same(b.outputs[o.name], a.outputs[o.name], o.name);
    for (const [name, t] of fused.buffers) same(split.buffers.get(name)!, t, `buffer ${name}`);
    const grads = await b.paramGrads();
    assert.deepEqual([...grads.keys()].sort(), [...a.paramGrads.keys()].sort());
    for (const [name, g] of a.paramGrads) same(grads.get(name)!, g, `grad ${name}`);
    await assert.rejects(() => b.paramGrads(), /already taken/);
  }
  await fused.release();
  await split.release();
});

Deno.test("backwardDeferred: the U-shape middle's cut and parameter gradients are the fused backward's, exactly", async () => {
  const engine = await testEngine();
  const { segments } = buildSplitModel(tinyConfig("ushaped").model, "ushaped", "bce");
  const seg = segments[1];
  const runner = await SegmentRunner.create(engine, seg);
  const cut = seg.inputs[0].name, out = seg.outputs[0].name;
  const f = await runner.forward({ [cut]: randomTensor([5, 16, 4, 4], 3) });
  const g = randomTensor(f.outputs[out].dims.map(Number), 4);
  const a = await runner.backward(f.saved, { [out]: g });
  const b = await runner.backwardDeferred(f.saved, { [out]: g });
  same(b.inputGrads[cut], a.inputGrads[cut], "cut gradient");
  const grads = await b.paramGrads();
  assert.equal(grads.size, a.paramGrads.size);
  for (const [name, t] of a.paramGrads) same(grads.get(name)!, t, `grad ${name}`);
  await runner.release();
});
