/**
 * The general tabular path (`--label <column>` for a user's own CSV): a table,
 * a label column and optionally a group column become train / validation /
 * test tensors. Column kinds are inferred (numeric when every non-missing
 * training value is a number, else categorical) unless given. Numeric columns
 * are standardised and categorical vocabularies built on the training split
 * only; missing numerics become the training mean (0 after scaling), unseen
 * categories index 0.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { encodeTabular } from "./tabular.ts";
 * const table = parseCsv("age,sex,y\n50,F,1\n60,M,0\n70,F,1\n40,M,0\n", "toy.csv");
 * const data = encodeTabular(table, { label: "y", seed: 1, fractions: [0.5, 0, 0.5] });
 * console.log(data.meta.numericColumns, data.meta.categoricalColumns); // ["age"] ["sex"]
 * ```
 * @module
 */

import { type Tensor, tensor } from "../../models/tensor.ts";
import { columnIndex, type CsvTable } from "./csv.ts";
import { StandardScaler, Vocabulary } from "./encoders.ts";
import { groupSplit, type RowSplit, type SplitFractions } from "./group_split.ts";

/** Cell values read as "missing" by default. */
export const DEFAULT_MISSING: readonly string[] = [
  "",
  "?",
  "NA",
  "N/A",
  "NaN",
  "nan",
  "null",
  "NULL",
];

/** One split of an encoded table. */
export interface TabularSplit {
  /** Standardised numeric features, float32 [N, numericColumns.length]. */
  numeric: Tensor<"float32">;
  /** Category indices, int64 [N, categoricalColumns.length]; 0 = unknown. */
  categorical: Tensor<"int64">;
  /** Labels, float32 [N, 1]. */
  label: Tensor<"float32">;
  /** Source row of each sample (0 = first data row). */
  rows: Uint32Array;
  /** Group id of each sample (the `groupBy` column, or the row number). */
  groups: string[];
}

/** What was fitted and chosen, JSON-serialisable, to encode new data the same way. */
export interface TabularMeta {
  /** Where the table came from. */
  source: string;
  /** The label column. */
  labelColumn: string;
  /** The label value counted as 1, or null for numeric labels. */
  positive: string | null;
  /** The group column, or null when rows were split individually. */
  groupColumn: string | null;
  /** Numeric feature columns, in tensor order. */
  numericColumns: string[];
  /** Categorical feature columns, in tensor order. */
  categoricalColumns: string[];
  /** Per categorical column: the value of each index from 1 (index 0 is unknown). */
  vocabularies: Record<string, string[]>;
  /** Per categorical column (tensor order): number of indices, unknown included. */
  vocabSizes: number[];
  /** Training-split mean and std of each numeric column. */
  scaler: { mean: number[]; std: number[] };
  /** The split: seed and group fractions. */
  split: { seed: number; fractions: number[] };
  /** Samples per split. */
  counts: { train: number; val: number; test: number };
  /** Cell values treated as missing. */
  missing: string[];
}

/** An encoded table: three splits and their metadata. */
export interface TabularData {
  /** Training split. */
  train: TabularSplit;
  /** Validation split. */
  val: TabularSplit;
  /** Test split. */
  test: TabularSplit;
  /** Fitted encoders and choices. */
  meta: TabularMeta;
}

