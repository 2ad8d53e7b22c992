import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { parseCsv } from "../../../runtime/data/csv.ts";
import { fitTableSchema } from "../../../runtime/data/schema_fit.ts";
import { encodeTable } from "../../../runtime/data/table_encoder.ts";
import { zooSpecOfSchema } from "../../../runtime/data/data_schema.ts";
import { preprocessingOfSchema, rawColumns } from "../../../runtime/data/schema_preprocessing.ts";
import { zooModel } from "../../../models/zoo/mod.ts";
import { exportModel } from "../../../models/train/export.ts";
import { withTablePreprocessing } from "../../../models/train/table_preprocessing.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";

function mixed(n: number): string {
  const rng = new Rng(3);
  const lines = ["age,bp,site,sex,y"];
  for (let i = 0; i < n; i++) {
    const age = i % 9 === 0 ? "NA" : (30 + 50 * rng.float()).toFixed(2);
    const site = ["north", "south", "east", ""][i % 4];
    lines.push(
      `${age},${(120 + 20 * rng.float()).toFixed(1)},${site},${i % 3 ? "F" : "M"},${i % 2}`,
    );
  }
  return lines.join("\n") + "\n";
}

Deno.test("exported table model with preprocessing: onnxruntime on raw columns reproduces splitgate's predictions", async () => {
  const table = parseCsv(mixed(64), "mixed.csv");
  const schema = fitTableSchema(table, { label: "y", unknown: "other" });
  const rng = new Rng(1);
  const { model } = zooModel("ehr", { tabular: zooSpecOfSchema(schema) }, () => rng.float());
  // Random (untrained) weights are as good as trained ones for a check of the preprocessing.
  const trained = exportModel(model, new Map());
  const enc = encodeTable(table, schema);
  const engine = await createEngine("native");
  let ours: Float32Array;
  try {
    const session = await engine.load(writeModel(trained));
    ours = (await session.run({ numeric: enc.numeric, categorical: enc.categorical })).logits
      .data as Float32Array;
  } finally {
    await engine.dispose();
  }
  const bytes = writeModel(withTablePreprocessing(trained, preprocessingOfSchema(schema)));
  const raw = rawColumns(table, schema);
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({
    numeric_raw: new ort.Tensor("float32", raw.numeric, [raw.rows, 2]),
    categorical_raw: new ort.Tensor("string", raw.categorical, [raw.rows, 2]),
  });
  const theirs = out.logits.data as Float32Array;
  assert.equal(theirs.length, ours.length);
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(theirs[i] - ours[i]));
  assert.ok(worst < 1e-5, `raw-column model differs by ${worst}`);
  assert.ok(
    new Set(Array.from(ours, (x) => x.toFixed(4))).size > 4,
    "predictions must vary with the rows",
  );
  // An unseen category is "other" (index 0) in the exported model, as in the encoder with unknown: "other".
  const unseen = await session.run({
    numeric_raw: new ort.Tensor("float32", new Float32Array([NaN, 120]), [1, 2]),
    categorical_raw: new ort.Tensor("string", ["west", "F"], [1, 2]),
  });
  const e2 = encodeTable(parseCsv("age,bp,site,sex,y\nNA,120,west,F,0\n"), schema);
  const engine2 = await createEngine("native");
  try {
    const s2 = await engine2.load(writeModel(trained));
    const want = (await s2.run({ numeric: e2.numeric, categorical: e2.categorical })).logits
      .data[0] as number;
    assert.ok(Math.abs((unseen.logits.data as Float32Array)[0] - want) < 1e-5);
  } finally {
    await engine2.dispose();
  }
});
