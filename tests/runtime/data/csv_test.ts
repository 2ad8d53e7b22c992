import assert from "node:assert/strict";
import fc from "fast-check";
import { zipSync } from "fflate";
import { column, columnIndex, parseCsv } from "../../../runtime/data/csv.ts";
import { csvFromZip, readCsvFile } from "../../../runtime/data/csv_file.ts";

Deno.test("csv: RFC 4180 quoting, escaped quotes, CRLF, fields spanning lines, BOM", () => {
  const text = '\ufeffid,note,score\r\n1,"a, b",3\r\n2,"say ""hi""",4\r\n3,"two\r\nlines",5\r\n';
  const t = parseCsv(text, "notes.csv");
  assert.deepEqual(t.header, ["id", "note", "score"]);
  assert.deepEqual(t.rows, [["1", "a, b", "3"], ["2", 'say "hi"', "4"], [
    "3",
    "two\r\nlines",
    "5",
  ]]);
  assert.deepEqual(column(t, "score"), ["3", "4", "5"]);
  // Bytes work as well as text, and a missing final newline is fine.
  assert.deepEqual(parseCsv(new TextEncoder().encode("a\nx")).rows, [["x"]]);
});

Deno.test("csv: any table of strings survives quoting and parsing (property)", () => {
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }).chain((w) =>
        fc.tuple(
          fc.uniqueArray(
            fc.string({ minLength: 1, unit: "binary" }).filter((h) => !h.startsWith("\ufeff")),
            { minLength: w, maxLength: w },
          ),
          fc.array(fc.array(fc.string({ unit: "binary" }), { minLength: w, maxLength: w }), {
            maxLength: 5,
          }),
        )
      ),
      fc.constantFrom("\n", "\r\n"),
      ([header, rows], eol) => {
        const text = [header, ...rows].map((r) => r.map(quote).join(",")).join(eol) + eol;
        const t = parseCsv(text, "p.csv");
        assert.deepEqual(t.header, header);
        // A quoted empty field ("") is a record, not a blank line, so every row survives.
        assert.deepEqual(t.rows, rows);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("csv: ragged rows are errors naming the file and the line", () => {
  assert.throws(
    () => parseCsv("a,b,c\n1,2,3\n4,5\n", "ragged.csv"),
    (e: Error) =>
      e instanceof SyntaxError &&
      e.message === "ragged.csv: line 3: expected 3 fields (as in the header), got 2",
  );
  // The line count follows physical lines, also past a quoted line break.
  assert.throws(
    () => parseCsv('a,b\n"x\ny",1\n1,2,3\n', "long.csv"),
    /long\.csv: line 4: expected 2 fields \(as in the header\), got 3/,
  );
  assert.throws(
    () => parseCsv('a,b\n"x"y,1\n', "quote.csv"),
    (e: Error) =>
      e instanceof SyntaxError && e.message.startsWith("quote.csv: line 2: Invalid Closing Quote"),
  );
  assert.throws(() => parseCsv("", "empty.csv"), /empty\.csv: empty file: expected a header row/);
  assert.throws(
    () => parseCsv("a,b,a\n1,2,3\n", "dup.csv"),
    /dup\.csv: line 1: duplicate column name 'a'/,
  );
});

Deno.test("csv: a missing column is named, with the available ones listed", () => {
  const t = parseCsv("age,sex,outcome\n1,F,0\n", "cohort.csv");
  assert.equal(columnIndex(t, "outcome"), 2);
  assert.throws(() => columnIndex(t, "readmitted"), (e: Error) =>
    e instanceof RangeError &&
    e.message === "cohort.csv: no column 'readmitted'; available columns: age, sex, outcome");
});

Deno.test("csv: members of a zip are read without unpacking; bad members and archives are named", async () => {
  const enc = new TextEncoder();
  const zip = zipSync({ "d/one.csv": enc.encode("x,y\n1,2\n"), "d/readme.txt": enc.encode("hi") });
  assert.deepEqual(csvFromZip(zip, "one.zip").rows, [["1", "2"]]);
  assert.equal(csvFromZip(zip, "one.zip", { member: "d/one.csv" }).fileName, "one.zip:d/one.csv");
  assert.throws(
    () => csvFromZip(zip, "one.zip", { member: "d/two.csv" }),
    /one\.zip: no member 'd\/two\.csv'; CSV members: d\/one\.csv/,
  );
  const two = zipSync({ "a.csv": enc.encode("x\n1\n"), "b.csv": enc.encode("x\n1\n") });
  assert.throws(
    () => csvFromZip(two, "two.zip"),
    /two\.zip: 2 CSV members, name one with member: a\.csv, b\.csv/,
  );
  assert.throws(
    () => csvFromZip(enc.encode("nope"), "bad.zip"),
    /bad\.zip: not a valid ZIP archive/,
  );
  const ragged = zipSync({ "r.csv": enc.encode("x,y\n1\n") });
  assert.throws(() => csvFromZip(ragged, "r.zip"), /r\.zip:r\.csv: line 2: expected 2 fields/);

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/t.zip`, zip);
    await Deno.writeTextFile(`${dir}/t.csv`, "x,y\n3,4\n");
    assert.deepEqual((await readCsvFile(`${dir}/t.zip`)).rows, [["1", "2"]]);
    assert.deepEqual((await readCsvFile(`${dir}/t.csv`)).rows, [["3", "4"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
