import assert from "node:assert/strict";
import fc from "fast-check";
import { addNode, emptyGraph, type Model } from "../../../models/graph/ir.ts";
import { STANDARDISE_EPSILON, standardiseInputs } from "../../../models/graph/standardise_inputs.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { tensor } from "../../../models/tensor.ts";
import { zooModel } from "../../../models/zoo/mod.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { Rng } from "../../../runtime/data/rng.ts";

/** y = Identity(x): the transformed model then returns the standardised input itself. */
function identityModel(shape: (number | string)[], opset: number): Model {
  const g = emptyGraph("id");
  g.inputs.push({ name: "x", dtype: "float32", shape });
  addNode(g, { opType: "Identity", inputs: ["x"], outputs: ["y"] });
  g.outputs.push({ name: "y", dtype: "float32", shape });
  return { irVersion: 8, opsets: new Map([["", opset]]), producerName: "test", producerVersion: "0", graph: g };
}

/** The reference: per row, (x − mean) / sqrt(var + ε) in float64. */
function reference(x: Float32Array, rows: number): Float64Array {
  const d = x.length / rows, out = new Float64Array(x.length);
  for (let i = 0; i < rows; i++) {
    const r = x.subarray(i * d, (i + 1) * d);
    const m = r.reduce((a, b) => a + b, 0) / d;
    const v = r.reduce((a, b) => a + (b - m) ** 2, 0) / d;
    for (let k = 0; k < d; k++) out[i * d + k] = (r[k] - m) / Math.sqrt(v + STANDARDISE_EPSILON);
  }
  return out;
}

const engine = await createEngine("native");

Deno.test("standardiseInputs: each sample comes out with mean 0 and variance 1, whatever its scale and offset (opsets 17 and 18)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 2, max: 6 }),
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      fc.double({ min: -50, max: 50, noNaN: true }),
      fc.constantFrom(17, 18),
      fc.integer({ min: 0, max: 1000 }),
      async (n, c, hw, scale, offset, opset, seed) => {
        const dims = [n, c, hw, hw];
        const rng = new Rng(seed);
        const x = Float32Array.from({ length: n * c * hw * hw }, () => offset + scale * rng.normal());
        const m = standardiseInputs(identityModel(["N", c, hw, hw], opset), ["x"]);
        const s = await engine.load(writeModel(m));
        const y = (await s.run({ x: tensor("float32", dims, x) })).y;
        await s.release();
        assert.deepEqual(y.dims, dims);
        const want = reference(x, n);
        const got = y.data as Float32Array;
        for (let i = 0; i < want.length; i++) {
          if (Math.abs(got[i] - want[i]) > 1e-3 * (1 + Math.abs(want[i]))) return false;
        }
        return true;
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("standardiseInputs: the input is read only through it, the original model is untouched, and the cut no longer sees exposure", async () => {
  const rng = new Rng(3);
  const zoo = zooModel("cnn", { image: { channels: 1, size: 8 } }, () => rng.float());
  const before = zoo.model.graph.nodes.length;
  const m = standardiseInputs(zoo.model, ["image"]);
  assert.equal(zoo.model.graph.nodes.length, before);
  const readers = m.graph.nodes.filter((n) => n.inputs.includes("image")).map((n) => n.name);
  assert.ok(readers.length > 0 && readers.every((n) => n.startsWith("splitgate_standardise/image/")), readers.join(", "));
  // Nothing new is trained (ε is a scalar constant), and the cut is where it was.
  const plain = compileModel(zoo.model, { loss: "bce", cuts: zoo.cuts.default });
  const std = compileModel(m, { loss: "bce", cuts: zoo.cuts.default });
  assert.deepEqual(std[0].trainable, plain[0].trainable);
  assert.deepEqual(std[1].trainable, plain[1].trainable);
  // Two images that differ only in exposure (a·x + b) reach the cut identically.
  const s = await engine.load(writeModel(std[0].infer));
  const x = Float32Array.from({ length: 64 }, () => rng.float());
  const both = tensor("float32", [2, 1, 8, 8], Float32Array.from([...x, ...x.map((v) => 3 * v + 0.7)]));
  const z = (await s.run({ image: both, ...Object.fromEntries(std[0].params), ...Object.fromEntries(std[0].buffers) }))[std[0].outputs[0].name].data as Float32Array;
  await s.release();
  const half = z.length / 2;
  for (let i = 0; i < half; i++) assert.ok(Math.abs(z[i] - z[half + i]) < 1e-4, `cut value ${i}: ${z[i]} vs ${z[half + i]}`);
});

Deno.test("standardiseInputs refuses an unknown input, a non-float or rank-1 input, and a second application", () => {
  const m = identityModel(["N", 4], 17);
  assert.throws(() => standardiseInputs(m, ["image"]), { name: "RangeError", message: /"image" is not an input of the model \(inputs: x\)/ });
  const ints = identityModel(["N", 4], 17);
  ints.graph.inputs[0] = { name: "x", dtype: "int64", shape: ["N", 4] };
  assert.throws(() => standardiseInputs(ints, ["x"]), /input "x" is int64 of rank 2; expected float32 of rank >= 2/);
  assert.throws(() => standardiseInputs(identityModel(["N"], 17), ["x"]), /float32 of rank 1; expected float32 of rank >= 2/);
  assert.throws(() => standardiseInputs(standardiseInputs(m, ["x"]), ["x"]), /already standardised/);
});
