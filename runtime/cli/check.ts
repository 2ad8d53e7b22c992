/**
 * `deno task check --data <file.csv> [--label <column>] [--positive <value>] [--study <file>]
 *  [--write-schema <schema.json>]`
 *
 * The data check of a table before any training: rows, label balance, each column's inferred
 * type (or the study's), missing counts, warnings for silent mistakes, and, with `--study`
 * (a study file with a `data` section, or a bare data-schema JSON), every cell checked against
 * the study's schema. Exit status 0 when training would accept the table (warnings allowed),
 * 1 when it would refuse it.
 *
 * `--write-schema` writes the data schema fitted on this file (types, sorted categories, mean and
 * std of every numeric column, unknown categories refused) for an operator to declare as the
 * study's: use it on a reference table the operator may see, since the statistics are this
 * file's. Refused when the table is.
 *
 * @example
 * ```sh
 * deno task check --data clinic_a.csv --label outcome --positive died
 * deno task check --data clinic_a.csv --study study.json
 * deno task check --data reference.csv --label outcome --write-schema schema.json
 * ```
 * @module
 */
import { readCsvFile } from "../data/csv_file.ts";
import { checkTable, formatDataCheck } from "../data/data_check.ts";
import { readStudyDataSchema } from "../data/study_data_file.ts";
import { fitTableSchema } from "../data/schema_fit.ts";
import { parseFlags, refuseOverwrite, runMain, UsageError } from "./main.ts";
import { enterUserDir } from "./user_dir.ts";

const USAGE =
  "usage: deno task check --data <file.csv> [--label <column>] [--positive <value>] [--study <file>]";

await runMain(async () => {
  enterUserDir(); // relative paths are the user's, as typed
  const values = parseFlags(Deno.args, {
    data: { type: "string" },
    label: { type: "string" },
    positive: { type: "string" },
    study: { type: "string" },
    "write-schema": { type: "string" },
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
  const out = values["write-schema"];
  if (out) {
    if (schema) throw new UsageError("--write-schema fits a schema: leave out --study");
    refuseOverwrite("--write-schema", out, { files: { "--data": values.data } });
    const fitted = fitTableSchema(table, { label: values.label!, positive: values.positive });
    await Deno.writeTextFile(out, JSON.stringify(fitted, null, 2) + "\n");
    console.log(`data schema -> ${out} (${fitted.columns.length} feature columns)`);
  }
}, USAGE);
