/**
 * The data check of a table (`deno task check --data <file>`, and printed at the start of
 * training): rows, label balance, each column's inferred type and missing count, and the
 * silent mistakes turned into warnings or refusals — a numeric column turned categorical by
 * a stray token, labels not coded 0/1 without `--positive`, an empty label cell, a class
 * absent at this site, an identifier-like column, and (with a study's schema) any cell the
 * schema would refuse. Only counts and column names are reported, never a record; a stray
 * token is shown because it is what the user must fix, not a patient value.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { checkTable, formatDataCheck } from "./data_check.ts";
 * const r = checkTable(parseCsv("a,y\n1,1\n-,0\n3,0\n", "t.csv"), { label: "y" });
 * console.log(formatDataCheck(r)); // ... warning: column 'a' is categorical because of ...
 * ```
 * @module
 */
import type { CsvTable } from "./csv.ts";
import type { TableSchema } from "./data_schema.ts";
import { DataSchemaError } from "./data_schema_error.ts";
import { labelClasses } from "./schema_fit.ts";
import { encodeTable } from "./table_encoder.ts";
import { DEFAULT_MISSING } from "./tabular.ts";

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** One column of the report. */
export interface ColumnCheck {
  name: string;
  /** The inferred type (or the schema's, when checked against one); "label" for the label. */
  type: "numeric" | "categorical" | "label";
  /** Missing cells. */
  missing: number;
  /** Distinct non-missing values. */
  distinct: number;
}

/** The report of {@linkcode checkTable}. */
export interface DataCheck {
  file: string;
  rows: number;
  /** The label classes and counts, when the label could be read. */
  label?: {
    column: string;
    positive: string;
    negative: string;
    positives: number;
    negatives: number;
  };
  columns: ColumnCheck[];
  /** Mistakes that train, but probably not as meant. */
  warnings: string[];
  /** What training would refuse (one line each). */
  errors: string[];
}

/** Options of {@linkcode checkTable}. */
export interface CheckTableOptions {
  /** The label column (default: the schema's). */
  label?: string;
  /** The positive class (`--positive`); default "1", labels coded 0/1. */
  positive?: string;
  /** The study's schema: types come from it, and every cell is checked against it. */
  schema?: TableSchema;
}

function strayTokenWarning(
  table: CsvTable,
  j: number,
  missing: ReadonlySet<string>,
): string | undefined {
  let numbers = 0;
  const stray = new Map<string, { count: number; first: number }>();
  table.rows.forEach((r, i) => {
    const cell = r[j];
    if (missing.has(cell)) return;
    if (NUMBER.test(cell.trim())) numbers++;
    else {
      const s = stray.get(cell) ?? { count: 0, first: i };
      s.count++;
      stray.set(cell, s);
    }
  });
  if (
    stray.size === 0 || stray.size > 3 ||
    numbers < 4 * [...stray.values()].reduce((a, s) => a + s.count, 0)
  ) return;
  const list = [...stray].map(([t, s]) =>
    `${JSON.stringify(t)} (${s.count} cell${s.count > 1 ? "s" : ""}, first at data row ${
      s.first + 1
    })`
  );
  return `column '${table.header[j]}' is categorical because of ${
    list.join(", ")
  } among ${numbers} numbers: ` +
    `fix those cells or mark them missing, else each distinct number becomes a category`;
}

/**
 * Checks `table` (see the module doc). Never throws on the data: refusals become `errors`.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import { checkTable } from "./data_check.ts";
 * checkTable(parseCsv("a,y\n1,1\n2,2\n", "t.csv"), { label: "y" }).errors.length; // 1: labels 1/2
 * ```
 */
