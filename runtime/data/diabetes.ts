/**
 * Preprocessing of "Diabetes 130-US hospitals for years 1999–2008" (Strack et
 * al., BioMed Research International 2014; UCI, CC BY 4.0) for 30-day
 * readmission prediction. Every statistic is fitted on the training split only.
 *
 * - label: `readmitted == "<30"` (≈ 11 % positive), float32 [N, 1];
 * - split: by `patient_nbr` (no patient in two splits), seeded, 70/10/20 of
 *   patients by default;
 * - `numeric` float32 [N, 12]: the eight count columns, `age` as the midpoint
 *   of its ten-year bucket, and three counts over the 23 medication columns
 *   (prescribed, dose changed) and prior visits; standardised with training
 *   mean / std. Twelve columns match `ehr_mlp.onnx`'s `numeric` input;
 * - `categorical` int64 [N, 35]: one index per column from a training
 *   vocabulary; `?` is a category of its own, unseen values index 0;
 * - `codes` int64 [N, 3]: `diag_1..3` as indices into one shared ICD-9
 *   vocabulary: 0 = rare (fewer than `rareCodeMin` training occurrences over
 *   the three columns) or unseen, 1 = `?` (missing), then codes by frequency.
 *   With the defaults it has ~560 entries, inside `ehr_mlp.onnx`'s 1000-row
 *   embedding.
 *
 * @example
 * ```ts
 * import { loadDiabetes } from "./diabetes.ts";
 * const d = await loadDiabetes("data/diabetes130.zip", { seed: 42 });
 * console.log(d.train.numeric.dims, d.meta.codeVocabSize);
 * ```
 * @module
 */

import { type Tensor, tensor } from "../../models/tensor.ts";
import { columnIndex, type CsvTable } from "./csv.ts";
import { csvFromZip } from "./csv_file.ts";
import { Vocabulary } from "./encoders.ts";
import { groupSplit, type SplitFractions } from "./group_split.ts";
import {
  categoricalTensor,
  fitScalerOnRows,
  int64Tensor,
  parseNumberCell,
  scaledTensor,
} from "./tabular.ts";

/** The CSV member inside `data/diabetes130.zip`. */
export const DIABETES_MEMBER = "dataset_diabetes/diabetic_data.csv";

/** The 23 medication columns (values No / Steady / Up / Down). */
export const MEDICATION_COLUMNS: readonly string[] = [
  "metformin",
  "repaglinide",
  "nateglinide",
  "chlorpropamide",
  "glimepiride",
  "acetohexamide",
  "glipizide",
  "glyburide",
  "tolbutamide",
  "pioglitazone",
  "rosiglitazone",
  "acarbose",
  "miglitol",
  "troglitazone",
  "tolazamide",
  "examide",
  "citoglipton",
  "insulin",
  "glyburide-metformin",
  "glipizide-metformin",
  "glimepiride-pioglitazone",
  "metformin-rosiglitazone",
  "metformin-pioglitazone",
];

/** Count columns used as numbers as they are. */
export const COUNT_COLUMNS: readonly string[] = [
  "time_in_hospital",
  "num_lab_procedures",
  "num_procedures",
  "num_medications",
  "number_outpatient",
  "number_emergency",
  "number_inpatient",
  "number_diagnoses",
];

/** Numeric features, in tensor order (the counts, then derived ones). */
export const NUMERIC_FEATURES: readonly string[] = [
  ...COUNT_COLUMNS,
  "age", // midpoint of the "[70-80)" bucket: 75
  "n_medications_prescribed", // medication columns not "No"
  "n_medications_changed", // medication columns "Up" or "Down"
  "n_prior_visits", // number_outpatient + number_emergency + number_inpatient
];

/** Categorical columns, in tensor order. */
export const CATEGORICAL_COLUMNS: readonly string[] = [
  "race",
  "gender",
  "weight",
  "admission_type_id",
  "discharge_disposition_id",
  "admission_source_id",
  "payer_code",
  "medical_specialty",
  "max_glu_serum",
  "A1Cresult",
  ...MEDICATION_COLUMNS,
  "change",
  "diabetesMed",
];

/** The three ICD-9 diagnosis columns sharing one code vocabulary. */
export const CODE_COLUMNS: readonly string[] = ["diag_1", "diag_2", "diag_3"];

/** Options of {@linkcode preprocessDiabetes}. */
export interface DiabetesOptions {
  /** Seed of the patient split; default 0. */
  seed?: number;
  /** Fractions of patients for train / val / test; default 70 / 10 / 20. */
  fractions?: SplitFractions;
  /** ICD-9 codes with fewer training occurrences go to the rare index 0; default 10. */
  rareCodeMin?: number;
}

