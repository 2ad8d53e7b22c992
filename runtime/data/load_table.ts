/**
 * A CSV table as train / validation / test tensor datasets, encoded with a data schema: the
 * study's (every clinic then encodes alike) or, when none is given, one fitted on this
 * table (central training): types and categories from all rows, scaling from the training rows. The split is by row, seeded, 70/10/20.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { loadTable } from "./load_table.ts";
 * const t = parseCsv("a,y\n1,1\n2,0\n3,1\n4,0\n5,1\n6,0\n7,1\n8,0\n9,1\n10,0\n", "t.csv");
 * const d = loadTable(t, { label: "y", seed: 0 });
 * console.log(d.train.size + d.val.size + d.test.size); // 10
 * ```
 * @module
 */
import type { CsvTable } from "./csv.ts";
import type { TableSchema } from "./data_schema.ts";
import { groupSplit } from "./group_split.ts";
import { applyStatistics, draftTableSchema, tableStatistics } from "./schema_fit.ts";
import { encodeTable } from "./table_encoder.ts";
import { TensorDataset } from "./tensor_dataset.ts";

/** Options of {@linkcode loadTable}. */
export interface LoadTableOptions {
  /** The label column (ignored when `schema` is given: the schema names it). */
  label?: string;
  /** The label value counted as 1; default "1" (labels coded 0/1). */
  positive?: string;
  /** Seed of the row split. */
  seed?: number;
  /** The study's schema; default: fitted on this table's training rows. */
  schema?: TableSchema;
}

/** A table encoded with its schema. */
export interface LoadedTable {
  train: TensorDataset;
  val: TensorDataset;
  test: TensorDataset;
  /** The schema used (the given one, or the fitted one). */
  schema: TableSchema;
}

/**
 * Splits and encodes `table` (see the module doc).
 *
 * @throws {TypeError} when neither `label` nor `schema` is given
 * @throws {DataSchemaError} a value outside the schema, a bad label (`table_encoder.ts`, `schema_fit.ts`)
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { loadTable } from "./load_table.ts";
 * const t = parseCsv("a,y\n1,1\n2,0\n", "t.csv");
 * loadTable(t, { label: "y" }).schema.columns[0].type; // "numeric"
 * ```
 */
export function loadTable(table: CsvTable, options: LoadTableOptions): LoadedTable {
  const groups = table.rows.map((_, r) => String(r));
  const split = groupSplit(groups, { seed: options.seed ?? 0, fractions: [0.7, 0.1, 0.2] });
  let schema = options.schema;
  if (!schema) {
    if (!options.label) {
      throw new TypeError(`${table.fileName}: a CSV needs --label <column> or a data schema`);
    }
    // Types and category lists from every row (a category seen only in the test rows must not
    // be refused), scaling statistics from the training rows only (no test statistic leaks).
    const draft = draftTableSchema(table, { label: options.label, positive: options.positive });
    schema = applyStatistics(draft, tableStatistics(table, draft, split.train));
  }
  const e = encodeTable(table, schema);
  // Only non-empty inputs: the zoo EHR network has no input for a kind of column the table lacks.
  const inputs: TensorDataset["inputs"] = {};
  if (e.numeric.dims[1] > 0) inputs.numeric = e.numeric;
  if (e.categorical.dims[1] > 0) inputs.categorical = e.categorical;
  const all = new TensorDataset(inputs, e.label);
  return {
    train: all.subset(Array.from(split.train)),
    val: all.subset(Array.from(split.val)),
    test: all.subset(Array.from(split.test)),
    schema,
  };
}
