/**
 * CSV tables: RFC 4180 parsing (quoted fields, doubled quotes inside quotes,
 * CRLF or LF line ends, fields spanning lines) by csv-parse, with a header row
 * and errors that name the file, the line and the problem.
 *
 * @example
 * ```ts
 * import { columnIndex, parseCsv } from "./csv.ts";
 * const t = parseCsv('id,label\r\n1,"a, b"\r\n', "tiny.csv");
 * console.log(t.rows[0][columnIndex(t, "label")]); // "a, b"
 * ```
 * @module
 */

import { parse } from "csv-parse/sync";

/** A parsed CSV file: a header row and rows of the same width, all strings. */
export interface CsvTable {
  /** The name used in error messages (a path, or `archive.zip:member.csv`). */
  readonly fileName: string;
  /** Column names, from the first record. */
  readonly header: readonly string[];
  /** Data records; each has `header.length` fields. */
  readonly rows: readonly (readonly string[])[];
}

/**
 * Parses CSV text (or UTF-8 bytes, BOM allowed) with a header row. Blank lines
 * are skipped. A record whose field count differs from the header's, a stray
 * quote, or a duplicate column name is an error naming `fileName` and the line.
 *
 * @throws {SyntaxError} malformed CSV: the message names the file, the line and the problem
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * try {
 *   parseCsv("a,b\n1\n", "bad.csv");
 * } catch (e) {
 *   console.log((e as Error).message); // bad.csv: line 2: expected 2 fields (as in the header), got 1
 * }
 * ```
 */
export function parseCsv(input: string | Uint8Array, fileName = "<csv>"): CsvTable {
  const text = typeof input === "string" ? input : new TextDecoder("utf-8").decode(input);
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true }) as string[][];
  } catch (e) {
    const err = e as Error & { code?: string; lines?: number; record?: string[]; header?: boolean };
    if (err.code === "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH") {
      // csv-parse compares against the first record, which is our header.
      const m = /expect (\d+), got (\d+)/.exec(err.message);
      throw new SyntaxError(
        `${fileName}: line ${err.lines}: expected ${m?.[1]} fields (as in the header), got ${
          m?.[2]
        }`,
        { cause: e },
      );
    }
    throw new SyntaxError(`${fileName}: line ${err.lines ?? "?"}: ${err.message}`, { cause: e });
  }
  if (records.length === 0) throw new SyntaxError(`${fileName}: empty file: expected a header row`);
  const [header, ...rows] = records;
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) {
      throw new SyntaxError(`${fileName}: line 1: duplicate column name '${name}'`);
    }
    seen.add(name);
  }
  return { fileName, header, rows };
}

/**
 * The position of column `name` in `table`.
 *
 * @throws {RangeError} naming the missing column, the file and the columns it has
 * @example
 * ```ts
 * import { columnIndex, parseCsv } from "./csv.ts";
 * columnIndex(parseCsv("a,b\n1,2\n"), "b"); // 1
 * ```
 */
export function columnIndex(table: CsvTable, name: string): number {
  const i = table.header.indexOf(name);
  if (i < 0) {
    throw new RangeError(
      `${table.fileName}: no column '${name}'; available columns: ${table.header.join(", ")}`,
    );
  }
  return i;
}

/**
 * All values of column `name`, in row order.
 *
 * @throws {RangeError} when the column does not exist (see {@linkcode columnIndex})
 * @example
 * ```ts
 * import { column, parseCsv } from "./csv.ts";
 * column(parseCsv("a,b\n1,2\n3,4\n"), "a"); // ["1", "3"]
 * ```
 */
export function column(table: CsvTable, name: string): string[] {
  const i = columnIndex(table, name);
  return table.rows.map((r) => r[i]);
}