/** One split of the preprocessed data. */
export interface DiabetesSplit {
  /** Standardised numeric features, float32 [N, 12]. */
  numeric: Tensor<"float32">;
  /** Category indices, int64 [N, 35]. */
  categorical: Tensor<"int64">;
  /** ICD-9 code indices of diag_1..3, int64 [N, 3]. */
  codes: Tensor<"int64">;
  /** 1 when readmitted within 30 days, float32 [N, 1]. */
  label: Tensor<"float32">;
  /** `patient_nbr` of each encounter. */
  patientIds: string[];
  /** `encounter_id` of each encounter. */
  encounterIds: string[];
}

/** JSON-serialisable description of the preprocessing, fitted on the training split. */
export interface DiabetesMeta {
  /** Source file name. */
  source: string;
  /** How the label is defined. */
  label: string;
  /** Names of the numeric features (tensor order). */
  numericColumns: string[];
  /** Training mean and std of each numeric feature. */
  scaler: { mean: number[]; std: number[] };
  /** Names of the categorical columns (tensor order). */
  categoricalColumns: string[];
  /** Per categorical column: the value of each index from 1 (0 = unknown). */
  vocabularies: Record<string, string[]>;
  /** Per categorical column (tensor order): number of indices, unknown included. */
  vocabSizes: number[];
  /** The diagnosis columns. */
  codeColumns: string[];
  /** The ICD-9 value of each code index from 1 (index 1 is "?"); index 0 = rare/unseen. */
  codeVocabulary: string[];
  /** Number of code indices (rare bucket included). */
  codeVocabSize: number;
  /** The rare-code threshold used. */
  rareCodeMin: number;
  /** The split. */
  split: { groupColumn: "patient_nbr"; seed: number; fractions: number[] };
  /** Encounters, patients and positives per split. */
  counts: Record<
    "train" | "val" | "test",
    { encounters: number; patients: number; positives: number }
  >;
}

/** The preprocessed data set. */
export interface DiabetesData {
  /** Training split. */
  train: DiabetesSplit;
  /** Validation split. */
  val: DiabetesSplit;
  /** Test split. */
  test: DiabetesSplit;
  /** What was fitted and chosen. */
  meta: DiabetesMeta;
}

/**
 * Midpoint of an age bucket like `[70-80)`.
 *
 * @throws {TypeError} when the cell is not such a bucket
 * @example
 * ```ts
 * import { ageMidpoint } from "./diabetes.ts";
 * ageMidpoint("[70-80)"); // 75
 * ```
 */
export function ageMidpoint(bucket: string): number {
  const m = /^\[(\d+)-(\d+)\)$/.exec(bucket);
  if (!m) throw new TypeError(`age bucket ${JSON.stringify(bucket)}: expected the form "[70-80)"`);
  return (Number(m[1]) + Number(m[2])) / 2;
}

/**
 * Preprocesses the parsed `diabetic_data.csv` table (see the module
 * documentation for the encoding).
 *
 * @throws {RangeError} when an expected column is missing (the message lists the available ones)
 * @throws {TypeError} when a numeric cell is not a number
 *
 * @example
 * ```ts
 * import { csvFromZip } from "./csv_file.ts";
 * import { DIABETES_MEMBER, preprocessDiabetes } from "./diabetes.ts";
 * const table = csvFromZip(Deno.readFileSync("data/diabetes130.zip"), "diabetes130.zip", { member: DIABETES_MEMBER });
 * const d = preprocessDiabetes(table, { seed: 1, rareCodeMin: 20 });
 * ```
 */
