/**
 * `deno task check --data <file.csv> [--label <column>] [--positive <value>] [--study <file>]`
 *
 * The data check of a table before any training: rows, label balance, each column's inferred
 * type (or the study's), missing counts, warnings for silent mistakes, and, with `--study`
 * (a study file with a `data` section, or a bare data-schema JSON), every cell checked against
 * the study's schema. Exit status 0 when training would accept the table (warnings allowed),
 * 1 when it would refuse it.
 *
 * @example
 * ```sh
 * deno task check --data clinic_a.csv --label outcome --positive died
 * deno task check --data clinic_a.csv --study study.json
 * ```
 * @module
 */
import { readCsvFile } from "../data/csv_file.ts";
import { checkTable, formatDataCheck } from "../data/data_check.ts";
import { readStudyDataSchema } from "../data/study_data_file.ts";
import { parseFlags, runMain, UsageError } from "./main.ts";

const USAGE =
  "usage: deno task check --data <file.csv> [--label <column>] [--positive <value>] [--study <file>]";

await runMain(async () => {
  const values = parseFlags(Deno.args, {
    data: { type: "string" },
    label: { type: "string" },
    positive: { type: "string" },
    study: { type: "string" },
  });
  if (!values.data) throw new UsageError("--data is required");
  const schema = values.study ? await readStudyDataSchema(values.study) : undefined;
  if (schema && schema.kind !== "table") {
    throw new UsageError(
      `--study ${values.study}: its data schema is for images; the check reads tables`,
    );
  }
  if (!schema && !values.label) {
    throw new UsageError("--label <column> is required without --study");
  }
  if (schema && values.label && values.label !== schema.label.column) {
    throw new UsageError(
      `--label ${values.label}: the study's label column is '${schema.label.column}'`,
    );
  }
  const table = await readCsvFile(values.data);
  const report = checkTable(table, { label: values.label, positive: values.positive, schema });
  console.log(formatDataCheck(report));
  if (report.errors.length > 0) Deno.exit(1);
}, USAGE);
