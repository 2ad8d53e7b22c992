/**
 * Loading CSV tables from disk, either a plain `.csv` file or a member of a
 * `.zip` archive (read without unpacking the archive to disk; fflate inflates
 * only the member asked for).
 *
 * @example
 * ```ts
 * import { readCsvFile } from "./csv_file.ts";
 * const t = await readCsvFile("data/diabetes130.zip", { member: "dataset_diabetes/diabetic_data.csv" });
 * console.log(t.rows.length); // 101766
 * ```
 * @module
 */

import { unzipSync } from "fflate";
import { type CsvTable, parseCsv } from "./csv.ts";

/** Options of {@linkcode readCsvFile} and {@linkcode csvFromZip}. */
export interface CsvFileOptions {
  /**
   * The archive member to read when the file is a `.zip`. Default: the only
   * `.csv` member (an error when there are several).
   */
  member?: string;
}

/**
 * Parses a CSV member of a ZIP archive held in memory.
 *
 * @param zip the archive bytes
 * @param zipName a name for error messages
 * @throws {TypeError} the bytes are not a ZIP archive
 * @throws {RangeError} the member is missing or ambiguous (the message lists the CSV members)
 * @throws {SyntaxError} malformed CSV (see {@linkcode parseCsv})
 *
 * @example
 * ```ts
 * import { csvFromZip } from "./csv_file.ts";
 * const t = csvFromZip(Deno.readFileSync("data/diabetes130.zip"), "diabetes130.zip", {
 *   member: "dataset_diabetes/diabetic_data.csv",
 * });
 * ```
 */
export function csvFromZip(
  zip: Uint8Array,
  zipName: string,
  options: CsvFileOptions = {},
): CsvTable {
  const csvMembers: string[] = [];
  let files: Record<string, Uint8Array>;
  try {
    // First pass lists members without inflating anything.
    unzipSync(zip, {
      filter(f) {
        if (f.name.toLowerCase().endsWith(".csv")) csvMembers.push(f.name);
        return false;
      },
    });
    let member = options.member;
    if (member === undefined) {
      if (csvMembers.length !== 1) {
        throw new RangeError(
          `${zipName}: ${csvMembers.length} CSV members, name one with member: ${
            csvMembers.join(", ") || "(none)"
          }`,
        );
      }
      member = csvMembers[0];
    }
    const want = member;
    files = unzipSync(zip, { filter: (f) => f.name === want });
    if (!files[want]) {
      throw new RangeError(
        `${zipName}: no member '${want}'; CSV members: ${csvMembers.join(", ") || "(none)"}`,
      );
    }
    return parseCsv(files[want], `${zipName}:${want}`);
  } catch (e) {
    if (e instanceof RangeError || e instanceof SyntaxError) throw e;
    throw new TypeError(`${zipName}: not a valid ZIP archive: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Reads a CSV table from `path`: a `.csv` file, or a member of a `.zip` archive.
 *
 * @example
 * ```ts
 * import { readCsvFile } from "./csv_file.ts";
 * const path = await Deno.makeTempFile({ suffix: ".csv" });
 * await Deno.writeTextFile(path, "age,outcome\n61,0\n");
 * const t = await readCsvFile(path);
 * console.log(t.rows); // [["61", "0"]]
 * ```
 */
export async function readCsvFile(path: string, options: CsvFileOptions = {}): Promise<CsvTable> {
  const bytes = await Deno.readFile(path);
  if (path.toLowerCase().endsWith(".zip")) return csvFromZip(bytes, path, options);
  return parseCsv(bytes, path);
}
