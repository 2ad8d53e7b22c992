/**
 * Split learning on tables end to end with real clinic processes: each clinic has its own CSV
 * with different local frequencies (clinic B has no "M" at all) and the study's declared data
 * schema; both train, a clinic with a value outside the schema is refused before its first
 * step naming column and value, and `client predict` on a CSV with `--export` gives a model
 * that onnxruntime runs on the raw columns to the same logits.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { parseClientConfig } from "../../runtime/client/client_config.ts";
import { launchClinic } from "../../runtime/client/launcher.ts";
import type { TableSchema } from "../../runtime/data/data_schema.ts";
import { Rng } from "../../runtime/data/rng.ts";
import { makeWorld, startInProcessServer } from "./split_harness.ts";
import { runCli } from "./cli_harness.ts";

const SCHEMA: TableSchema = {
  kind: "table",
  label: { column: "died", positive: "yes", negative: "no" },
  missingTokens: ["", "NA"],
  columns: [
    { name: "age", type: "numeric", mean: 60, std: 15, missing: "mean" },
    {
      name: "sex",
      type: "categorical",
      categories: ["F", "M"],
      unknown: "refuse",
      missing: "other",
    },
    {
      name: "ward",
      type: "categorical",
      categories: ["icu", "med", "surg"],
      unknown: "refuse",
      missing: "other",
    },
  ],
};

function site(n: number, seed: number, pM: number, extra = ""): string {
  const rng = new Rng(seed);
  const lines = ["id,age,sex,ward,died"];
  for (let i = 0; i < n; i++) {
    const age = 30 + 60 * rng.float(), m = rng.float() < pM, ward = ["icu", "med", "surg"][i % 3];
    const died = age / 90 + (ward === "icu" ? 0.4 : 0) + (m ? 0.1 : 0) + 0.3 * rng.float() > 0.9;
    lines.push(
      `${i},${i % 7 === 0 ? "NA" : age.toFixed(1)},${m ? "M" : "F"},${ward},${died ? "yes" : "no"}`,
    );
  }
  return lines.join("\n") + "\n" + extra;
}

Deno.test("split on tables: own CSVs with different frequencies train on one schema; outside values refused; CSV predict and export", async () => {
  const w = await makeWorld({
    mode: "vanilla",
    n: 8,
    epochs: 2,
    batchSize: 16,
    seed: 3,
    clinicAllowExport: { "clinic-a": true },
    serverAllowExport: true,
  });
  const server = JSON.parse(await Deno.readTextFile(w.serverConfigFile));
  server.model = "ehr";
  server.data = { tabular: { numeric: 1, vocabSizes: [3, 4], codeVocab: 0 } };
  await Deno.writeTextFile(w.serverConfigFile, JSON.stringify(server));
  const config = async (name: string, csv: string) => {
    await Deno.writeTextFile(`${w.dataDir}/${name}.csv`, csv);
    const c = JSON.parse(
      await Deno.readTextFile(`${w.root}/${name}.json`).catch(() =>
        Deno.readTextFile(`${w.root}/clinic-a.json`)
      ),
    );
    Object.assign(c, {
      name,
      clinicKey: `keys/${name === "clinic-c" ? "clinic-a" : name}.key`,
      data: `data/${name}.csv`,
      model: "ehr",
      dataSchema: SCHEMA,
    });
    delete c.rows;
    const text = JSON.stringify(c);
    await Deno.writeTextFile(`${w.root}/${name}.json`, text);
    return parseClientConfig(text, w.root);
  };
  const a = await config("clinic-a", site(96, 1, 0.9));
  const b = await config("clinic-b", site(96, 2, 0));
  const c = await config("clinic-c", site(10, 3, 0.5, "11,50,X,icu,no\n"));
  const srv = await startInProcessServer(w);
  try {
    // Refused before any step: one line naming the column, the value and the row.
    await assert.rejects(
      launchClinic(c, "train", { onLine: () => {}, pollMs: 20 }),
      /column 'sex' value "X" \(data row 11\) is not one of the schema's categories \["F","M"\]/,
    );
    // deno task client runs the data check once the study is checked and refuses there, before any process starts.
    const cli = await runCli("client.ts", ["--config", `${w.root}/clinic-c.json`], [
      "--no-prompt",
      "--allow-read",
      "--allow-write",
      "--allow-run",
    ]);
    assert.notEqual(cli.code, 0);
    assert.match(
      cli.stderr,
      /^error: .*clinic-c\.csv: column 'sex' value "X" \(data row 11\) is not one of the schema's categories/m,
    );
    const results = await Promise.all(
      [a, b].map((x) => launchClinic(x, "train", { onLine: () => {}, pollMs: 20 })),
    );
    for (const r of results) {
      assert.ok(Number.isFinite(r.result.eval.test!.loss), `${r.result.clinic} evaluated`);
    }

    // Predict on a new CSV (no label column), with the model exported with its preprocessing.
    const input = `${w.root}/new.csv`;
    await Deno.writeTextFile(input, "age,sex,ward\n71.5,M,icu\nNA,F,med\n45,,surg\n88,F,icu\n");
    const out = `${w.root}/pred.csv`, onnx = `${w.root}/model.onnx`;
    const run = await runCli("client.ts", [
      "predict",
      "--config",
      `${w.root}/clinic-a.json`,
      "--input",
      input,
      "--out",
      out,
      "--export",
      onnx,
    ], [
      "--no-prompt",
      "--allow-read",
      "--allow-write",
      "--allow-run",
    ]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const logits = (await Deno.readTextFile(out)).trim().split("\n").slice(1).map((l) =>
      Number(l.split(",")[2])
    );
    assert.equal(logits.length, 4);
    const session = await ort.InferenceSession.create(await Deno.readFile(onnx));
    const got = await session.run({
      numeric_raw: new ort.Tensor("float32", new Float32Array([71.5, NaN, 45, 88]), [4, 1]),
      categorical_raw: new ort.Tensor("string", ["M", "icu", "F", "med", "", "surg", "F", "icu"], [
        4,
        2,
      ]),
    });
    const raw = got[session.outputNames[0]].data as Float32Array;
    logits.forEach((z, i) =>
      assert.ok(
        Math.abs(raw[i] - z) <= 1e-5 * Math.max(1, Math.abs(z)),
        `row ${i}: onnx ${raw[i]}, split ${z}`,
      )
    );
    assert.ok(new Set(logits).size > 1);
  } finally {
    await srv.stop();
    await w.remove();
  }
});
