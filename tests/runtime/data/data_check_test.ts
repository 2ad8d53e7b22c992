import assert from "node:assert/strict";
import { parseCsv } from "../../../runtime/data/csv.ts";
import { checkTable, formatDataCheck } from "../../../runtime/data/data_check.ts";
import type { TableSchema } from "../../../runtime/data/data_schema.ts";

function numbers(n: number, stray?: { row: number; token: string }): string {
  const lines = ["lab,sex,y"];
  for (let i = 0; i < n; i++) {
    lines.push(
      `${stray?.row === i ? stray.token : (i * 1.7).toFixed(1)},${i % 2 ? "F" : "M"},${
        i % 3 ? 0 : 1
      }`,
    );
  }
  return lines.join("\n") + "\n";
}

Deno.test("data check: rows, label balance, inferred types and missing counts", () => {
  const r = checkTable(parseCsv("a,b,y\n1,x,1\nNA,y,0\n3,,0\n", "t.csv"), { label: "y" });
  assert.equal(r.rows, 3);
  assert.deepEqual(r.label, {
    column: "y",
    positive: "1",
    negative: "0",
    positives: 1,
    negatives: 2,
  });
  assert.deepEqual(r.columns, [
    { name: "a", type: "numeric", missing: 1, distinct: 2 },
    { name: "b", type: "categorical", missing: 1, distinct: 2 },
    { name: "y", type: "label", missing: 0, distinct: 2 },
  ]);
  assert.deepEqual(r.errors, []);
  const text = formatDataCheck(r);
  assert.match(
    text,
    /data check: t\.csv: 3 rows; label 'y': 1 positive \("1", 33\.3%\), 2 negative \("0"\)/,
  );
  assert.match(text, /1 numeric, 1 categorical feature columns/);
});

Deno.test("data check: one stray '-' in a numeric column warns, naming the token and its row", () => {
  const clean = checkTable(parseCsv(numbers(40)), { label: "y" });
  assert.deepEqual(clean.warnings, []);
  const r = checkTable(parseCsv(numbers(40, { row: 12, token: "-" }), "lab.csv"), { label: "y" });
  assert.equal(r.columns[0].type, "categorical");
  assert.equal(r.warnings.length, 1);
  assert.match(
    r.warnings[0],
    /column 'lab' is categorical because of "-" \(1 cell, first at data row 13\) among 39 numbers/,
  );
});

Deno.test("data check: labels 1/2 without --positive and an empty label cell are refused clearly", () => {
  const r = checkTable(parseCsv("a,y\n1,1\n2,2\n3,1\n", "c.csv"), { label: "y" });
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0], /holds "1", "2", not 0\/1: name the positive class with --positive/);
  assert.match(formatDataCheck(r), /refused: .*\ndata check: refused/);
  assert.deepEqual(
    checkTable(parseCsv("a,y\n1,1\n2,2\n3,1\n"), { label: "y", positive: "2" }).errors,
    [],
  );
  const e = checkTable(parseCsv("a,y\n1,1\n2,\n", "e.csv"), { label: "y" });
  assert.match(e.errors[0], /label column 'y' is empty at data row 2: every row needs a label/);
});

Deno.test("data check: a class absent at a site warns; a study schema refuses a value outside it", () => {
  const r = checkTable(parseCsv("a,y\n1,0\n2,0\n"), { label: "y" });
  assert.match(r.warnings.join("\n"), /class positive "1" of label 'y' is absent at this site/);
  const schema: TableSchema = {
    kind: "table",
    label: { column: "y", positive: "1", negative: "0" },
    missingTokens: [""],
    columns: [{
      name: "sex",
      type: "categorical",
      categories: ["F", "M"],
      unknown: "refuse",
      missing: "other",
    }],
  };
  const s = checkTable(parseCsv("sex,y\nF,1\nU,0\n", "site.csv"), { schema });
  assert.deepEqual(s.errors, [
    `site.csv: column 'sex' value "U" (data row 2) is not one of the schema's categories ["F","M"]`,
  ]);
});
