/**
 * The core correctness test: a step of the split runtime (test clinic in-process, server
 * over its HTTP protocol, float32 codec, encrypted) computes the same gradients as the
 * unsplit reference `runOneBatch`.
 */
import assert from "node:assert/strict";
import { gradName } from "../../../models/train/compile.ts";
import { runOneBatch } from "../../../runtime/train/one_batch.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import {
  assertClose,
  binaryLabels,
  paramsSnapshot,
  randomTensor,
  RawClinic,
  startServer,
  testEngine,
  tinyConfig,
} from "./harness.ts";

Deno.test("vanilla: a split step over the server equals the unsplit step", async () => {
  const engine = await testEngine();
  const server = await startServer("vanilla");
  try {
    const cfg = tinyConfig("vanilla");
    const ref = buildSplitModel(cfg.model, "vanilla", "bce");
    const image = randomTensor([4, 1, 8, 8], 11), target = binaryLabels(4);
    const truth = await runOneBatch(engine, ref.segments, { image }, target);

    const mine = buildSplitModel(cfg.model, "vanilla", "bce");
    const front = await SegmentRunner.create(engine, mine.segments[0]);
    const before = await paramsSnapshot(server);
    const f = await front.forward({ image });
    const cut = mine.segments[0].outputs[0].name;
    const a = await new RawClinic(server, "a").connect();
    const turn = await a.send({ type: "TURN_REQUEST" });
    assert.equal(turn.type === "TURN" && turn.yours, true);
    const r = await a.send({ type: "STEP", stepId: "0:0", epoch: 0, activation: f.outputs[cut], labels: target });
    assert.equal(r.type, "STEP_RESULT");
    if (r.type !== "STEP_RESULT") return;
    assert.equal(r.loss, truth.loss);
    assertClose(r.cutGrad.data as Float32Array, truth.cuts[0].grad.data as Float32Array, 1e-6, "cut gradient");
    const b = await front.backward(f.saved, { [cut]: r.cutGrad });
    assert.ok(b.paramGrads.size > 0);
    for (const [k, g] of b.paramGrads) {
      assertClose(g.data as Float32Array, truth.paramGrads.get(k)!.data as Float32Array, 1e-5, `front ${k}`);
    }
    // The server applied SGD(lr 0.1) with the same gradients as the reference.
    await server.model.settle();
    for (const [k, w] of server.model.runner.params) {
      const g = truth.paramGrads.get(k)!.data as Float32Array;
      const expected = before.get(k)!.map((v, i) => v - 0.1 * g[i]);
      assertClose(w.data as Float32Array, expected, 1e-5, `server ${k} after the step`);
    }
    await front.release();
  } finally {
    await server.close();
  }
});

Deno.test("U-shape: middle forward/backward over the server equal the unsplit step", async () => {
  const engine = await testEngine();
  const server = await startServer("ushaped");
  try {
    const cfg = tinyConfig("ushaped");
    const ref = buildSplitModel(cfg.model, "ushaped", "bce");
    const image = randomTensor([3, 1, 8, 8], 5), target = binaryLabels(3);
    const truth = await runOneBatch(engine, ref.segments, { image }, target);

    const mine = buildSplitModel(cfg.model, "ushaped", "bce");
    const [front, head] = await Promise.all([
      SegmentRunner.create(engine, mine.segments[0]),
      SegmentRunner.create(engine, mine.segments[2]),
    ]);
    const cut = mine.segments[0].outputs[0].name, headIn = mine.segments[2].inputs[0].name;
    const a = await new RawClinic(server, "a").connect();
    const f = await front.forward({ image });
    const mf = await a.send({ type: "MIDDLE_FORWARD", stepId: "0:0", epoch: 0, activation: f.outputs[cut] });
    if (mf.type !== "MIDDLE_FORWARD_RESULT") throw new Error(`got ${mf.type}`);
    assertClose(mf.headInput.data as Float32Array, truth.cuts[1].activation.data as Float32Array, 1e-6, "head input");
    const h = await head.step({ [headIn]: mf.headInput }, target);
    assert.equal(h.loss, truth.loss);
    const mb = await a.send({ type: "MIDDLE_BACKWARD", stepId: "0:0", epoch: 0, gradHeadInput: h.inputGrads[headIn] });
    if (mb.type !== "MIDDLE_BACKWARD_RESULT") throw new Error(`got ${mb.type}`);
    assertClose(mb.cutGrad.data as Float32Array, truth.cuts[0].grad.data as Float32Array, 1e-5, "cut gradient");
    const b = await front.backward(f.saved, { [cut]: mb.cutGrad });
    for (const [k, g] of [...b.paramGrads, ...h.paramGrads]) {
      assertClose(g.data as Float32Array, truth.paramGrads.get(k)!.data as Float32Array, 1e-5, `clinic ${k}`);
    }
    // A backward for a step without a held forward is refused.
    const res = await a.post(a.body({
      type: "MIDDLE_BACKWARD",
      stepId: "0:1",
      epoch: 0,
      gradHeadInput: h.inputGrads[headIn],
    }));
    assert.equal(res.status, 409);
    assert.equal((await res.json()).error.code, "UNKNOWN_STEP");
    // Eval returns the head input (no state change).
    const ev = await a.send({ type: "EVAL", activation: f.outputs[cut] });
    assert.equal(ev.type, "EVAL_RESULT");
    assert.ok(gradName(cut).startsWith("grad."));
    await front.release();
    await head.release();
  } finally {
    await server.close();
  }
});

Deno.test("vanilla with the server's reply codec set to int8: the cut gradient comes back quantised, within its bound", async () => {
  const engine = await testEngine();
  const server = await startServer("vanilla", { codec: { dtype: "int8", level: 0 } });
  try {
    const cfg = tinyConfig("vanilla");
    const ref = buildSplitModel(cfg.model, "vanilla", "bce");
    const image = randomTensor([4, 1, 8, 8], 13), target = binaryLabels(4);
    const truth = await runOneBatch(engine, ref.segments, { image }, target);
    const mine = buildSplitModel(cfg.model, "vanilla", "bce");
    const front = await SegmentRunner.create(engine, mine.segments[0]);
    const f = await front.forward({ image });
    const cut = mine.segments[0].outputs[0].name;
    const a = await new RawClinic(server, "a").connect();
    await a.send({ type: "TURN_REQUEST" });
    const r = await a.send({ type: "STEP", stepId: "0:0", epoch: 0, activation: f.outputs[cut], labels: target });
    if (r.type !== "STEP_RESULT") throw new Error(`got ${r.type}`);
    const got = r.cutGrad.data as Float32Array, want = truth.cuts[0].grad.data as Float32Array;
    // Per-channel int8: each value within scale/2 = (channel range)/510 of the exact one; the
    // whole tensor's range bounds every channel's.
    let lo = 0, hi = 0;
    for (const v of want) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    const bound = ((hi - lo) / 510) * 1.001;
    const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
    assert.ok(worst <= bound, `int8 cut gradient: max |difference| ${worst} > scale/2 bound ${bound}`);
    assert.ok(got.some((v, i) => v !== want[i]), "an int8 reply is not bit-identical to float32");
    await front.release();
  } finally {
    await server.close();
  }
});
