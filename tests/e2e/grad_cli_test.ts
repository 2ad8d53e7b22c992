import assert from "node:assert/strict";
import { ownLines, runCli, SHARED_MODELS } from "./cli_harness.ts";
import { readModel } from "../../models/onnx/read_model.ts";
import { writeModel } from "../../models/onnx/write_model.ts";
import { readNpz, writeNpz } from "../../runtime/data/npz.ts";
import { type Tensor, tensor } from "../../models/tensor.ts";
import { addNode, emptyGraph } from "../../models/graph/ir.ts";

// The five PyTorch models in tests/fixtures/models, their loss and suggested cut.
const MODELS = [
  { name: "pneumonia_cnn", loss: "bce", cut: "/features/features.5/MaxPool_output_0" },
  { name: "ehr_mlp", loss: "bce", cut: "/body.1/Relu_output_0" },
  { name: "res_cnn", loss: "ce", cut: "/Relu_2_output_0" },
  // LayerNormalization, exact and tanh GELU, HardSigmoid, HardSwish.
  { name: "token_mixer", loss: "ce", cut: "/Add_output_0" },
  // Conv, BatchNormalization, HardSwish, squeeze-excite ending in HardSigmoid.
  { name: "mobile_se", loss: "ce", cut: "/stem/stem.2/HardSwish_output_0" },
];
const path = (f: string) => new URL(f, SHARED_MODELS).pathname;

async function gradRun(m: (typeof MODELS)[number], engine: string, cut = true) {
  const out = await Deno.makeTempFile({ suffix: ".npz" });
  try {
    const r = await runCli("grad.ts", [
      "--model", path(`${m.name}.onnx`), "--batch", path(`${m.name}.golden.npz`), "--loss", m.loss,
      ...(cut ? ["--cut", m.cut] : []), "--out", out, "--engine", engine,
      "--compare", path(`${m.name}.golden.npz`), "--tolerance", "1e-3",
    ]);
    return { r, arrays: r.code === 0 ? readNpz(await Deno.readFile(out)) : new Map() };
  } finally {
    await Deno.remove(out);
  }
}

for (const engine of ["wasm", "native"]) {
  for (const m of MODELS) {
    Deno.test(`grad CLI reproduces PyTorch's ${m.name} golden arrays on ${engine} (split at ${m.cut})`, async () => {
      const { r, arrays } = await gradRun(m, engine);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const golden = readNpz(await Deno.readFile(path(`${m.name}.golden.npz`)));
      const wanted = [...golden.keys()].filter((k) => !k.startsWith("input.") && k !== "target" && k !== "cut.name");
      // Every golden array was compared and passed (the CLI prints one line per array).
      assert.match(r.stdout, new RegExp(`^${wanted.length} passed, 0 failed$`, "m"));
      for (const k of wanted) assert.ok(arrays.has(k), `output lacks ${k}`);
    });
  }
}

