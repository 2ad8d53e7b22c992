/**
 * The data schema of a study: how every clinic turns its records into tensors, fixed before
 * the first step so that index 3 of column `sex` means the same value at every site and a
 * value is scaled with the same mean and standard deviation everywhere. Encoders read the
 * schema only, never local statistics (`table_encoder.ts`).
 *
 * A table schema (JSON):
 *
 * ```json
 * {
 *   "kind": "table",
 *   "label": { "column": "diagnosis", "positive": "M", "negative": "B" },
 *   "missingTokens": ["", "NA", "?"],
 *   "columns": [
 *     { "name": "age", "type": "numeric", "mean": 61.2, "std": 12.1, "missing": "mean" },
 *     { "name": "sex", "type": "categorical", "categories": ["F", "M"],
 *       "unknown": "refuse", "missing": "other" }
 *   ]
 * }
 * ```
 *
 * - `label`: the label column; a cell equal to `positive` is 1, equal to `negative` 0, and
 *   anything else (an empty cell, a `2` in a 1/2-coded column) is refused.
 * - numeric columns: z = (x − mean) / std; `missing: "mean"` maps a missing cell to the mean
 *   (z = 0), `"refuse"` refuses it.
 * - categorical columns: `categories` sorted (JavaScript string order) and distinct, value
 *   `categories[i]` has index i + 1; index 0 is "other". `unknown: "other"` maps a value
 *   outside `categories` to 0, `"refuse"` refuses it; `missing` likewise for missing cells.
 * - `missingTokens`: the cells read as missing.
 *
 * An image schema: `{"kind": "image", "shape": {"channels": 1, "height": 28, "width": 28},
 * "normalisation": {"divide": 255, "mean": [0], "std": [1]}}`: x' = (x / divide − mean[c]) / std[c].
 *
 * @example
 * ```ts
 * import { parseDataSchema } from "./data_schema.ts";
 * const s = parseDataSchema({
 *   kind: "table", label: { column: "y", positive: "1", negative: "0" }, missingTokens: [""],
 *   columns: [{ name: "age", type: "numeric", mean: 50, std: 10, missing: "mean" }],
 * });
 * console.log(s.kind); // "table"
 * ```
 * @module
 */
import { DataSchemaError } from "./data_schema_error.ts";

/** A numeric feature column. */
export interface NumericColumnSchema {
  /** Column name in the CSV header. */
  name: string;
  type: "numeric";
  /** Mean used for scaling (computed across clinics or declared). */
  mean: number;
  /** Standard deviation used for scaling, > 0. */
  std: number;
  /** A missing cell: `"mean"` (scaled to 0) or `"refuse"`. */
  missing: "mean" | "refuse";
}

/** A categorical feature column. */
export interface CategoricalColumnSchema {
  /** Column name in the CSV header. */
  name: string;
  type: "categorical";
  /** Known values, sorted and distinct; `categories[i]` has index i + 1 (0 is "other"). */
  categories: string[];
  /** A value outside `categories`: `"other"` (index 0) or `"refuse"`. */
  unknown: "other" | "refuse";
  /** A missing cell: `"other"` (index 0) or `"refuse"`. */
  missing: "other" | "refuse";
}

/** A feature column. */
export type ColumnSchema = NumericColumnSchema | CategoricalColumnSchema;

/** The schema of a table. */
export interface TableSchema {
  kind: "table";
  /** The label column and the cells meaning 1 and 0. */
  label: { column: string; positive: string; negative: string };
  /** Cells read as missing. */
  missingTokens: string[];
  /** Feature columns, in the order they are encoded (numeric and categorical each keep it). */
  columns: ColumnSchema[];
}

/** The schema of images. */
export interface ImageSchema {
  kind: "image";
  shape: { channels: number; height: number; width: number };
  /** x' = (x / divide − mean[c]) / std[c]. */
  normalisation: { divide: number; mean: number[]; std: number[] };
}

/**
 * A study's data schema, JSON-serialisable.
 *
 * @example
 * ```ts
 * import type { DataSchema } from "./data_schema.ts";
 * const s: DataSchema = { kind: "image", shape: { channels: 1, height: 28, width: 28 },
 *   normalisation: { divide: 255, mean: [0], std: [1] } };
 * ```
 */