export function preprocessDiabetes(table: CsvTable, options: DiabetesOptions = {}): DiabetesData {
  const name = table.fileName;
  const seed = options.seed ?? 0;
  const fractions = options.fractions ?? [0.7, 0.1, 0.2];
  const rareCodeMin = options.rareCodeMin ?? 10;
  if (!Number.isSafeInteger(rareCodeMin) || rareCodeMin < 1) {
    throw new RangeError(`rareCodeMin must be an integer >= 1, got ${rareCodeMin}`);
  }
  const col = (c: string) => columnIndex(table, c);
  const patientCol = col("patient_nbr"),
    encounterCol = col("encounter_id"),
    labelCol = col("readmitted");
  const countIdx = COUNT_COLUMNS.map(col), medIdx = MEDICATION_COLUMNS.map(col);
  const ageCol = col("age");
  const catIdx = CATEGORICAL_COLUMNS.map(col), codeIdx = CODE_COLUMNS.map(col);

  const rows = table.rows;
  const patients = rows.map((r) => r[patientCol]);
  const split = groupSplit(patients, { seed, fractions });

  // Raw numeric features of every row; scaled later with training statistics.
  const width = NUMERIC_FEATURES.length;
  const raw = new Float64Array(rows.length * width);
  const none = new Set<string>(); // the count columns have no missing values
  rows.forEach((record, r) => {
    const o = r * width;
    countIdx.forEach((j, k) =>
      raw[o + k] = parseNumberCell(record[j], none, name, r, COUNT_COLUMNS[k])
    );
    let prescribed = 0, changed = 0;
    for (const j of medIdx) {
      const v = record[j];
      if (v !== "No") prescribed++;
      if (v === "Up" || v === "Down") changed++;
    }
    raw[o + 8] = ageMidpoint(record[ageCol]);
    raw[o + 9] = prescribed;
    raw[o + 10] = changed;
    raw[o + 11] = raw[o + 4] + raw[o + 5] + raw[o + 6];
  });
  const scaler = fitScalerOnRows(raw, width, split.train);

  // Plain loops: Array.from(typedArray, fn) and generators are slow on 10^5 rows.
  const trainCells = (cols: readonly number[]): string[] => {
    const cells: string[] = [];
    for (let i = 0; i < split.train.length; i++) {
      const record = rows[split.train[i]];
      for (let k = 0; k < cols.length; k++) cells.push(record[cols[k]]);
    }
    return cells;
  };
  const vocabs = catIdx.map((j) => Vocabulary.fit(trainCells([j])));
  const codeVocab = Vocabulary.fit(trainCells(codeIdx), { minCount: rareCodeMin, reserved: ["?"] });

  const make = (idx: Uint32Array): DiabetesSplit => {
    const n = idx.length;
    const codes = new Int32Array(n * 3);
    const label = new Float32Array(n);
    const patientIds = new Array<string>(n), encounterIds = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const record = rows[idx[i]];
      for (let k = 0; k < 3; k++) codes[i * 3 + k] = codeVocab.index(record[codeIdx[k]]);
      label[i] = record[labelCol] === "<30" ? 1 : 0;
      patientIds[i] = record[patientCol];
      encounterIds[i] = record[encounterCol];
    }
    return {
      numeric: scaledTensor(raw, width, idx, scaler),
      categorical: categoricalTensor(table, catIdx, vocabs, idx),
      codes: int64Tensor([n, 3], codes),
      label: tensor("float32", [n, 1], label),
      patientIds,
      encounterIds,
    };
  };
  const train = make(split.train), val = make(split.val), test = make(split.test);
  const count = (s: DiabetesSplit) => ({
    encounters: s.patientIds.length,
    patients: new Set(s.patientIds).size,
    positives: s.label.data.reduce((a, x) => a + x, 0),
  });
  return {
    train,
    val,
    test,
    meta: {
      source: name,
      label: 'readmitted == "<30"',
      numericColumns: [...NUMERIC_FEATURES],
      scaler: { mean: [...scaler.mean], std: [...scaler.std] },
      categoricalColumns: [...CATEGORICAL_COLUMNS],
      vocabularies: Object.fromEntries(
        CATEGORICAL_COLUMNS.map((c, k) => [c, [...vocabs[k].values]]),
      ),
      vocabSizes: vocabs.map((v) => v.size),
      codeColumns: [...CODE_COLUMNS],
      codeVocabulary: [...codeVocab.values],
      codeVocabSize: codeVocab.size,
      rareCodeMin,
      split: { groupColumn: "patient_nbr", seed, fractions: [...fractions] },
      counts: { train: count(train), val: count(val), test: count(test) },
    },
  };
}

/**
 * Reads `diabetic_data.csv` straight from the Diabetes 130 zip and preprocesses it.
 *
 * @example
 * ```ts
 * import { loadDiabetes } from "./diabetes.ts";
 * const d = await loadDiabetes("data/diabetes130.zip");
 * console.log(d.meta.counts.train.encounters);
 * ```
 */
export async function loadDiabetes(
  path = "data/diabetes130.zip",
  options: DiabetesOptions = {},
): Promise<DiabetesData> {
  const table = csvFromZip(await Deno.readFile(path), path, { member: DIABETES_MEMBER });
  return preprocessDiabetes(table, options);
}
