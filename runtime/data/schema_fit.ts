/**
 * Where a table schema's statistics come from. A schema is fitted in two steps so the second
 * can run across clinics without revealing one clinic's values:
 *
 * 1. {@linkcode draftTableSchema}: column types, label classes and sorted category lists,
 *    with placeholder scaling (mean 0, std 1) — what an operator declares, or infers from a
 *    table;
 * 2. {@linkcode tableStatistics} (per clinic: counts, sums and sums of squares, one vector)
 *    and {@linkcode applyStatistics} (from the summed vector: means and standard deviations).
 *    Summed by secure summation (`crypto/secure_sum.ts`), the server sees only the totals.
 *
 * {@linkcode fitTableSchema} does both on one table (central training, or an operator's
 * reference table).
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { fitTableSchema } from "./schema_fit.ts";
 * const s = fitTableSchema(parseCsv("age,sex,y\n60,M,1\n40,F,0\n", "a.csv"), { label: "y" });
 * console.log(s.columns); // age numeric mean 50 std 10; sex categorical ["F", "M"]
 * ```
 * @module
 */
import type { CsvTable } from "./csv.ts";
import type { ColumnSchema, TableSchema } from "./data_schema.ts";
import { schemaColumns } from "./data_schema.ts";
import { DataSchemaError } from "./data_schema_error.ts";
import { DEFAULT_MISSING } from "./tabular.ts";

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Options of {@linkcode draftTableSchema} and {@linkcode fitTableSchema}. */
export interface FitTableOptions {
  /** The label column. */
  label: string;
  /** The label cell meaning 1; default "1" (then the label must be coded 0/1). */
  positive?: string;
  /** Columns to leave out (ids, free text). */
  exclude?: readonly string[];
  /** Force these columns numeric / categorical. */
  numeric?: readonly string[];
  categorical?: readonly string[];
  /** Cells read as missing; default `DEFAULT_MISSING`. */
  missingTokens?: readonly string[];
  /** What a category outside the fitted list becomes; default "refuse". */
  unknown?: "other" | "refuse";
  /** Rows to fit on (e.g. the training split); default all. */
  rows?: ArrayLike<number>;
}

function rowList(table: CsvTable, rows?: ArrayLike<number>): ArrayLike<number> {
  return rows ?? Array.from({ length: table.rows.length }, (_, i) => i);
}

/**
 * The label's positive and negative cells: `positive` (default "1") and the one other value.
 *
 * @throws {DataSchemaError} `COLUMN_MISSING` for an unknown label column; `LABEL_INVALID` for an
 *   empty label cell, more than two classes, or labels not coded 0/1 without `positive`
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { labelClasses } from "./schema_fit.ts";
 * labelClasses(parseCsv("y\nM\nB\n"), "y", "M"); // { column: "y", positive: "M", negative: "B" }
 * ```
 */
export function labelClasses(
  table: CsvTable,
  column: string,
  positive?: string,
): TableSchema["label"] {
  const j = table.header.indexOf(column);
  if (j < 0) {
    throw new DataSchemaError(
      "COLUMN_MISSING",
      `${table.fileName}: label: no column '${column}'; available columns: ${
        table.header.join(", ")
      }`,
    );
  }
  const values = new Set<string>();
  table.rows.forEach((r, i) => {
    if (r[j].trim() === "") {
      throw new DataSchemaError(
        "LABEL_INVALID",
        `${table.fileName}: label column '${column}' is empty at data row ${
          i + 1
        }: every row needs a label (remove the row or fill it in)`,
      );
    }
    values.add(r[j]);
  });
  const shown = [...values].sort().slice(0, 6).map((v) => JSON.stringify(v)).join(", ");
  if (values.size > 2) {
    throw new DataSchemaError(
      "LABEL_INVALID",
      `${table.fileName}: label column '${column}' has ${values.size} values (${shown}${
        values.size > 6 ? ", ..." : ""
      }): a binary label needs exactly two`,
    );
  }
  const pos = positive ?? "1";
  if (positive === undefined && [...values].some((v) => v !== "0" && v !== "1")) {
    throw new DataSchemaError(
      "LABEL_INVALID",
      `${table.fileName}: label column '${column}' holds ${shown}, not 0/1: name the positive class with --positive <value> (e.g. --positive ${
        JSON.stringify([...values].sort().at(-1))
      })`,
    );
  }
  if (!values.has(pos) && positive !== undefined) {
    throw new DataSchemaError(
      "LABEL_INVALID",
      `${table.fileName}: --positive ${
        JSON.stringify(pos)
      } is not a value of label column '${column}' (values: ${shown})`,
    );
  }
  const others = [...values].filter((v) => v !== pos);
  const negative = others[0] ?? (pos === "1" ? "0" : `not ${pos}`);
  return { column, positive: pos, negative };
}

