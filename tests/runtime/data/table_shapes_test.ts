import assert from "node:assert/strict";
import { parseCsv } from "../../../runtime/data/csv.ts";
import { loadTable } from "../../../runtime/data/load_table.ts";
import { zooSpecOfSchema } from "../../../runtime/data/data_schema.ts";
import { zooModel } from "../../../models/zoo/mod.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { trainCentral } from "../../../runtime/train/central.ts";

/** A learnable synthetic table: y depends on x1, x2 and c; x2 partly missing. */
function table(kind: "numeric" | "categorical" | "mixed", n = 300): string {
  const rng = new Rng(7);
  const lines = [
    kind === "numeric" ? "x1,x2,x3,y" : kind === "categorical" ? "c,d,y" : "x1,x2,c,y",
  ];
  for (let i = 0; i < n; i++) {
    const x1 = rng.float() * 2 - 1, x2 = rng.float() * 2 - 1, c = ["a", "b", "c"][i % 3];
    const y = x1 - x2 + (c === "a" ? 0.8 : -0.4) > 0 ? 1 : 0;
    if (kind === "numeric") {
      lines.push(
        `${(50 + 10 * x1).toFixed(3)},${(5 * x2).toFixed(3)},${rng.float().toFixed(3)},${y}`,
      );
    } else if (kind === "categorical") lines.push(`${c},${x1 - x2 > 0 ? "p" : "q"},${y}`);
    else lines.push(`${x1.toFixed(3)},${i % 11 === 0 ? "NA" : x2.toFixed(3)},${c},${y}`);
  }
  return lines.join("\n") + "\n";
}

for (const kind of ["numeric", "categorical", "mixed"] as const) {
  Deno.test(`tables of any shape: a ${kind} table trains on the zoo EHR network`, async () => {
    const d = loadTable(parseCsv(table(kind), `${kind}.csv`), { label: "y", seed: 1 });
    const spec = zooSpecOfSchema(d.schema);
    assert.equal(spec.numeric > 0, kind !== "categorical");
    assert.equal(spec.vocabSizes.length > 0, kind !== "numeric");
    const rng = new Rng(0);
    const { model } = zooModel("ehr", { tabular: spec }, () => rng.float());
    const engine = await createEngine("wasm", { threads: 1 });
    try {
      const r = await trainCentral({
        engine,
        model,
        loss: "bce",
        data: d,
        epochs: 4,
        batchSize: 32,
        optimizer: { kind: "adam", lr: 0.01 },
        seed: 0,
      });
      assert.ok(r.test.auc > 0.8, `${kind}: test AUC ${r.test.auc}`);
    } finally {
      await engine.dispose();
    }
  });
}
