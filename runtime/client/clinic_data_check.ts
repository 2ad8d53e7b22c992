/**
 * The data check a clinic prints before it starts training on a table (`deno task client`):
 * the summary of `runtime/data/data_check.ts` for its CSV, against the study's data schema when
 * the config has one. A table the raw side would refuse is refused here, before any process
 * starts, with the check's first refusal (one line naming the column, the value and the row).
 * Runs in the launcher process, which may read the data; nothing of it leaves the machine.
 *
 * @example
 * ```ts
 * import { clinicDataCheck } from "./clinic_data_check.ts";
 * // const text = await clinicDataCheck(config); if (text) console.log(text);
 * ```
 * @module
 */
import { readCsvFile } from "../data/csv_file.ts";
import { checkTable, formatDataCheck } from "../data/data_check.ts";
import type { ClientConfig } from "./client_config.ts";

/**
 * The check's text for a clinic whose data is a `.csv`; `undefined` for other data.
 *
 * @throws {Error} the first refusal when the table would be refused
 * @example
 * ```ts
 * import { clinicDataCheck } from "./clinic_data_check.ts";
 * // await clinicDataCheck(config) // "data check: /srv/a.csv: 812 rows; label 'died': ..."
 * ```
 */
export async function clinicDataCheck(
  config: Pick<ClientConfig, "data" | "dataLabel" | "dataPositive" | "dataSchema" | "study">,
): Promise<string | undefined> {
  if (!config.data.toLowerCase().endsWith(".csv")) return undefined;
  const schema = config.dataSchema?.kind === "table" ? config.dataSchema : undefined;
  if (!schema && !config.dataLabel) return undefined; // the loader names the missing label
  const report = checkTable(await readCsvFile(config.data), {
    label: config.dataLabel,
    positive: config.dataPositive,
    schema,
  });
  if (report.errors.length > 0) throw new Error(report.errors[0]);
  // A pinned study carries the schema (its `data`), which the raw side applies to every cell
  // before the first step: no warning then.
  if (!schema && !config.study) {
    // Without the study's schema each clinic fits scaling and vocabularies on its own file:
    // clinics whose files differ then encode the same value differently.
    report.warnings.push(
      "no dataSchema in the config: this clinic encodes with statistics of its own file; clinics with " +
        "different files will disagree (give every clinic the study's data schema)",
    );
  }
  return formatDataCheck(report);
}