export function checkTable(table: CsvTable, options: CheckTableOptions): DataCheck {
  const schema = options.schema;
  const labelColumn = options.label ?? schema?.label.column ?? "";
  const missing = new Set(schema?.missingTokens ?? DEFAULT_MISSING);
  const report: DataCheck = {
    file: table.fileName,
    rows: table.rows.length,
    columns: [],
    warnings: [],
    errors: [],
  };
  const refuse = (e: unknown) => {
    if (!(e instanceof DataSchemaError)) throw e;
    report.errors.push(e.message);
  };
  let label: TableSchema["label"] | undefined;
  try {
    label = schema?.label ?? labelClasses(table, labelColumn, options.positive);
  } catch (e) {
    refuse(e);
  }
  // Without a schema: the types training would infer (numeric when every non-missing cell is
  // a number, as draftTableSchema), even when the label is refused, so the user sees them.
  const types = new Map<string, "numeric" | "categorical">(
    schema ? schema.columns.map((c) => [c.name, c.type]) : table.header.map((name, j) => {
      const cells = table.rows.map((r) => r[j]).filter((c) => !missing.has(c));
      return [
        name,
        cells.length > 0 && cells.every((c) => NUMBER.test(c.trim())) ? "numeric" : "categorical",
      ];
    }),
  );
  table.header.forEach((name, j) => {
    const values = new Set<string>();
    let nMissing = 0;
    for (const r of table.rows) missing.has(r[j]) ? nMissing++ : values.add(r[j]);
    const type = name === labelColumn ? "label" : types.get(name);
    if (type === undefined) return;
    report.columns.push({ name, type, missing: nMissing, distinct: values.size });
    if (type === "categorical") {
      const stray = strayTokenWarning(table, j, missing);
      if (stray) report.warnings.push(stray);
      else if (values.size > 20 && values.size > 0.5 * (table.rows.length - nMissing)) {
        report.warnings.push(
          `column '${name}' has ${values.size} distinct values in ${table.rows.length} rows: an identifier or free text? leave it out of the schema`,
        );
      }
    }
    if (type !== "label" && values.size === 1) {
      report.warnings.push(
        `column '${name}' is constant here: it carries no information at this site`,
      );
    }
  });
  if (label) {
    const j = table.header.indexOf(label.column);
    const positives = j < 0 ? 0 : table.rows.filter((r) => r[j] === label!.positive).length;
    const negatives = j < 0 ? 0 : table.rows.filter((r) => r[j] === label!.negative).length;
    report.label = { ...label, positives, negatives };
    if (j >= 0 && (positives === 0 || negatives === 0) && table.rows.length > 0) {
      const absent = positives === 0
        ? `positive ${JSON.stringify(label.positive)}`
        : `negative ${JSON.stringify(label.negative)}`;
      report.warnings.push(
        `class ${absent} of label '${label.column}' is absent at this site: AUC cannot be measured here, and the site only teaches one class`,
      );
    }
  }
  if (schema) {
    try {
      encodeTable(table, schema);
    } catch (e) {
      refuse(e);
    }
  }
  return report;
}

/**
 * The report as text: a summary line, one line per column, then warnings and refusals.
 *
 * @example
 * ```ts
 * import { formatDataCheck } from "./data_check.ts";
 * formatDataCheck({ file: "t.csv", rows: 0, columns: [], warnings: [], errors: [] }); // "data check: t.csv: 0 rows ..."
 * ```
 */
export function formatDataCheck(r: DataCheck): string {
  const lines: string[] = [];
  const l = r.label;
  const balance = l
    ? `; label '${l.column}': ${l.positives} positive (${JSON.stringify(l.positive)}, ${
      r.rows ? ((100 * l.positives) / r.rows).toFixed(1) : "0.0"
    }%), ${l.negatives} negative (${JSON.stringify(l.negative)})`
    : "";
  lines.push(`data check: ${r.file}: ${r.rows} rows${balance}`);
  const w = Math.max(6, ...r.columns.map((c) => c.name.length));
  lines.push(
    `  ${"column".padEnd(w)}  ${"type".padEnd(11)}  ${"missing".padStart(7)}  ${
      "distinct".padStart(8)
    }`,
  );
  for (const c of r.columns) {
    lines.push(
      `  ${c.name.padEnd(w)}  ${c.type.padEnd(11)}  ${String(c.missing).padStart(7)}  ${
        String(c.distinct).padStart(8)
      }`,
    );
  }
  const counts = r.columns.filter((c) => c.type !== "label");
  lines.push(
    `  ${counts.filter((c) => c.type === "numeric").length} numeric, ${
      counts.filter((c) => c.type === "categorical").length
    } categorical feature columns`,
  );
  for (const x of r.warnings) lines.push(`warning: ${x}`);
  for (const x of r.errors) lines.push(`refused: ${x}`);
  lines.push(
    r.errors.length
      ? "data check: refused (see above)"
      : `data check: ok${r.warnings.length ? ` with ${r.warnings.length} warning(s)` : ""}`,
  );
  return lines.join("\n");
}