// Sequence models with a dynamic batch axis (seq_models.py); the full engine matrix runs in
// process in tests/runtime/train/pytorch_seq_models_test.ts, the CLI once per model here.
const SEQ_MODELS = [
  { name: "tiny_encoder", loss: "ce", cut: "/Concat_1_output_0", engine: "wasm", arrays: 33 },
  { name: "tiny_encoder_seq", loss: "ce", cut: "/Transpose_output_0", engine: "native", arrays: 33 },
  { name: "lstm_cls", loss: "ce", cut: "/Tanh_output_0", engine: "native", arrays: 24 },
  { name: "gru_cls", loss: "ce", cut: "/Tanh_output_0", engine: "wasm", arrays: 16 },
];
for (const m of SEQ_MODELS) {
  Deno.test(`grad CLI reproduces PyTorch's ${m.name} golden arrays on ${m.engine} (split at ${m.cut})`, async () => {
    const { r } = await gradRun(m, m.engine);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${m.arrays} passed, 0 failed$`, "m"));
  });
}

Deno.test("grad CLI measures a data-dependent shape on the batch instead of refusing it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // x (N,2,3) reshaped by a target fed as data, then MatMul: no rule can know the shape.
    const g = emptyGraph("reshape_by_data");
    g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 2, 3] });
    g.inputs.push({ name: "shape", dtype: "int64", shape: [2] });
    g.initializers.set("W", tensor("float32", [6, 3], Float32Array.from({ length: 18 }, (_, i) => Math.sin(i))));
    addNode(g, { opType: "Reshape", inputs: ["x", "shape"], outputs: ["flat"] });
    addNode(g, { opType: "MatMul", inputs: ["flat", "W"], outputs: ["logits"] });
    g.outputs.push({ name: "logits", dtype: "float32", shape: ["N", 3] });
    const model = { irVersion: 8, opsets: new Map([["", 17]]), producerName: "t", producerVersion: "0", graph: g };
    await Deno.writeFile(`${dir}/m.onnx`, writeModel(model));
    await Deno.writeFile(`${dir}/b.npz`, writeNpz(new Map<string, Tensor>([
      ["input.x", tensor("float32", [4, 2, 3], Float32Array.from({ length: 24 }, (_, i) => Math.cos(i)))],
      ["input.shape", tensor("int64", [2], BigInt64Array.of(4n, 6n))],
      ["target", tensor("int64", [4], BigInt64Array.of(0n, 1n, 2n, 1n))],
    ])));
    const r = await runCli("grad.ts", [
      "--model", `${dir}/m.onnx`, "--batch", `${dir}/b.npz`, "--loss", "ce", "--out", `${dir}/o.npz`, "--engine", "native",
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /note: 2 tensor shape\(s\) depend on the data; measured on this batch/);
    assert.deepEqual(readNpz(await Deno.readFile(`${dir}/o.npz`)).get("grad.W")?.dims, [6, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("grad CLI on webgpu (llvmpipe) reproduces pneumonia_cnn's golden arrays, MaxPool included", async () => {
  const { r } = await gradRun(MODELS[0], "webgpu");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^12 passed, 0 failed$/m);
});

Deno.test("grad CLI on webgpu (llvmpipe) reproduces token_mixer's golden arrays: LayerNormalization, GELU, HardSigmoid, HardSwish", async () => {
  const { r } = await gradRun(MODELS[3], "webgpu");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^18 passed, 0 failed$/m);
});

Deno.test("grad CLI --compare fails when an array differs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const golden = readNpz(await Deno.readFile(path("ehr_mlp.golden.npz")));
    const w = golden.get("grad.body.2.weight") as Tensor<"float32">;
    const off = new Float32Array(w.data);
    for (let i = 0; i < off.length; i++) off[i] *= 1.01; // 1% off: beyond the 1e-3 tolerance
    golden.set("grad.body.2.weight", { ...w, data: off });
    await Deno.writeFile(`${dir}/ref.npz`, writeNpz(golden));
    const r = await runCli("grad.ts", [
      "--model", path("ehr_mlp.onnx"), "--batch", path("ehr_mlp.golden.npz"), "--loss", "bce",
      "--out", `${dir}/o.npz`, "--engine", "native", "--compare", `${dir}/ref.npz`,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL grad\.body\.2\.weight/);
    assert.match(r.stdout, /^\d+ passed, 1 failed$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Asserts a clean one-line error: non-zero exit, `error: …` matching `re`, no stack trace. */
function assertOneLineError(r: { code: number; stderr: string }, re: RegExp) {
  assert.notEqual(r.code, 0);
  const lines = ownLines(r.stderr).filter((l) => !l.startsWith("usage:"));
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
}

Deno.test("grad CLI: bad input gives a one-line error naming the problem", async (t) => {
  const dir = await Deno.makeTempDir();
  const base = (model: string, batch: string, extra: string[] = []) => [
    "--model", model, "--batch", batch, "--loss", "bce", "--out", `${dir}/o.npz`, "--engine", "native", ...extra,
  ];
  const model = path("pneumonia_cnn.onnx"), batch = path("pneumonia_cnn.golden.npz");
  try {
    await t.step("missing model file", async () => {
      assertOneLineError(await runCli("grad.ts", base(`${dir}/nope.onnx`, batch)), /nope\.onnx: file not found/);
    });
    await t.step("--out naming the batch file: refused, the batch left as it was", async () => {
      await Deno.copyFile(batch, `${dir}/mine.npz`);
      const before = await Deno.readFile(`${dir}/mine.npz`);
      const r = await runCli("grad.ts", ["--model", model, "--batch", `${dir}/mine.npz`, "--loss", "bce", "--out", `${dir}/mine.npz`, "--engine", "native"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: --out .*mine\.npz: that is the --batch file; it would be overwritten$/m);
      assert.deepEqual(await Deno.readFile(`${dir}/mine.npz`), before);
    });
    await t.step("a bad --tolerance is refused before the run writes --out", async () => {
      const r = await runCli("grad.ts", [...base(model, batch), "--compare", batch, "--tolerance", "abc"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: --tolerance abc: expected a positive number$/m);
      await assert.rejects(Deno.stat(`${dir}/o.npz`), Deno.errors.NotFound);
    });
    await t.step("non-ONNX bytes", async () => {
      await Deno.writeTextFile(`${dir}/text.onnx`, "this is not a model\n");
      assertOneLineError(await runCli("grad.ts", base(`${dir}/text.onnx`, batch)), /text\.onnx: not an ONNX model/);
    });
    await t.step("unknown cut tensor", async () => {
      assertOneLineError(
        await runCli("grad.ts", base(model, batch, ["--cut", "/no/such/tensor"])),
        /cut tensor "\/no\/such\/tensor" is not produced by any node/,
      );
    });
    await t.step("cut that does not separate the graph", async () => {
      const r = await runCli("grad.ts", [
        "--model", path("res_cnn.onnx"), "--batch", path("res_cnn.golden.npz"), "--loss", "ce",
        "--cut", "/c1/Conv_output_0", "--out", `${dir}/o.npz`, "--engine", "native",
      ]);
      assertOneLineError(r, /reads "\/Relu_output_0".*only the cut tensor may cross a cut/);
    });
    await t.step("unsupported op", async () => {
      const m = readModel(await Deno.readFile(model));
      const relu = m.graph.nodes.find((n) => n.opType === "Relu")!;
      relu.opType = "Elu";
      await Deno.writeFile(`${dir}/elu.onnx`, writeModel(m));
      assertOneLineError(await runCli("grad.ts", base(`${dir}/elu.onnx`, batch)), /node "\/features\/features\.1\/Relu": op Elu has no gradient rule/);
    });
    await t.step("batch of the wrong shape", async () => {
      const g = readNpz(await Deno.readFile(batch));
      const img = g.get("input.image") as Tensor<"float32">;
      g.set("input.image", { dtype: "float32", dims: [8, 1, 27, 28], data: img.data.slice(0, 8 * 27 * 28) });
      await Deno.writeFile(`${dir}/shape.npz`, writeNpz(g));
      assertOneLineError(await runCli("grad.ts", base(model, `${dir}/shape.npz`)), /input "image" has shape \[8, 1, 27, 28\], the model expects \[N, 1, 28, 28\]/);
    });
    await t.step("batch of the wrong dtype", async () => {
      const g = readNpz(await Deno.readFile(batch));
      const img = g.get("input.image") as Tensor<"float32">;
      g.set("input.image", { dtype: "float64", dims: img.dims, data: Float64Array.from(img.data) });
      await Deno.writeFile(`${dir}/dtype.npz`, writeNpz(g));
      assertOneLineError(await runCli("grad.ts", base(model, `${dir}/dtype.npz`)), /input "image" has dtype float64, the model expects float32/);
    });
    await t.step("target of the wrong shape", async () => {
      const g = readNpz(await Deno.readFile(batch));
      g.set("target", { dtype: "float32", dims: [8], data: new Float32Array(8) });
      await Deno.writeFile(`${dir}/target.npz`, writeNpz(g));
      assertOneLineError(await runCli("grad.ts", base(model, `${dir}/target.npz`)), /input "target" has shape \[8\]/);
    });
    await t.step("missing flag", async () => {
      const r = await runCli("grad.ts", ["--model", model]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^error: --batch is required$/m);
      assert.match(r.stderr, /^usage: deno task grad/m);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
