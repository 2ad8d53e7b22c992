/**
 * Encodes a clinic's table into tensors with the study's schema only: the scaling
 * statistics and category indices come from the schema, never from the local rows, so every
 * clinic encodes the same value to the same number whatever its local frequencies. A cell
 * the schema cannot encode is refused before any step, with one line naming the column,
 * the value and the row.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { encodeTable } from "./table_encoder.ts";
 * const t = parseCsv("age,sex,y\n60,M,1\n40,F,0\n", "a.csv");
 * const e = encodeTable(t, { kind: "table", label: { column: "y", positive: "1", negative: "0" },
 *   missingTokens: [""], columns: [
 *     { name: "age", type: "numeric", mean: 50, std: 10, missing: "mean" },
 *     { name: "sex", type: "categorical", categories: ["F", "M"], unknown: "refuse", missing: "other" }] });
 * console.log(e.numeric.data, e.categorical.data); // [1, -1] [2n, 1n]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import type { CsvTable } from "./csv.ts";
import { schemaColumns, type TableSchema } from "./data_schema.ts";
import { DataSchemaError } from "./data_schema_error.ts";
import { int64Tensor } from "./tabular.ts";

/** A table encoded with a schema. */
export interface EncodedTable {
  /** Scaled numeric columns, float32 [N, numeric columns]. */
  numeric: Tensor<"float32">;
  /** Category indices, int64 [N, categorical columns]; 0 = other. */
  categorical: Tensor<"int64">;
  /** Labels 0/1, float32 [N, 1] (zeros when the table has no label column and labels are optional). */
  label: Tensor<"float32">;
}

/** Options of {@linkcode encodeTable}. */
export interface EncodeTableOptions {
  /** A table without the label column is allowed (prediction input): labels are 0. Default false. */
  labelOptional?: boolean;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function columnOf(table: CsvTable, name: string, what: string): number {
  const j = table.header.indexOf(name);
  if (j < 0) {
    throw new DataSchemaError(
      "COLUMN_MISSING",
      `${table.fileName}: the schema's ${what}: no column '${name}'; available columns: ${
        table.header.join(", ")
      }`,
    );
  }
  return j;
}

function outside(table: CsvTable, column: string, cell: string, row: number, why: string): never {
  throw new DataSchemaError(
    "VALUE_OUTSIDE_SCHEMA",
    `${table.fileName}: column '${column}' value ${JSON.stringify(cell)} (data row ${
      row + 1
    }) ${why}`,
  );
}

/**
 * The 0/1 label of each row: the schema's `positive` cell is 1, its `negative` cell 0.
 *
 * @throws {DataSchemaError} `LABEL_INVALID` for an empty label cell or any other value
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { encodeLabels } from "./table_encoder.ts";
 * encodeLabels(parseCsv("y\nM\nB\n"), { column: "y", positive: "M", negative: "B" }); // [1, 0]
 * ```
 */
export function encodeLabels(
  table: CsvTable,
  label: TableSchema["label"],
): Float32Array {
  const j = columnOf(table, label.column, "label column");
  const out = new Float32Array(table.rows.length);
  for (let r = 0; r < table.rows.length; r++) {
    const cell = table.rows[r][j];
    if (cell === label.positive) out[r] = 1;
    else if (cell !== label.negative) {
      const why = cell.trim() === ""
        ? "is empty: every row needs a label (remove the row or fill it in)"
        : `is neither the positive class ${JSON.stringify(label.positive)} nor the negative ${
          JSON.stringify(label.negative)
        }`;
      throw new DataSchemaError(
        "LABEL_INVALID",
        `${table.fileName}: label column '${label.column}' value ${
          JSON.stringify(cell)
        } (data row ${r + 1}) ${why}`,
      );
    }
  }
  return out;
}

/**
 * Encodes `table` with `schema` (see the module doc). Columns the schema does not name are
 * ignored.
 *
 * @throws {DataSchemaError} `COLUMN_MISSING` for a schema column absent from the table,
 *   `VALUE_OUTSIDE_SCHEMA` naming column, value and row, `LABEL_INVALID` for a bad label
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { encodeTable } from "./table_encoder.ts";
 * const s = { kind: "table" as const, label: { column: "y", positive: "1", negative: "0" },
 *   missingTokens: [], columns: [{ name: "sex", type: "categorical" as const, categories: ["F", "M"],
 *   unknown: "refuse" as const, missing: "refuse" as const }] };
 * try { encodeTable(parseCsv("sex,y\nX,1\n", "b.csv"), s); } catch (e) { console.log((e as Error).message); }
 * // b.csv: column 'sex' value "X" (data row 1) is not one of the schema's categories ["F","M"]
 * ```
 */
export function encodeTable(
  table: CsvTable,
  schema: TableSchema,
  options: EncodeTableOptions = {},
): EncodedTable {
  const n = table.rows.length;
  const missing = new Set(schema.missingTokens);
  const { numeric, categorical } = schemaColumns(schema);
  const numIdx = numeric.map((c) => columnOf(table, c.name, "column"));
  const catIdx = categorical.map((c) => columnOf(table, c.name, "column"));
  const num = new Float32Array(n * numeric.length);
  const cat = new Int32Array(n * categorical.length);
  const lookups = categorical.map((c) => new Map(c.categories.map((v, i) => [v, i + 1])));
  for (let r = 0; r < n; r++) {
    const rec = table.rows[r];
    for (let k = 0; k < numeric.length; k++) {
      const c = numeric[k], cell = rec[numIdx[k]];
      if (missing.has(cell)) {
        if (c.missing === "refuse") {
          outside(table, c.name, cell, r, "is missing, and the schema refuses missing values here");
        }
        num[r * numeric.length + k] = 0; // the mean, scaled
        continue;
      }
      const s = cell.trim();
      if (!NUMBER.test(s)) {
        outside(table, c.name, cell, r, "is not a number (the schema's column is numeric)");
      }
      num[r * numeric.length + k] = (Number(s) - c.mean) / c.std;
    }
    for (let k = 0; k < categorical.length; k++) {
      const c = categorical[k], cell = rec[catIdx[k]];
      let index = lookups[k].get(cell);
      if (index === undefined) {
        const isMissing = missing.has(cell);
        if ((isMissing ? c.missing : c.unknown) === "refuse") {
          outside(
            table,
            c.name,
            cell,
            r,
            isMissing
              ? "is missing, and the schema refuses missing values here"
              : `is not one of the schema's categories ${
                JSON.stringify(c.categories).slice(0, 200)
              }`,
          );
        }
        index = 0;
      }
      cat[r * categorical.length + k] = index;
    }
  }
  const hasLabel = table.header.includes(schema.label.column);
  const labels = !hasLabel && options.labelOptional
    ? new Float32Array(n)
    : encodeLabels(table, schema.label);
  return {
    numeric: tensor("float32", [n, numeric.length], num),
    categorical: int64Tensor([n, categorical.length], cat),
    label: tensor("float32", [n, 1], labels),
  };
}
