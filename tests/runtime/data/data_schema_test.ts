import assert from "node:assert/strict";
import fc from "fast-check";
import { parseCsv } from "../../../runtime/data/csv.ts";
import { parseDataSchema, type TableSchema } from "../../../runtime/data/data_schema.ts";
import { DataSchemaError } from "../../../runtime/data/data_schema_error.ts";
import { encodeTable } from "../../../runtime/data/table_encoder.ts";
import {
  applyStatistics,
  draftTableSchema,
  fitTableSchema,
  tableStatistics,
} from "../../../runtime/data/schema_fit.ts";

const SCHEMA: TableSchema = {
  kind: "table",
  label: { column: "y", positive: "1", negative: "0" },
  missingTokens: ["", "NA"],
  columns: [
    { name: "age", type: "numeric", mean: 50, std: 10, missing: "mean" },
    {
      name: "sex",
      type: "categorical",
      categories: ["F", "M"],
      unknown: "refuse",
      missing: "other",
    },
  ],
};

Deno.test("data schema: a valid schema round-trips through JSON", () => {
  assert.deepEqual(parseDataSchema(JSON.parse(JSON.stringify(SCHEMA))), SCHEMA);
  const image = {
    kind: "image",
    shape: { channels: 1, height: 28, width: 28 },
    normalisation: { divide: 255, mean: [0.5], std: [0.25] },
  };
  assert.deepEqual(parseDataSchema(image), image);
});

Deno.test("data schema: bad input is refused with a message naming the field", () => {
  const bad = (edit: (s: any) => void, field: RegExp) => {
    const s = structuredClone(SCHEMA) as any;
    edit(s);
    assert.throws(() => parseDataSchema(s), (e: unknown) => {
      assert.ok(e instanceof DataSchemaError && e.code === "SCHEMA_INVALID", String(e));
      assert.match((e as Error).message, field);
      return true;
    });
  };
  bad(
    (s) => (s.columns[1].categories = ["M", "F"]),
    /schema\.columns\[1\]\.categories must be sorted/,
  );
  bad((s) => (s.columns[0].std = 0), /schema\.columns\[0\]\.std must be a finite number > 0/);
  bad((s) => delete s.label.positive, /schema\.label\.positive/);
  bad((s) => (s.columns[0].type = "text"), /schema\.columns\[0\]\.type/);
  bad((s) => (s.columns[1].name = "age"), /schema\.columns\[1\]\.name/);
  bad((s) => (s.extra = 1), /^schema\.extra must be absent/);
  bad((s) => (s.kind = "audio"), /schema\.kind/);
});

Deno.test("table encoder: uses the schema only, whatever the local frequencies", () => {
  // Clinic A is mostly M and old, clinic B mostly F and young: a per-clinic vocabulary by
  // frequency or per-clinic scaling would give them different codes for the same value.
  const a = parseCsv("age,sex,y\n70,M,1\n80,M,1\n60,M,0\n40,F,0\n", "a.csv");
  const b = parseCsv("age,sex,y\n20,F,0\n30,F,0\n25,F,1\n60,M,1\n", "b.csv");
  const ea = encodeTable(a, SCHEMA), eb = encodeTable(b, SCHEMA);
  assert.equal(ea.categorical.data[0], 2n); // M at A
  assert.equal(eb.categorical.data[3], 2n); // M at B
  assert.equal(ea.categorical.data[3], 1n); // F at A
  assert.equal(eb.categorical.data[0], 1n); // F at B
  assert.equal(ea.numeric.data[2], 1); // 60 at A
  assert.equal(eb.numeric.data[3], 1); // 60 at B
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.boolean()), {
        minLength: 1,
        maxLength: 30,
      }),
      (rows) => {
        const csv = "age,sex,y\n" + rows.map(([x, m]) => `${x},${m ? "M" : "F"},0`).join("\n") +
          "\n";
        const e = encodeTable(parseCsv(csv), SCHEMA);
        rows.forEach(([x, m], i) => {
          assert.equal(e.categorical.data[i], m ? 2n : 1n);
          assert.ok(Math.abs(e.numeric.data[i] - (x - 50) / 10) < 1e-6);
        });
      },
    ),
  );
});

Deno.test("table encoder: a category missing at one site still encodes; missing cells follow the policy", () => {
  const onlyF = parseCsv("age,sex,y\n20,F,0\nNA,,1\n", "c.csv");
  const e = encodeTable(onlyF, SCHEMA);
  assert.deepEqual([...e.categorical.data], [1n, 0n]);
  assert.deepEqual([...e.numeric.data], [-3, 0]);
  assert.deepEqual([...e.label.data], [0, 1]);
});

