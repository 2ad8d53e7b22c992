/**
 * The error of a study's data schema: a schema file that does not validate, or a clinic's
 * records that do not fit the schema. Each carries a stable `code` so callers (the data
 * check, the clinic before its first step) branch on it.
 *
 * @example
 * ```ts
 * import { DataSchemaError } from "./data_schema_error.ts";
 * const e = new DataSchemaError("VALUE_OUTSIDE_SCHEMA", "column 'sex' value \"X\" (data row 3)");
 * console.log(e.code); // "VALUE_OUTSIDE_SCHEMA"
 * ```
 * @module
 */

/**
 * Why a schema or a table was refused.
 *
 * - `SCHEMA_INVALID`: a schema field is missing or of the wrong type or range.
 * - `COLUMN_MISSING`: the table lacks a column the schema names.
 * - `VALUE_OUTSIDE_SCHEMA`: a cell the schema cannot encode (an unknown category under
 *   `unknown: "refuse"`, a non-number in a numeric column, a missing cell under
 *   `missing: "refuse"`).
 * - `LABEL_INVALID`: an empty label cell, or a label that is neither 0/1 nor the schema's classes.
 *
 * @example
 * ```ts
 * import { DATA_SCHEMA_ERROR_CODES } from "./data_schema_error.ts";
 * console.log(DATA_SCHEMA_ERROR_CODES.length); // 4
 * ```
 */
export const DATA_SCHEMA_ERROR_CODES = [
  "SCHEMA_INVALID",
  "COLUMN_MISSING",
  "VALUE_OUTSIDE_SCHEMA",
  "LABEL_INVALID",
] as const;

/** One of {@linkcode DATA_SCHEMA_ERROR_CODES}. */
export type DataSchemaErrorCode = (typeof DATA_SCHEMA_ERROR_CODES)[number];

/**
 * A refusal by the data schema, with a code and a one-line message naming the field, or the
 * column, value and row.
 *
 * @example
 * ```ts
 * import { DataSchemaError } from "./data_schema_error.ts";
 * try {
 *   throw new DataSchemaError("SCHEMA_INVALID", "schema.label.column must be a non-empty string");
 * } catch (e) {
 *   if (e instanceof DataSchemaError) console.log(e.code);
 * }
 * ```
 */
export class DataSchemaError extends Error {
  /** Why. */
  readonly code: DataSchemaErrorCode;

  /** @param code why; @param message one line naming the field or the column, value and row */
  constructor(code: DataSchemaErrorCode, message: string) {
    super(message);
    this.name = "DataSchemaError";
    this.code = code;
  }
}