export type DataSchema = TableSchema | ImageSchema;

function fail(field: string, expected: string, got: unknown): never {
  const shown = JSON.stringify(got);
  throw new DataSchemaError(
    "SCHEMA_INVALID",
    `schema${field ? `.${field}` : ""} must be ${expected}, got ${
      shown === undefined ? "nothing" : shown.slice(0, 120)
    }`,
  );
}

function record(v: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) fail(field, "an object", v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) {
      fail(field ? `${field}.${k}` : k, `absent (known fields: ${keys.join(", ")})`, o[k]);
    }
  }
  return o;
}

function text(v: unknown, field: string, allowEmpty = false): string {
  if (typeof v !== "string" || (!allowEmpty && v.length === 0)) {
    fail(field, allowEmpty ? "a string" : "a non-empty string", v);
  }
  return v as string;
}

function oneOf<T extends string>(v: unknown, field: string, options: readonly T[]): T {
  if (!options.includes(v as T)) fail(field, options.map((o) => `"${o}"`).join(" or "), v);
  return v as T;
}

function finite(v: unknown, field: string, positive = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || (positive && !(v > 0))) {
    fail(field, positive ? "a finite number > 0" : "a finite number", v);
  }
  return v as number;
}

function parseColumn(v: unknown, field: string): ColumnSchema {
  const type = (v as { type?: unknown })?.type;
  if (type === "numeric") {
    const o = record(v, field, ["name", "type", "mean", "std", "missing"]);
    return {
      name: text(o.name, `${field}.name`),
      type,
      mean: finite(o.mean, `${field}.mean`),
      std: finite(o.std, `${field}.std`, true),
      missing: oneOf(o.missing, `${field}.missing`, ["mean", "refuse"] as const),
    };
  }
  if (type !== "categorical") fail(`${field}.type`, '"numeric" or "categorical"', type);
  const o = record(v, field, ["name", "type", "categories", "unknown", "missing"]);
  if (!Array.isArray(o.categories)) {
    fail(`${field}.categories`, "an array of strings", o.categories);
  }
  const categories = (o.categories as unknown[]).map((c, i) =>
    text(c, `${field}.categories[${i}]`, true)
  );
  for (let i = 1; i < categories.length; i++) {
    if (!(categories[i - 1] < categories[i])) {
      fail(`${field}.categories`, "sorted and distinct (a fixed order, not by local frequency)", [
        categories[i - 1],
        categories[i],
      ]);
    }
  }
  return {
    name: text(o.name, `${field}.name`),
    type,
    categories,
    unknown: oneOf(o.unknown, `${field}.unknown`, ["other", "refuse"] as const),
    missing: oneOf(o.missing, `${field}.missing`, ["other", "refuse"] as const),
  };
}

function parseTable(o: Record<string, unknown>): TableSchema {
  record(o, "", ["kind", "label", "missingTokens", "columns"]);
  const l = record(o.label, "label", ["column", "positive", "negative"]);
  const label = {
    column: text(l.column, "label.column"),
    positive: text(l.positive, "label.positive"),
    negative: text(l.negative, "label.negative"),
  };
  if (label.positive === label.negative) {
    fail("label.negative", "different from label.positive", label.negative);
  }
  if (!Array.isArray(o.missingTokens)) {
    fail("missingTokens", "an array of strings", o.missingTokens);
  }
  const missingTokens = (o.missingTokens as unknown[]).map((t, i) =>
    text(t, `missingTokens[${i}]`, true)
  );
  if (!Array.isArray(o.columns) || o.columns.length === 0) {
    fail("columns", "a non-empty array of column schemas", o.columns);
  }
  const columns = (o.columns as unknown[]).map((c, i) => parseColumn(c, `columns[${i}]`));
  const seen = new Set<string>([label.column]);
  columns.forEach((c, i) => {
    if (seen.has(c.name)) {
      fail(`columns[${i}].name`, "a column named once (and not the label)", c.name);
    }
    seen.add(c.name);
  });
  return { kind: "table", label, missingTokens, columns };
}