Deno.test("table encoder: a value outside the schema is refused naming column, value and row", () => {
  const t = parseCsv("age,sex,y\n20,F,0\n30,X,1\n", "site.csv");
  assert.throws(() => encodeTable(t, SCHEMA), (e: unknown) => {
    assert.ok(e instanceof DataSchemaError && e.code === "VALUE_OUTSIDE_SCHEMA");
    assert.equal(
      (e as Error).message,
      `site.csv: column 'sex' value "X" (data row 2) is not one of the schema's categories ["F","M"]`,
    );
    return true;
  });
  assert.throws(
    () => encodeTable(parseCsv("age,sex,y\n-,F,0\n", "n.csv"), SCHEMA),
    /n\.csv: column 'age' value "-" \(data row 1\) is not a number/,
  );
  assert.throws(
    () => encodeTable(parseCsv("age,y\n20,0\n", "m.csv"), SCHEMA),
    (e: unknown) =>
      e instanceof DataSchemaError && e.code === "COLUMN_MISSING" && /'sex'/.test(e.message),
  );
  assert.throws(
    () => encodeTable(parseCsv("age,sex,y\n20,F,2\n", "l.csv"), SCHEMA),
    (e: unknown) =>
      e instanceof DataSchemaError && e.code === "LABEL_INVALID" &&
      /"2" \(data row 1\)/.test(e.message),
  );
});

Deno.test("schema fit: sorted vocabularies; summed per-clinic statistics equal the pooled fit", () => {
  const all = "age,sex,y\n70,M,1\n80,M,1\n60,M,0\n40,F,0\n20,F,0\n30,F,0\n25,F,1\n60,M,1\n";
  const pooled = parseCsv(all, "pooled.csv");
  const fitted = fitTableSchema(pooled, { label: "y" });
  assert.deepEqual(fitted.columns[1], {
    name: "sex",
    type: "categorical",
    categories: ["F", "M"],
    unknown: "refuse",
    missing: "other",
  });
  const lines = all.trim().split("\n");
  const a = parseCsv([lines[0], ...lines.slice(1, 5)].join("\n"), "a.csv");
  const b = parseCsv([lines[0], ...lines.slice(5)].join("\n"), "b.csv");
  const draft = draftTableSchema(pooled, { label: "y" });
  const sa = tableStatistics(a, draft), sb = tableStatistics(b, draft);
  const summed = applyStatistics(draft, sa.map((x, i) => x + sb[i]));
  const num = (s: TableSchema) => s.columns[0] as { mean: number; std: number };
  assert.ok(Math.abs(num(summed).mean - num(fitted).mean) < 1e-9);
  assert.ok(Math.abs(num(summed).std - num(fitted).std) < 1e-9);
  assert.equal(num(fitted).mean, 48.125);
});

Deno.test("schema fit: labels coded 1/2 and empty label cells are refused with a clear message", () => {
  const t = parseCsv("a,y\n1,1\n2,2\n", "twelve.csv");
  assert.throws(
    () => fitTableSchema(t, { label: "y" }),
    /holds "1", "2", not 0\/1: name the positive class with --positive/,
  );
  assert.deepEqual(fitTableSchema(t, { label: "y", positive: "2" }).label, {
    column: "y",
    positive: "2",
    negative: "1",
  });
  const empty = parseCsv("a,y\n1,1\n2,\n", "empty.csv");
  assert.throws(
    () => fitTableSchema(empty, { label: "y" }),
    /label column 'y' is empty at data row 2/,
  );
});

Deno.test("schema by secure summation: the server's sum of masked clinic statistics gives the pooled scaling", async () => {
  const { x25519 } = await import("@noble/curves/ed25519.js");
  const { schemaFromShares, schemaShare } = await import(
    "../../../runtime/data/schema_secure_sum.ts"
  );
  const all = "age,sex,y\n70,M,1\n80,M,1\n60,M,0\n40,F,0\n20,F,0\n30,F,0\n25,F,1\n60,M,1\n";
  const pooled = parseCsv(all, "pooled.csv");
  const lines = all.trim().split("\n");
  const sites = [
    parseCsv([lines[0], ...lines.slice(1, 4)].join("\n")),
    parseCsv([lines[0], ...lines.slice(4)].join("\n")),
  ];
  const draft = draftTableSchema(pooled, { label: "y" });
  const secrets = [new Uint8Array(32).fill(3), new Uint8Array(32).fill(4)];
  const parties = secrets.map((s, i) => ({
    name: `clinic-${i}`,
    publicKey: x25519.getPublicKey(s),
  }));
  const ctx = new TextEncoder().encode("study/schema");
  const shares = sites.map((t, i) =>
    schemaShare(t, draft, undefined, { name: parties[i].name, secretKey: secrets[i] }, parties, ctx)
  );
  const { schema } = schemaFromShares(draft, shares);
  const fitted = fitTableSchema(pooled, { label: "y" });
  const a = schema.columns[0] as { mean: number; std: number },
    b = fitted.columns[0] as { mean: number; std: number };
  assert.ok(
    Math.abs(a.mean - b.mean) < 1e-6 && Math.abs(a.std - b.std) < 1e-6,
    `${a.mean}/${a.std} vs ${b.mean}/${b.std}`,
  );
});
