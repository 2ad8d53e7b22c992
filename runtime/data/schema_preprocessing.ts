/**
 * The preprocessing of a table schema in the form the model exporter puts inside the ONNX
 * graph (`models/train/table_preprocessing.ts`), and the raw-column feeds such a model takes.
 *
 * @example
 * ```ts
 * import { preprocessingOfSchema } from "./schema_preprocessing.ts";
 * preprocessingOfSchema({ kind: "table", label: { column: "y", positive: "1", negative: "0" },
 *   missingTokens: [], columns: [{ name: "a", type: "numeric", mean: 5, std: 2, missing: "mean" }] });
 * // { numeric: { mean: [5], std: [2] }, categorical: { categories: [] } }
 * ```
 * @module
 */
import type { TablePreprocessing } from "../../models/train/table_preprocessing.ts";
import type { CsvTable } from "./csv.ts";
import { schemaColumns, type TableSchema } from "./data_schema.ts";

/**
 * The scaling and vocabularies of `schema`, in tensor order.
 *
 * @example
 * ```ts
 * import { preprocessingOfSchema } from "./schema_preprocessing.ts";
 * // withTablePreprocessing(model, preprocessingOfSchema(schema))
 * ```
 */
export function preprocessingOfSchema(schema: TableSchema): TablePreprocessing {
  const { numeric, categorical } = schemaColumns(schema);
  return {
    numeric: { mean: numeric.map((c) => c.mean), std: numeric.map((c) => c.std) },
    categorical: { categories: categorical.map((c) => [...c.categories]) },
  };
}

/**
 * The raw columns of `table` as an exported model's inputs: `numeric_raw` (numbers, NaN for a
 * missing cell) and `categorical_raw` (the cells as they are), in the schema's order.
 *
 * @example
 * ```ts
 * import { rawColumns } from "./schema_preprocessing.ts";
 * // const { numeric, categorical } = rawColumns(table, schema); // feed to onnxruntime
 * ```
 */
export function rawColumns(
  table: CsvTable,
  schema: TableSchema,
): { numeric: Float32Array; categorical: string[]; rows: number } {
  const { numeric, categorical } = schemaColumns(schema);
  const missing = new Set(schema.missingTokens);
  const ni = numeric.map((c) => table.header.indexOf(c.name));
  const ci = categorical.map((c) => table.header.indexOf(c.name));
  const num = new Float32Array(table.rows.length * ni.length);
  const cat: string[] = [];
  table.rows.forEach((r, i) => {
    ni.forEach((j, k) => (num[i * ni.length + k] = missing.has(r[j]) ? NaN : Number(r[j].trim())));
    for (const j of ci) cat.push(r[j]);
  });
  return { numeric: num, categorical: cat, rows: table.rows.length };
}