/**
 * Column types, label classes and sorted category lists of `table`, scaling left at mean 0,
 * std 1 (see {@linkcode applyStatistics}). A column is numeric when every non-missing cell
 * of the fitted rows is a number, unless forced.
 *
 * @throws {DataSchemaError} as {@linkcode labelClasses}; `COLUMN_MISSING` for a named column not in the table
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { draftTableSchema } from "./schema_fit.ts";
 * draftTableSchema(parseCsv("sex,y\nM,1\nF,0\nM,0\n"), { label: "y" }).columns[0];
 * // { name: "sex", type: "categorical", categories: ["F", "M"], unknown: "refuse", missing: "other" }
 * ```
 */
export function draftTableSchema(table: CsvTable, options: FitTableOptions): TableSchema {
  const missing = new Set(options.missingTokens ?? DEFAULT_MISSING);
  for (
    const c of [
      ...(options.exclude ?? []),
      ...(options.numeric ?? []),
      ...(options.categorical ?? []),
    ]
  ) {
    if (!table.header.includes(c)) {
      throw new DataSchemaError(
        "COLUMN_MISSING",
        `${table.fileName}: no column '${c}'; available columns: ${table.header.join(", ")}`,
      );
    }
  }
  const label = labelClasses(table, options.label, options.positive);
  const skip = new Set([options.label, ...(options.exclude ?? [])]);
  const rows = rowList(table, options.rows);
  const columns: ColumnSchema[] = [];
  table.header.forEach((name, j) => {
    if (skip.has(name)) return;
    let numeric = !options.categorical?.includes(name);
    const values = new Set<string>();
    for (let i = 0; i < rows.length; i++) {
      const cell = table.rows[rows[i]][j];
      if (missing.has(cell)) continue;
      values.add(cell);
      if (numeric && !options.numeric?.includes(name) && !NUMBER.test(cell.trim())) numeric = false;
    }
    if (numeric && (values.size > 0 || options.numeric?.includes(name))) {
      columns.push({ name, type: "numeric", mean: 0, std: 1, missing: "mean" });
    } else {
      const categories = [...values].sort();
      columns.push({
        name,
        type: "categorical",
        categories,
        unknown: options.unknown ?? "refuse",
        missing: "other",
      });
    }
  });
  if (columns.length === 0) {
    throw new DataSchemaError(
      "SCHEMA_INVALID",
      `${table.fileName}: no feature columns besides the label '${options.label}'`,
    );
  }
  return { kind: "table", label, missingTokens: [...missing], columns };
}

/**
 * Length of the {@linkcode tableStatistics} vector of `schema`: 3 per numeric column
 * (count, sum, sum of squares), one per category plus one ("other") per categorical column,
 * and 2 for the label (rows, positives).
 *
 * @example
 * ```ts
 * import { statisticsLength } from "./schema_fit.ts";
 * statisticsLength({ kind: "table", label: { column: "y", positive: "1", negative: "0" },
 *   missingTokens: [], columns: [{ name: "a", type: "numeric", mean: 0, std: 1, missing: "mean" }] }); // 5
 * ```
 */
export function statisticsLength(schema: TableSchema): number {
  const { numeric, categorical } = schemaColumns(schema);
  return 3 * numeric.length + categorical.reduce((a, c) => a + c.categories.length + 1, 0) + 2;
}

/**
 * One clinic's summable statistics for `schema` (layout: {@linkcode statisticsLength}).
 * Summed over clinics and passed to {@linkcode applyStatistics}, they give the pooled means
 * and standard deviations. Cells that are missing or not numbers are left out of the sums.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { draftTableSchema, tableStatistics } from "./schema_fit.ts";
 * const t = parseCsv("a,y\n1,1\n3,0\n");
 * tableStatistics(t, draftTableSchema(t, { label: "y" })); // [2, 4, 10, 2, 1]
 * ```
 */
