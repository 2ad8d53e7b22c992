/**
 * Diabetes 130 split by column between two institutions, for vertical split learning:
 *
 * - `hospital` (encounter, demographics, diagnoses; holds the readmission label): numeric
 *   time_in_hospital, num_procedures, number_outpatient/emergency/inpatient, number_diagnoses,
 *   age, n_prior_visits; categorical race, gender, weight, admission type/disposition/source,
 *   payer_code, medical_specialty; the three ICD-9 diagnosis codes;
 * - `pharmacy` (medications and lab results): numeric num_lab_procedures, num_medications,
 *   n_medications_prescribed, n_medications_changed; categorical max_glu_serum, A1Cresult,
 *   the 23 medication columns, change, diabetesMed.
 *
 * Indices refer to the tensors of `diabetes.ts` (`NUMERIC_FEATURES`, `CATEGORICAL_COLUMNS`).
 * One row per patient (the patient's first encounter in the split), so `patient_nbr`
 * identifies a row and the private set intersection can match on it.
 *
 * @example
 * ```ts
 * import { DIABETES_PARTIES } from "./vertical_columns.ts";
 * console.log(DIABETES_PARTIES.hospital.numeric.length + DIABETES_PARTIES.pharmacy.numeric.length); // 12
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { DiabetesMeta, DiabetesSplit } from "./diabetes.ts";
import { takeRows } from "./tensor_dataset.ts";

/** The columns one party holds. */
export interface VerticalColumns {
  /** Indices into the numeric tensor's columns. */
  numeric: number[];
  /** Indices into the categorical tensor's columns. */
  categorical: number[];
  /** Whether the party holds the diagnosis codes. */
  codes: boolean;
}

/** The demo's two institutions. */
export const DIABETES_PARTIES: Readonly<Record<"hospital" | "pharmacy", VerticalColumns>> = {
  hospital: {
    numeric: [0, 2, 4, 5, 6, 7, 8, 11],
    categorical: [0, 1, 2, 3, 4, 5, 6, 7],
    codes: true,
  },
  pharmacy: {
    numeric: [1, 3, 9, 10],
    categorical: Array.from({ length: 27 }, (_, i) => 8 + i),
    codes: false,
  },
};

/** `patient_nbr`'s form in Diabetes 130 (the PSI refuses any other). */
export const PATIENT_NBR_FORMAT = { pattern: "^[0-9]{1,12}$", name: "patient_nbr" } as const;

/**
 * The columns `cols` of a 2-D tensor.
 *
 * @example
 * ```ts
 * import { selectColumns } from "./vertical_columns.ts";
 * import { tensor } from "../../models/tensor.ts";
 * console.log(selectColumns(tensor("float32", [1, 3], new Float32Array([1, 2, 3])), [2, 0]).data); // Float32Array [3, 1]
 * ```
 */
export function selectColumns<T extends Tensor>(t: T, cols: readonly number[]): T {
  const [n, w] = t.dims;
  for (const c of cols) {
    if (!(Number.isInteger(c) && c >= 0 && c < w)) {
      throw new RangeError(`column ${c} out of range [0, ${w})`);
    }
  }
  const src = t.data as unknown as {
    [i: number]: number | bigint;
    constructor: new (n: number) => typeof t.data;
  };
  const out = new (src.constructor)(n * cols.length) as unknown as { [i: number]: number | bigint };
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < cols.length; k++) out[r * cols.length + k] = src[r * w + cols[k]];
  }
  return { dtype: t.dtype, dims: [n, cols.length], data: out } as unknown as T;
}

/**
 * Row index of each patient's first encounter in `split`.
 *
 * @example
 * ```ts
 * import { firstEncounters } from "./vertical_columns.ts";
 * console.log(firstEncounters({ patientIds: ["7", "8", "7"] })); // [0, 1]
 * ```
 */
export function firstEncounters(split: Pick<DiabetesSplit, "patientIds">): number[] {
  const seen = new Set<string>(), rows: number[] = [];
  split.patientIds.forEach((p, r) => {
    if (!seen.has(p)) {
      seen.add(p);
      rows.push(r);
    }
  });
  return rows;
}

/** One party's tensors of one split: its columns of the chosen rows, and their identifiers. */
export interface PartySplit {
  inputs: Record<string, Tensor>;
  /** Present only at the label party. */
  label?: Tensor<"float32">;
  ids: string[];
}

/**
 * Party `cols`'s view of rows `rows` of `split`.
 *
 * @example
 * ```ts
 * import { DIABETES_PARTIES, partySplit } from "./vertical_columns.ts";
 * // const view = partySplit(d.train, DIABETES_PARTIES.pharmacy, rows, false);
 * ```
 */
export function partySplit(
  split: DiabetesSplit,
  cols: VerticalColumns,
  rows: readonly number[],
  withLabel: boolean,
): PartySplit {
  const inputs: Record<string, Tensor> = {
    numeric: selectColumns(takeRows(split.numeric, rows), cols.numeric),
    categorical: selectColumns(takeRows(split.categorical, rows), cols.categorical),
  };
  if (cols.codes) inputs.codes = takeRows(split.codes, rows);
  const out: PartySplit = { inputs, ids: rows.map((r) => split.patientIds[r]) };
  if (withLabel) out.label = takeRows(split.label, rows) as Tensor<"float32">;
  return out;
}

/**
 * The zoo EHR network's encoding sizes for a party's columns.
 *
 * @example
 * ```ts
 * import { DIABETES_PARTIES, partyEncoding } from "./vertical_columns.ts";
 * // partyEncoding(d.meta, DIABETES_PARTIES.hospital) -> { numeric: 8, vocabSizes: [...], codeVocab: 560 }
 * ```
 */
export function partyEncoding(
  meta: DiabetesMeta,
  cols: VerticalColumns,
): { numeric: number; vocabSizes: number[]; codeVocab: number } {
  return {
    numeric: cols.numeric.length,
    vocabSizes: cols.categorical.map((c) => meta.vocabSizes[c]),
    codeVocab: cols.codes ? meta.codeVocabSize : 0,
  };
}