/** Options of {@linkcode encodeTabular}. */
export interface TabularOptions {
  /** The label column. */
  label: string;
  /** Label value that means 1 (others 0); needed when the label is not numeric. */
  positive?: string;
  /** Group column (e.g. a patient id): no group is in two splits. Default: split by row. */
  groupBy?: string;
  /** Columns to leave out (ids, free text). */
  exclude?: readonly string[];
  /** Force these columns to be numeric. */
  numeric?: readonly string[];
  /** Force these columns to be categorical. */
  categorical?: readonly string[];
  /** Split seed; default 0. */
  seed?: number;
  /** Group fractions for train / val / test; default 70 / 10 / 20. */
  fractions?: SplitFractions;
  /** Cell values meaning "missing"; default {@linkcode DEFAULT_MISSING}. */
  missing?: readonly string[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a decimal number cell; `NaN` for a missing cell.
 *
 * @throws {TypeError} when the cell is neither missing nor a number
 * @example
 * ```ts
 * import { parseNumberCell } from "./tabular.ts";
 * parseNumberCell("1.5e3", new Set(["?"]), "t.csv", 0, "x"); // 1500
 * ```
 */
export function parseNumberCell(
  cell: string,
  missing: ReadonlySet<string>,
  fileName: string,
  row: number,
  columnName: string,
): number {
  if (missing.has(cell)) return NaN;
  const s = cell.trim();
  if (!NUMBER.test(s)) {
    throw new TypeError(
      `${fileName}: data row ${row + 1}: column '${columnName}' expected a number, got ${
        JSON.stringify(cell)
      }`,
    );
  }
  return Number(s);
}

/**
 * Builds the float32 [N, F] tensor of standardised features for `rows` from a
 * raw row-major matrix (NaN = missing) of all rows.
 *
 * @example
 * ```ts
 * import { scaledTensor } from "./tabular.ts";
 * import { StandardScaler } from "./encoders.ts";
 * scaledTensor(new Float64Array([1, 3]), 1, Uint32Array.from([1]), new StandardScaler([2], [1])).data; // [1]
 * ```
 */
export function scaledTensor(
  raw: Float64Array,
  width: number,
  rows: Uint32Array,
  scaler: StandardScaler,
): Tensor<"float32"> {
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) {
    scaler.transform(
      raw.subarray(rows[i] * width, rows[i] * width + width),
      out.subarray(i * width, i * width + width),
    );
  }
  return tensor("float32", [rows.length, width], out);
}

/**
 * Fits a {@linkcode StandardScaler} on the training rows of a raw row-major matrix.
 *
 * @example
 * ```ts
 * import { fitScalerOnRows } from "./tabular.ts";
 * fitScalerOnRows(new Float64Array([1, 3, 100]), 1, Uint32Array.from([0, 1])).mean; // [2]
 * ```
 */
export function fitScalerOnRows(
  raw: Float64Array,
  width: number,
  rows: Uint32Array,
): StandardScaler {
  const views: Float64Array[] = [];
  for (let i = 0; i < rows.length; i++) {
    views.push(raw.subarray(rows[i] * width, rows[i] * width + width));
  }
  return StandardScaler.fit(views);
}

/**
 * An int64 tensor from small non-negative integer indices. Writes the two
 * 32-bit halves of each little-endian int64 directly: converting millions of
 * numbers through `BigInt()` one by one costs several times more.
 *
 * @throws {RangeError} when an index is negative
 * @example
 * ```ts
 * import { int64Tensor } from "./tabular.ts";
 * int64Tensor([2], Int32Array.from([3, 4])).data; // BigInt64Array [3n, 4n]
 * ```
 */
export function int64Tensor(dims: readonly number[], indices: Int32Array): Tensor<"int64"> {
  const out = new BigInt64Array(indices.length);
  const halves = new Int32Array(out.buffer);
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] < 0) throw new RangeError(`index ${indices[i]} at ${i}: expected >= 0`);
    halves[2 * i] = indices[i]; // low word; the high word stays 0 (little-endian hosts)
  }
  return tensor("int64", dims, out);
}

/**
 * Category indices, int64 [N, columns.length], for `rows` of `table`, with one
 * fitted vocabulary per column.
 *
 * @example
 * ```ts
 * import { categoricalTensor } from "./tabular.ts";
 * import { Vocabulary } from "./encoders.ts";
 * import { parseCsv } from "./csv.ts";
 * const t = parseCsv("c\na\nb\n");
 * categoricalTensor(t, [0], [new Vocabulary(["a"])], Uint32Array.from([0, 1])).data; // [1n, 0n]
 * ```
 */
export function categoricalTensor(
  table: CsvTable,
  columns: readonly number[],
  vocabularies: readonly Vocabulary[],
  rows: Uint32Array,
): Tensor<"int64"> {
  const w = columns.length;
  const out = new Int32Array(rows.length * w);
  for (let i = 0; i < rows.length; i++) {
    const record = table.rows[rows[i]];
    for (let j = 0; j < w; j++) out[i * w + j] = vocabularies[j].index(record[columns[j]]);
  }
  return int64Tensor([rows.length, w], out);
}

/**
 * Encodes a table for training: label, inferred or given column kinds,
 * grouped seeded split, train-only scaling and vocabularies.
 *
 * @throws {RangeError} a named column (label, group, forced kinds) does not exist;
 *   the message lists the available columns
 * @throws {TypeError} the label is not numeric and no `positive` was given, or a
 *   numeric column holds a non-number
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { encodeTabular } from "./tabular.ts";
 * const csv = "patient,age,died\nA,70,yes\nA,71,no\nB,50,no\nC,64,yes\nD,80,no\n";
 * const data = encodeTabular(parseCsv(csv, "cohort.csv"), { label: "died", positive: "yes", groupBy: "patient" });
 * console.log(data.meta.counts); // rows per split; both of patient A's rows in one
 * ```
 */
