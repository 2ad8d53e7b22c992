import assert from "node:assert/strict";
import { readModel } from "../../../models/onnx/read_model.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { splitModel, SplitError } from "../../../models/train/split.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { readNpz } from "../../../runtime/data/npz.ts";
import { runOneBatch } from "../../../runtime/train/one_batch.ts";
import { relativeError } from "../../../runtime/train/compare_arrays.ts";
import type { Tensor } from "../../../models/tensor.ts";
import type { LossKind } from "../../../models/grad/loss.ts";

const SHARED = new URL("../../fixtures/models/", import.meta.url);

// Each fixture model with its suggested cut, another single cut, and a U-shaped pair.
const CASES: { name: string; loss: LossKind; cuts: string[][] }[] = [
  {
    name: "pneumonia_cnn",
    loss: "bce",
    cuts: [
      ["/features/features.5/MaxPool_output_0"],
      ["/features/features.2/MaxPool_output_0"],
      ["/features/features.2/MaxPool_output_0", "/head/head.2/Relu_output_0"],
    ],
  },
  {
    name: "ehr_mlp",
    loss: "bce",
    cuts: [["/body.1/Relu_output_0"], ["/Concat_output_0"], ["/body.1/Relu_output_0", "/body.3/Relu_output_0"]],
  },
  {
    name: "res_cnn",
    loss: "ce",
    cuts: [["/Relu_2_output_0"], ["/Relu_output_0"], ["/Relu_output_0", "/ReduceMean_output_0"]],
  },
  {
    // LayerNormalization, exact and tanh GELU, HardSigmoid, HardSwish on (N, 5, 16) tokens.
    name: "token_mixer",
    loss: "ce",
    cuts: [
      ["/Add_output_0"],
      ["/norm2/LayerNormalization_output_0"],
      ["/embed/Add_output_0", "/ReduceMean_output_0"],
    ],
  },
  {
    // mobilenet_v3-style: BatchNormalization, HardSwish, depthwise Conv, HardSigmoid gate.
    name: "mobile_se",
    loss: "ce",
    cuts: [
      // The skip connection spans the block: cuts go before or after it, not inside.
      ["/stem/stem.2/HardSwish_output_0"],
      ["/Add_output_0"],
      ["/stem/stem.2/HardSwish_output_0", "/GlobalAveragePool_output_0"],
    ],
  },
];

const engine = await createEngine("native");

for (const c of CASES) {
  Deno.test(`${c.name}: every split gives the unsplit model's gradients`, async (t) => {
    const model = readModel(await Deno.readFile(new URL(`${c.name}.onnx`, SHARED)));
    const golden = readNpz(await Deno.readFile(new URL(`${c.name}.golden.npz`, SHARED)));
    const feeds: Record<string, Tensor> = {};
    for (const [k, v] of golden) if (k.startsWith("input.")) feeds[k.slice(6)] = v as Tensor;
    const target = golden.get("target") as Tensor;
    const whole = await runOneBatch(engine, compileModel(model, { loss: c.loss }), feeds, target);
    assert.equal(whole.cuts.length, 0);
    for (const cuts of c.cuts) {
      await t.step(`cut at ${cuts.join(" + ")}`, async () => {
        const segments = compileModel(model, { loss: c.loss, cuts });
        assert.equal(segments.length, cuts.length + 1);
        const split = await runOneBatch(engine, segments, feeds, target);
        assert.ok(Math.abs(split.loss - whole.loss) <= 1e-6 * Math.abs(whole.loss));
        assert.equal(split.paramGrads.size, whole.paramGrads.size);
        for (const [name, g] of whole.paramGrads) {
          const e = relativeError(split.paramGrads.get(name)!, g);
          assert.ok(e <= 1e-5, `${name}: relative error ${e}`);
        }
        // Each segment owns only its weights: together they cover the model's parameters once.
        const owned = segments.flatMap((s) => [...s.params.keys()]);
        assert.equal(new Set(owned).size, owned.length);
        assert.equal(owned.length, whole.paramGrads.size);
        assert.deepEqual(split.cuts.map((x) => x.name), cuts);
      });
    }
  });
}

Deno.test("the suggested cut's activation and gradient equal PyTorch's", async () => {
  for (const c of CASES) {
    const model = readModel(await Deno.readFile(new URL(`${c.name}.onnx`, SHARED)));
    const golden = readNpz(await Deno.readFile(new URL(`${c.name}.golden.npz`, SHARED)));
    const feeds: Record<string, Tensor> = {};
    for (const [k, v] of golden) if (k.startsWith("input.")) feeds[k.slice(6)] = v as Tensor;
    const r = await runOneBatch(engine, compileModel(model, { loss: c.loss, cuts: c.cuts[0] }), feeds, golden.get("target") as Tensor);
    assert.ok(relativeError(r.cuts[0].activation, golden.get("cut.activation") as Tensor) <= 1e-5);
    assert.ok(relativeError(r.cuts[0].grad, golden.get("cut.grad") as Tensor) <= 1e-4);
  }
});

Deno.test("splitModel refuses cuts that would let data or weights cross", async () => {
  const res = readModel(await Deno.readFile(new URL("res_cnn.onnx", SHARED)));
  assert.throws(() => splitModel(res, ["/c1/Conv_output_0"]), (e) => e instanceof SplitError && e.code === "CUT_CROSSING");
  assert.throws(() => splitModel(res, ["nope"]), (e) => e instanceof SplitError && e.code === "UNKNOWN_CUT");
  assert.throws(
    () => splitModel(res, ["/Relu_2_output_0", "/Relu_output_0"]),
    (e) => e instanceof SplitError && e.code === "CUT_ORDER",
  );
  const ehr = readModel(await Deno.readFile(new URL("ehr_mlp.onnx", SHARED)));
  // After this cut the Concat still reads the raw `numeric` input: raw data would cross.
  assert.throws(
    () => splitModel(ehr, ["/ReduceMean_output_0"]),
    (e) => e instanceof SplitError && e.code === "CUT_CROSSING" && /model input \(raw data\)/.test(e.message),
  );
  // Weight tying across a cut is refused.
  const tied = readModel(await Deno.readFile(new URL("ehr_mlp.onnx", SHARED)));
  const g4 = tied.graph.nodes.find((n) => n.name === "/body.4/Gemm")!;
  const g0 = tied.graph.nodes.find((n) => n.name === "/body.0/Gemm")!;
  g4.inputs[2] = g0.inputs[2] = "body.4.bias"; // first and last layer share one bias tensor
  assert.throws(
    () => splitModel(tied, ["/body.1/Relu_output_0"]),
    (e) => e instanceof SplitError && e.code === "SHARED_WEIGHT",
  );
});

Deno.test("close engine", async () => {
  await engine.dispose();
});