export function tableStatistics(
  table: CsvTable,
  schema: TableSchema,
  rows?: ArrayLike<number>,
): Float64Array {
  const { numeric, categorical } = schemaColumns(schema);
  const missing = new Set(schema.missingTokens);
  const out = new Float64Array(statisticsLength(schema));
  const list = rowList(table, rows);
  const labelJ = table.header.indexOf(schema.label.column);
  let o = 0;
  for (const c of numeric) {
    const j = table.header.indexOf(c.name);
    for (let i = 0; i < list.length; i++) {
      const cell = table.rows[list[i]][j];
      if (j < 0 || missing.has(cell) || !NUMBER.test(cell.trim())) continue;
      const x = Number(cell.trim());
      out[o]++, out[o + 1] += x, out[o + 2] += x * x;
    }
    o += 3;
  }
  for (const c of categorical) {
    const j = table.header.indexOf(c.name);
    const index = new Map(c.categories.map((v, i) => [v, i + 1]));
    for (let i = 0; i < list.length && j >= 0; i++) {
      out[o + (index.get(table.rows[list[i]][j]) ?? 0)]++;
    }
    o += c.categories.length + 1;
  }
  for (let i = 0; i < list.length && labelJ >= 0; i++) {
    out[o]++;
    if (table.rows[list[i]][labelJ] === schema.label.positive) out[o + 1]++;
  }
  return out;
}

/**
 * The schema with each numeric column's mean and (population) standard deviation taken from
 * summed statistics; a constant or empty column gets std 1.
 *
 * @throws {RangeError} when `sums` does not have {@linkcode statisticsLength} entries
 * @example
 * ```ts
 * import { applyStatistics } from "./schema_fit.ts";
 * const draft = { kind: "table" as const, label: { column: "y", positive: "1", negative: "0" },
 *   missingTokens: [], columns: [{ name: "a", type: "numeric" as const, mean: 0, std: 1, missing: "mean" as const }] };
 * applyStatistics(draft, [2, 4, 10, 2, 1]).columns[0]; // mean 2, std 1
 * ```
 */
export function applyStatistics(schema: TableSchema, sums: ArrayLike<number>): TableSchema {
  if (sums.length !== statisticsLength(schema)) {
    throw new RangeError(
      `statistics vector has ${sums.length} entries, the schema needs ${statisticsLength(schema)}`,
    );
  }
  // Numeric columns come first in the vector, 3 entries each, in schema order.
  const numericAt = new Map<string, number>();
  for (const c of schema.columns) if (c.type === "numeric") numericAt.set(c.name, 3 * numericAt.size);
  return {
    ...schema,
    columns: schema.columns.map((c): ColumnSchema => {
      if (c.type !== "numeric") return { ...c, categories: [...c.categories] };
      const k = numericAt.get(c.name)!;
      const n = sums[k], mean = n > 0 ? sums[k + 1] / n : 0;
      const variance = n > 0 ? Math.max(0, sums[k + 2] / n - mean * mean) : 0;
      // E[x²] − E[x]² of a constant column is rounding noise, not a spread: std 1 then.
      const std = Math.sqrt(variance);
      return { ...c, mean, std: std > 1e-6 * Math.max(1, Math.abs(mean)) ? std : 1 };
    }),
  };
}

/**
 * {@linkcode draftTableSchema} then {@linkcode applyStatistics} of this table's own
 * statistics: the schema of one table (central training, or an operator's declared schema).
 *
 * @throws {DataSchemaError} as {@linkcode draftTableSchema}
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { fitTableSchema } from "./schema_fit.ts";
 * fitTableSchema(parseCsv("a,y\n1,1\n3,0\n"), { label: "y" }).columns[0]; // mean 2, std 1
 * ```
 */
export function fitTableSchema(table: CsvTable, options: FitTableOptions): TableSchema {
  const draft = draftTableSchema(table, options);
  return applyStatistics(draft, tableStatistics(table, draft, options.rows));
}