export function encodeTabular(table: CsvTable, options: TabularOptions): TabularData {
  const name = table.fileName;
  const missing = new Set(options.missing ?? DEFAULT_MISSING);
  const labelCol = columnIndex(table, options.label);
  const groupCol = options.groupBy === undefined ? -1 : columnIndex(table, options.groupBy);
  for (
    const c of [
      ...(options.exclude ?? []),
      ...(options.numeric ?? []),
      ...(options.categorical ?? []),
    ]
  ) {
    columnIndex(table, c);
  }
  const seed = options.seed ?? 0;
  const fractions = options.fractions ?? [0.7, 0.1, 0.2];
  const groupsAll = groupCol < 0
    ? table.rows.map((_, r) => String(r))
    : table.rows.map((r) => r[groupCol]);
  const split: RowSplit = groupSplit(groupsAll, { seed, fractions });

  // Label: numeric, or 1 where equal to `positive`.
  const positive = options.positive ?? null;
  const labels = new Float32Array(table.rows.length);
  for (let r = 0; r < table.rows.length; r++) {
    const cell = table.rows[r][labelCol];
    if (positive !== null) {
      labels[r] = cell === positive ? 1 : 0;
      continue;
    }
    if (!NUMBER.test(cell.trim())) {
      const values = [...new Set(table.rows.slice(0, 10000).map((x) => x[labelCol]))].slice(0, 6);
      throw new TypeError(
        `${name}: label column '${options.label}' is not numeric (data row ${r + 1}: ${
          JSON.stringify(cell)
        }; ` +
          `values include ${
            values.map((v) => JSON.stringify(v)).join(", ")
          }): name the positive class with positive`,
      );
    }
    labels[r] = Number(cell);
  }

  // Column kinds: forced, else inferred from the training rows.
  const skip = new Set([options.label, ...(options.exclude ?? [])]);
  if (options.groupBy !== undefined) skip.add(options.groupBy);
  const forcedNum = new Set(options.numeric ?? []);
  const forcedCat = new Set(options.categorical ?? []);
  const numericColumns: string[] = [], categoricalColumns: string[] = [];
  table.header.forEach((col, j) => {
    if (skip.has(col)) return;
    if (forcedNum.has(col)) return void numericColumns.push(col);
    if (forcedCat.has(col)) return void categoricalColumns.push(col);
    let seen = 0, numeric = true;
    for (const r of split.train) {
      const cell = table.rows[r][j];
      if (missing.has(cell)) continue;
      seen++;
      if (!NUMBER.test(cell.trim())) {
        numeric = false;
        break;
      }
    }
    (numeric && seen > 0 ? numericColumns : categoricalColumns).push(col);
  });

  const numIdx = numericColumns.map((c) => table.header.indexOf(c));
  const catIdx = categoricalColumns.map((c) => table.header.indexOf(c));
  const width = numIdx.length;
  const raw = new Float64Array(table.rows.length * width);
  table.rows.forEach((record, r) => {
    numIdx.forEach((j, k) =>
      raw[r * width + k] = parseNumberCell(record[j], missing, name, r, numericColumns[k])
    );
  });
  const scaler = width > 0 ? fitScalerOnRows(raw, width, split.train) : new StandardScaler([], []);
  const vocabs = catIdx.map((j) =>
    Vocabulary.fit(Array.from(split.train, (r) => table.rows[r][j]))
  );

  const make = (rows: Uint32Array): TabularSplit => ({
    numeric: scaledTensor(raw, width, rows, scaler),
    categorical: categoricalTensor(table, catIdx, vocabs, rows),
    label: tensor("float32", [rows.length, 1], Float32Array.from(rows, (r) => labels[r])),
    rows,
    groups: Array.from(rows, (r) => groupsAll[r]),
  });
  return {
    train: make(split.train),
    val: make(split.val),
    test: make(split.test),
    meta: {
      source: name,
      labelColumn: options.label,
      positive,
      groupColumn: options.groupBy ?? null,
      numericColumns,
      categoricalColumns,
      vocabularies: Object.fromEntries(
        categoricalColumns.map((c, k) => [c, [...vocabs[k].values]]),
      ),
      vocabSizes: vocabs.map((v) => v.size),
      scaler: { mean: [...scaler.mean], std: [...scaler.std] },
      split: { seed, fractions: [...fractions] },
      counts: { train: split.train.length, val: split.val.length, test: split.test.length },
      missing: [...missing],
    },
  };
}