function parseImage(o: Record<string, unknown>): ImageSchema {
  record(o, "", ["kind", "shape", "normalisation"]);
  const s = record(o.shape, "shape", ["channels", "height", "width"]);
  const dim = (v: unknown, f: string) => {
    if (!Number.isSafeInteger(v) || (v as number) < 1) fail(f, "an integer >= 1", v);
    return v as number;
  };
  const shape = {
    channels: dim(s.channels, "shape.channels"),
    height: dim(s.height, "shape.height"),
    width: dim(s.width, "shape.width"),
  };
  const n = record(o.normalisation, "normalisation", ["divide", "mean", "std"]);
  const perChannel = (v: unknown, f: string, positive: boolean) => {
    if (!Array.isArray(v) || v.length !== shape.channels) {
      fail(f, `an array of ${shape.channels} numbers`, v);
    }
    return (v as unknown[]).map((x, i) => finite(x, `${f}[${i}]`, positive));
  };
  return {
    kind: "image",
    shape,
    normalisation: {
      divide: finite(n.divide, "normalisation.divide", true),
      mean: perChannel(n.mean, "normalisation.mean", false),
      std: perChannel(n.std, "normalisation.std", true),
    },
  };
}

/**
 * Checks a parsed JSON value field by field and returns it as a {@linkcode DataSchema}.
 *
 * @throws {DataSchemaError} `SCHEMA_INVALID` naming the field, what it must be and what it is
 * @example
 * ```ts
 * import { parseDataSchema } from "./data_schema.ts";
 * try {
 *   parseDataSchema({ kind: "table", label: { column: "y", positive: "1", negative: "0" },
 *     missingTokens: [], columns: [{ name: "sex", type: "categorical", categories: ["M", "F"],
 *     unknown: "refuse", missing: "other" }] });
 * } catch (e) {
 *   console.log((e as Error).message); // schema.columns[0].categories must be sorted and distinct ...
 * }
 * ```
 */
export function parseDataSchema(json: unknown): DataSchema {
  const kind = (json as { kind?: unknown })?.kind;
  if (json === null || typeof json !== "object" || Array.isArray(json)) fail("", "an object", json);
  if (kind === "table") return parseTable(json as Record<string, unknown>);
  if (kind === "image") return parseImage(json as Record<string, unknown>);
  return fail("kind", '"table" or "image"', kind);
}

/**
 * The numeric and the categorical columns of a table schema, each in schema order: the
 * order of the `numeric` and `categorical` tensors.
 *
 * @example
 * ```ts
 * import { schemaColumns } from "./data_schema.ts";
 * const { numeric, categorical } = schemaColumns({ kind: "table",
 *   label: { column: "y", positive: "1", negative: "0" }, missingTokens: [],
 *   columns: [{ name: "a", type: "numeric", mean: 0, std: 1, missing: "mean" }] });
 * console.log(numeric.length, categorical.length); // 1 0
 * ```
 */
export function schemaColumns(
  schema: TableSchema,
): { numeric: NumericColumnSchema[]; categorical: CategoricalColumnSchema[] } {
  return {
    numeric: schema.columns.filter((c): c is NumericColumnSchema => c.type === "numeric"),
    categorical: schema.columns.filter((c): c is CategoricalColumnSchema =>
      c.type === "categorical"
    ),
  };
}

/**
 * The zoo EHR network's data spec for a table schema: one numeric input of the numeric
 * columns, one vocabulary per categorical column (its categories plus "other"), no codes.
 *
 * @example
 * ```ts
 * import { zooSpecOfSchema } from "./data_schema.ts";
 * zooSpecOfSchema({ kind: "table", label: { column: "y", positive: "1", negative: "0" },
 *   missingTokens: [], columns: [{ name: "s", type: "categorical", categories: ["F", "M"],
 *   unknown: "refuse", missing: "other" }] }); // { numeric: 0, vocabSizes: [3], codeVocab: 0 }
 * ```
 */
export function zooSpecOfSchema(
  schema: TableSchema,
): { numeric: number; vocabSizes: number[]; codeVocab: number } {
  const { numeric, categorical } = schemaColumns(schema);
  return {
    numeric: numeric.length,
    vocabSizes: categorical.map((c) => c.categories.length + 1),
    codeVocab: 0,
  };
}
