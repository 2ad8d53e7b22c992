import assert from "node:assert/strict";
import { parseCsv } from "../../../runtime/data/csv.ts";
import { encodeTabular } from "../../../runtime/data/tabular.ts";

// 60 rows, 20 patients with 3 visits each; "site" categorical, "age"/"bp" numeric, "bp" partly missing.
function cohort(): string {
  const lines = ["patient,age,site,bp,outcome"];
  for (let p = 0; p < 20; p++) {
    for (let v = 0; v < 3; v++) {
      const bp = (p + v) % 7 === 0 ? "NA" : String(100 + p * 3 + v);
      lines.push(
        `P${p},${30 + p + v / 10},${["north", "south", "east"][p % 3]},${bp},${
          p % 4 === 0 ? "died" : "alive"
        }`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

Deno.test("tabular: kinds inferred, grouped split, train-only scaling and vocabularies", () => {
  const t = parseCsv(cohort(), "cohort.csv");
  const d = encodeTabular(t, { label: "outcome", positive: "died", groupBy: "patient", seed: 3 });
  assert.deepEqual(d.meta.numericColumns, ["age", "bp"]);
  assert.deepEqual(d.meta.categoricalColumns, ["site"]);
  assert.deepEqual(d.meta.counts, { train: 42, val: 6, test: 12 });
  const trainGroups = new Set(d.train.groups);
  assert.ok(
    d.test.groups.every((g) => !trainGroups.has(g)) &&
      d.val.groups.every((g) => !trainGroups.has(g)),
  );
  assert.deepEqual(d.train.numeric.dims, [42, 2]);
  assert.deepEqual(d.train.categorical.dims, [42, 1]);
  assert.deepEqual(d.train.label.dims, [42, 1]);
  // The scaler is the training rows' statistics, recomputed here from the raw text.
  const ages = Array.from(d.train.rows, (r) => Number(t.rows[r][1]));
  const mean = ages.reduce((a, x) => a + x, 0) / ages.length;
  assert.ok(Math.abs(d.meta.scaler.mean[0] - mean) < 1e-9);
  const allMean = t.rows.reduce((a, r) => a + Number(r[1]), 0) / t.rows.length;
  assert.notEqual(d.meta.scaler.mean[0], allMean);
  const trainAge = Array.from({ length: 42 }, (_, i) => d.train.numeric.data[i * 2]);
  assert.ok(Math.abs(trainAge.reduce((a, x) => a + x, 0) / 42) < 1e-5);
  const testAge = Array.from({ length: 12 }, (_, i) => d.test.numeric.data[i * 2]);
  assert.ok(Math.abs(testAge.reduce((a, x) => a + x, 0) / 12) > 1e-3);
  // Missing bp became the training mean (0); labels follow `positive`.
  const naRow = d.train.rows.findIndex((r) => t.rows[r][3] === "NA");
  assert.equal(d.train.numeric.data[naRow * 2 + 1], 0);
  d.train.rows.forEach((r, i) =>
    assert.equal(d.train.label.data[i], t.rows[r][4] === "died" ? 1 : 0)
  );
  assert.deepEqual(JSON.parse(JSON.stringify(d.meta)), d.meta);
});

Deno.test("tabular: a category unseen in training maps to 0; numeric labels need no positive", () => {
  const lines = ["id,kind,y"];
  for (let i = 0; i < 40; i++) {
    lines.push(`${i},${i === 39 ? "zebra" : i % 2 ? "cat" : "dog"},${i % 2}`);
  }
  const t = parseCsv(lines.join("\n"), "pets.csv");
  // Row 39 is the only zebra: find a seed that puts it outside training.
  for (let seed = 0; seed < 50; seed++) {
    const d = encodeTabular(t, { label: "y", exclude: ["id"], seed });
    const at = Array.from(d.test.rows).indexOf(39);
    if (at < 0) continue;
    assert.equal(d.test.categorical.data[at], 0n);
    assert.ok(!d.meta.vocabularies.kind.includes("zebra"));
    assert.deepEqual(d.meta.numericColumns, []);
    assert.equal(d.test.label.data[at], 1);
    return;
  }
  assert.fail("no seed put row 39 in the test split");
});

Deno.test("tabular: missing label column and non-numeric labels are explained", () => {
  const t = parseCsv(cohort(), "cohort.csv");
  assert.throws(
    () => encodeTabular(t, { label: "readmitted" }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "cohort.csv: no column 'readmitted'; available columns: patient, age, site, bp, outcome",
  );
  assert.throws(
    () => encodeTabular(t, { label: "outcome" }),
    (e: Error) =>
      e instanceof TypeError && e.message.includes("label column 'outcome' is not numeric") &&
      e.message.includes('"died"') && e.message.includes("positive"),
  );
  assert.throws(
    () => encodeTabular(t, { label: "outcome", positive: "died", groupBy: "pid" }),
    /no column 'pid'/,
  );
  assert.throws(
    () => encodeTabular(t, { label: "outcome", positive: "died", numeric: ["site"] }),
    /cohort\.csv: data row 1: column 'site' expected a number, got "north"/,
  );
});
