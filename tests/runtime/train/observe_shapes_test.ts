// A shape read from the data: compileModel refuses it (UNKNOWN_SHAPE); compileAtBatch
// measures it on the first batch and builds graphs whose gradients match a model with the
// shape written in.
import assert from "node:assert/strict";
import { addNode, emptyGraph, type Model } from "../../../models/graph/ir.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { GradError } from "../../../models/grad/grad_error.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { runOneBatch } from "../../../runtime/train/one_batch.ts";
import { relativeError } from "../../../runtime/train/compare_arrays.ts";
import { compileAtBatch, openTensors } from "../../../runtime/train/observe_shapes.ts";
import { readModel } from "../../../models/onnx/read_model.ts";
import { readNpz } from "../../../runtime/data/npz.ts";

const i64 = (v: number[]) => tensor("int64", [v.length], BigInt64Array.from(v.map(BigInt)));
const seq = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s));

/** x (N,2,3) → Reshape(x, shape) → MatMul W (6,3) → logits; `shape` fed or fixed. */
function model(fixedShape?: number[]): Model {
  const g = emptyGraph("reshape_by_data");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 2, 3] });
  if (fixedShape) g.initializers.set("shape", i64(fixedShape));
  else g.inputs.push({ name: "shape", dtype: "int64", shape: [2] });
  g.initializers.set("W", tensor("float32", [6, 3], seq(18, 0.7)));
  addNode(g, { opType: "Reshape", inputs: ["x", "shape"], outputs: ["flat"] });
  addNode(g, { opType: "MatMul", inputs: ["flat", "W"], outputs: ["logits"] });
  g.outputs.push({ name: "logits", dtype: "float32", shape: ["N", 3] });
  return {
    irVersion: 8,
    opsets: new Map([["", 17]]),
    producerName: "t",
    producerVersion: "0",
    graph: g,
  };
}

Deno.test("a Reshape target fed as data: refused by compileModel, built at the first batch by compileAtBatch", async () => {
  const m = model();
  assert.throws(
    () => compileModel(m, { loss: "ce" }),
    (e) => e instanceof GradError && e.code === "UNKNOWN_SHAPE",
  );
  assert.deepEqual(openTensors(m), ["flat", "logits"]);
  const engine = await createEngine("native");
  try {
    const x = tensor("float32", [4, 2, 3], seq(24, 0.3));
    const target = tensor("int64", [4], BigInt64Array.of(0n, 2n, 1n, 0n));
    const feeds: Record<string, Tensor> = { x, shape: i64([4, 6]) };
    const { segments, measured, pinned } = await compileAtBatch(engine, m, { loss: "ce" }, feeds);
    assert.deepEqual(measured, ["flat", "logits"]);
    assert.deepEqual(pinned, []);
    const got = await runOneBatch(engine, segments, feeds, target);
    const want = await runOneBatch(
      engine,
      compileModel(model([-1, 6]), { loss: "ce" }),
      { x },
      target,
    );
    assert.ok(Math.abs(got.loss - want.loss) <= 1e-6);
    assert.ok(relativeError(got.paramGrads.get("W")!, want.paramGrads.get("W")!) <= 1e-6);
    // A model whose shapes are all known compiles as before, measuring nothing.
    const plain = await compileAtBatch(engine, model([-1, 6]), { loss: "ce" }, { x });
    assert.deepEqual(plain.measured, []);
  } finally {
    await engine.dispose();
  }
});

Deno.test("an LSTM exported with a symbolic sequence length is built for the batch's length, batch axis kept", async () => {
  const shared = new URL("../../fixtures/models/", import.meta.url);
  const m = readModel(await Deno.readFile(new URL("lstm_cls.onnx", shared)));
  m.graph.inputs[0].shape = ["N", "T", 5]; // as exported with dynamic_axes {0: N, 1: T}
  const golden = readNpz(await Deno.readFile(new URL("lstm_cls.golden.npz", shared)));
  const x = golden.get("input.x") as Tensor, target = golden.get("target") as Tensor;
  assert.throws(
    () => compileModel(m, { loss: "ce" }),
    (e) => e instanceof GradError && e.code === "UNKNOWN_SHAPE",
  );
  const engine = await createEngine("native");
  try {
    const { segments, pinned } = await compileAtBatch(engine, m, { loss: "ce" }, { x });
    assert.deepEqual(pinned, ["x axis 1 = 6"]);
    assert.deepEqual(segments[0].inputs[0].shape, ["N", 6, 5]);
    const r = await runOneBatch(engine, segments, { x }, target);
    assert.ok(relativeError(r.logits, golden.get("logits") as Tensor) <= 1e-5);
  } finally {
    await engine.dispose();
  }
});
