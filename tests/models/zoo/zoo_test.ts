import assert from "node:assert/strict";
import { zooModel } from "../../../models/zoo/mod.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { runOneBatch } from "../../../runtime/train/one_batch.ts";
import { relativeError } from "../../../runtime/train/compare_arrays.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";

function randomFloat(rng: Rng, dims: number[]): Tensor {
  const t = tensor("float32", dims);
  for (let i = 0; i < t.data.length; i++) (t.data as Float32Array)[i] = rng.float();
  return t;
}

const engine = await createEngine("native");

for (const name of ["cnn", "ehr", "ft_transformer"] as const) {
  Deno.test(`zoo ${name}: every named cut trains like the unsplit model`, async (t) => {
    const rng = new Rng(5);
    const spec = { image: { channels: 1, size: 28 }, tabular: { numeric: 12, vocabSizes: [3, 5, 2], codeVocab: 40 } };
    const { model, cuts } = zooModel(name, spec, () => rng.float());
    const n = 6;
    const feeds: Record<string, Tensor> = name === "cnn"
      ? { image: randomFloat(rng, [n, 1, 28, 28]) }
      : {
        numeric: randomFloat(rng, [n, 12]),
        categorical: tensor("int64", [n, 3], BigInt64Array.from({ length: n * 3 }, (_, i) => BigInt(i % 2))),
        codes: tensor("int64", [n, 3], BigInt64Array.from({ length: n * 3 }, (_, i) => BigInt((i * 7) % 40))),
      };
    const target = tensor("float32", [n, 1], Float32Array.from({ length: n }, (_, i) => i % 2));
    const whole = await runOneBatch(engine, compileModel(model, { loss: "bce" }), feeds, target);
    for (const [kind, c] of Object.entries(cuts)) {
      await t.step(`${kind} cut (${c.join(" + ")})`, async () => {
        const split = await runOneBatch(engine, compileModel(model, { loss: "bce", cuts: c }), feeds, target);
        assert.ok(Math.abs(split.loss - whole.loss) < 1e-6);
        for (const [k, g] of whole.paramGrads) {
          assert.ok(relativeError(split.paramGrads.get(k)!, g) < 1e-5, k);
        }
      });
    }
  });
}

Deno.test("zoo ehr without diagnosis codes has no codes input", () => {
  const { model } = zooModel("ehr", { tabular: { numeric: 4, vocabSizes: [2], codeVocab: 0 } }, () => 0.5);
  assert.deepEqual(model.graph.inputs.map((i) => i.name), ["numeric", "categorical"]);
});

Deno.test("zooModel refuses unknown names and data of the wrong kind", () => {
  assert.throws(() => zooModel("vgg", {}, Math.random), /unknown zoo model "vgg"/);
  assert.throws(() => zooModel("cnn", { tabular: { numeric: 1, vocabSizes: [], codeVocab: 0 } }, Math.random), /needs image data/);
});

Deno.test("close engine", async () => await engine.dispose());
