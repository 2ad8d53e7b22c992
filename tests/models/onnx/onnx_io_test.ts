import assert from "node:assert/strict";
import fc from "fast-check";
import { readModel } from "../../../models/onnx/read_model.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { OnnxFormatError } from "../../../models/onnx/errors.ts";
import { tensorFromProto } from "../../../models/onnx/tensor_proto.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { tensor } from "../../../models/tensor.ts";

const SHARED = new URL("../../fixtures/models/", import.meta.url);
const NAMES = ["pneumonia_cnn", "ehr_mlp", "res_cnn", "token_mixer", "mobile_se"];

Deno.test("readModel reads PyTorch's exporter output: inputs, outputs, nodes, weights", async () => {
  const m = readModel(await Deno.readFile(new URL("pneumonia_cnn.onnx", SHARED)));
  assert.equal(m.opsets.get(""), 17);
  assert.deepEqual(m.graph.inputs, [{ name: "image", dtype: "float32", shape: ["N", 1, 28, 28] }]);
  assert.deepEqual(m.graph.outputs.map((o) => o.name), ["logits"]);
  assert.deepEqual(m.graph.nodes.map((n) => n.opType), [
    "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm",
  ]);
  const w = m.graph.initializers.get("features.0.weight")!;
  assert.deepEqual(w.dims, [16, 1, 3, 3]);
  assert.equal(w.dtype, "float32");
  assert.ok((w.data as Float32Array).some((v) => v !== 0));
  assert.deepEqual(m.graph.nodes[0].attrs.pads, { type: "ints", value: [1, 1, 1, 1] });
});

Deno.test("writeModel(readModel(x)) runs in onnxruntime with the same outputs", async () => {
  const engine = await createEngine("native");
  try {
    for (const name of NAMES) {
      const bytes = await Deno.readFile(new URL(`${name}.onnx`, SHARED));
      const again = writeModel(readModel(bytes));
      // Writing what was read is a fixed point after one round.
      assert.deepEqual(writeModel(readModel(again)), again);
      const a = await engine.load(bytes), b = await engine.load(again);
      const feeds = Object.fromEntries(a.inputs.map((i) => {
        const dims = i.shape.map((d) => (typeof d === "number" ? d : 4));
        const t = tensor(i.dtype as "float32" | "int64", dims);
        if (t.dtype === "float32") (t.data as Float32Array).forEach((_, k, arr) => (arr[k] = Math.sin(k)));
        else (t.data as BigInt64Array).forEach((_, k, arr) => (arr[k] = BigInt(k % 7)));
        return [i.name, t];
      }));
      const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
      assert.deepEqual(rb.logits.data, ra.logits.data, name);
    }
  } finally {
    await engine.dispose();
  }
});

Deno.test("readModel refuses bytes that are not an ONNX model", () => {
  for (const bytes of [new Uint8Array(), new TextEncoder().encode("hello world"), new Uint8Array([0xff, 0xff, 0xff])]) {
    assert.throws(() => readModel(bytes, "bad.onnx"), (e) =>
      e instanceof OnnxFormatError && e.code === "NOT_ONNX" && e.message.startsWith("bad.onnx: not an ONNX model"));
  }
});

Deno.test("readModel never throws anything but OnnxFormatError/RangeError on mutated models", async () => {
  const bytes = await Deno.readFile(new URL("ehr_mlp.onnx", SHARED));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.boolean(), (i, v, cut) => {
      const m = cut ? bytes.slice(0, i) : bytes.slice();
      if (!cut) m[i] = v;
      try {
        readModel(m, "m.onnx");
      } catch (e) {
        if (!(e instanceof OnnxFormatError || e instanceof RangeError || e instanceof TypeError)) throw e;
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("tensorFromProto reads typed fields and checks sizes", () => {
  const t = tensorFromProto({ dims: [2], data_type: 7, int64_data: [3, -1] });
  assert.deepEqual(Array.from(t.data as BigInt64Array), [3n, -1n]);
  assert.throws(() => tensorFromProto({ dims: [3], data_type: 1, float_data: [1] }), /has 1 values, shape \[3\] needs 3/);
  assert.throws(() => tensorFromProto({ dims: [2], data_type: 1, raw_data: new Uint8Array(7) }), /raw_data has 7 bytes/);
  assert.throws(() => tensorFromProto({ dims: [1], data_type: 8 }), (e) => e instanceof OnnxFormatError && e.code === "UNSUPPORTED_DTYPE");
  assert.throws(() => tensorFromProto({ dims: [1], data_type: 1, data_location: 1 }), (e) => e instanceof OnnxFormatError && e.code === "EXTERNAL_DATA");
});
