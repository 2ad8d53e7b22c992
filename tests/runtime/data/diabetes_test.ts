import assert from "node:assert/strict";
import { columnIndex } from "../../../runtime/data/csv.ts";
import { csvFromZip } from "../../../runtime/data/csv_file.ts";
import {
  ageMidpoint,
  CATEGORICAL_COLUMNS,
  DIABETES_MEMBER,
  type DiabetesSplit,
  NUMERIC_FEATURES,
  preprocessDiabetes,
} from "../../../runtime/data/diabetes.ts";

const ZIP = new URL("../../../data/diabetes130.zip", import.meta.url);

// Parse the 19 MB CSV once for the whole file.
const t0 = performance.now();
const table = csvFromZip(Deno.readFileSync(ZIP), "diabetes130.zip", { member: DIABETES_MEMBER });
const parseMs = performance.now() - t0;
const d = preprocessDiabetes(table, { seed: 7 });

const colMeans = (s: DiabetesSplit) => {
  const [n, f] = s.numeric.dims;
  const m = new Array(f).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) m[j] += s.numeric.data[i * f + j] / n;
  return m;
};

Deno.test("diabetes: parses the real CSV from the zip, all 101,766 encounters", () => {
  console.log(`  diabetic_data.csv read from the zip and parsed in ${parseMs.toFixed(0)} ms`);
  assert.equal(table.rows.length, 101766);
  assert.equal(table.header.length, 50);
  const { train, val, test } = d.meta.counts;
  assert.equal(train.encounters + val.encounters + test.encounters, 101766);
  assert.equal(train.patients + val.patients + test.patients, 71518);
  // 70 / 10 / 20 of patients.
  assert.equal(train.patients, Math.round(0.7 * 71518));
  assert.equal(val.patients, Math.round(0.1 * 71518));
});

Deno.test("diabetes: patient-grouped split — no patient in two splits", () => {
  const sets = [d.train, d.val, d.test].map((s) => new Set(s.patientIds));
  for (let a = 0; a < 3; a++) {
    for (let b = a + 1; b < 3; b++) {
      const shared = [...sets[a]].filter((p) => sets[b].has(p));
      assert.equal(shared.length, 0, `${shared.length} patients in splits ${a} and ${b}`);
    }
  }
  // Encounters are not duplicated either.
  const enc = new Set([...d.train.encounterIds, ...d.val.encounterIds, ...d.test.encounterIds]);
  assert.equal(enc.size, 101766);
});

Deno.test("diabetes: label is readmitted == '<30', about 11% in every split", () => {
  for (const s of [d.train, d.val, d.test]) {
    const n = s.label.dims[0];
    const rate = s.label.data.reduce((a, x) => a + x, 0) / n;
    assert.ok(rate > 0.10 && rate < 0.125, `positive rate ${rate}`);
  }
  // Spot-check against the raw text.
  const labelCol = columnIndex(table, "readmitted"), encCol = columnIndex(table, "encounter_id");
  const byEnc = new Map(table.rows.map((r) => [r[encCol], r[labelCol]]));
  d.test.encounterIds.slice(0, 500).forEach((e, i) =>
    assert.equal(d.test.label.data[i], byEnc.get(e) === "<30" ? 1 : 0)
  );
});

Deno.test("diabetes: the scaler uses training statistics only", () => {
  assert.deepEqual(d.train.numeric.dims, [d.meta.counts.train.encounters, NUMERIC_FEATURES.length]);
  assert.equal(NUMERIC_FEATURES.length, 12); // ehr_mlp.onnx's numeric input width
  const train = colMeans(d.train), test = colMeans(d.test);
  assert.ok(train.every((m) => Math.abs(m) < 1e-4), `train means ${train}`);
  assert.ok(test.some((m) => Math.abs(m) > 1e-3), `test means ${test}`);
  // Recompute time_in_hospital's training mean from the text: equal to meta, not to the all-rows mean.
  const col = columnIndex(table, "time_in_hospital"), pcol = columnIndex(table, "patient_nbr");
  const trainPatients = new Set(d.train.patientIds);
  let sum = 0, n = 0, all = 0;
  for (const r of table.rows) {
    all += Number(r[col]);
    if (trainPatients.has(r[pcol])) sum += Number(r[col]), n++;
  }
  assert.ok(Math.abs(d.meta.scaler.mean[0] - sum / n) < 1e-9);
  assert.ok(Math.abs(d.meta.scaler.mean[0] - all / table.rows.length) > 1e-6);
  assert.equal(ageMidpoint("[70-80)"), 75);
  assert.throws(() => ageMidpoint("70"), /age bucket "70"/);
});

Deno.test("diabetes: categorical and code vocabularies come from the training split", () => {
  assert.deepEqual(d.train.categorical.dims, [
    d.meta.counts.train.encounters,
    CATEGORICAL_COLUMNS.length,
  ]);
  const f = CATEGORICAL_COLUMNS.length;
  for (const s of [d.train, d.val, d.test]) {
    for (let i = 0; i < s.categorical.data.length; i++) {
      assert.ok(s.categorical.data[i] < BigInt(d.meta.vocabSizes[i % f]));
    }
  }
  // Training rows never hit "unknown" (index 0): every training value is in the vocabulary.
  assert.ok(d.train.categorical.data.every((x) => x > 0n));
  // '?' is a category of its own (race has missing values).
  assert.ok(d.meta.vocabularies.race.includes("?"));
  // One shared ICD-9 vocabulary: 0 = rare/unseen, 1 = '?', small enough for ehr_mlp's 1000-row embedding.
  assert.equal(d.meta.codeVocabulary[0], "?");
  assert.ok(
    d.meta.codeVocabSize > 300 && d.meta.codeVocabSize < 1000,
    `code vocab ${d.meta.codeVocabSize}`,
  );
  assert.deepEqual(d.test.codes.dims, [d.meta.counts.test.encounters, 3]);
  const max = d.test.codes.data.reduce((a, x) => (x > a ? x : a), 0n);
  assert.ok(max < BigInt(d.meta.codeVocabSize));
  const diag1 = columnIndex(table, "diag_1"), ecol = columnIndex(table, "encounter_id");
  const row = new Map(table.rows.map((r) => [r[ecol], r]));
  d.train.encounterIds.slice(0, 300).forEach((e, i) => {
    const code = row.get(e)![diag1];
    const idx = Number(d.train.codes.data[i * 3]);
    if (idx > 0) assert.equal(d.meta.codeVocabulary[idx - 1], code);
  });
  assert.deepEqual(JSON.parse(JSON.stringify(d.meta)), d.meta);
});

Deno.test("diabetes: seed and rare-code threshold change the output as documented", () => {
  const other = preprocessDiabetes(table, { seed: 8, rareCodeMin: 100 });
  assert.notDeepEqual(new Set(other.test.patientIds), new Set(d.test.patientIds));
  assert.ok(other.meta.codeVocabSize < d.meta.codeVocabSize);
  assert.throws(
    () => preprocessDiabetes(table, { rareCodeMin: 0 }),
    /rareCodeMin must be an integer >= 1, got 0/,
  );
});
