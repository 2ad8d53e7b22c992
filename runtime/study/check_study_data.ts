/**
 * The hook that checks a study's `data` section: the data schema (`runtime/data/data_schema.ts`:
 * for tables the label column and its positive class, each column's type, category
 * vocabularies in a fixed order, missing-value handling and scaling statistics; for images the
 * shape and normalisation). A study file whose `data` is not a valid schema is refused when it
 * is read, naming the field; the whole section, as written, counts in the study's digest.
 *
 * @example
 * ```ts
 * import { checkStudyData } from "./check_study_data.ts";
 * try { checkStudyData([1]); } catch (e) { console.log((e as Error).message); } // study.data: expected a JSON object, got an array
 * ```
 * @module
 */
import { type DataSchema, parseDataSchema } from "../data/data_schema.ts";

/**
 * Checks the `data` section of a study; returns the schema it declares.
 *
 * @throws {TypeError} `study.data: …` naming what is wrong
 * @example
 * ```ts
 * import { checkStudyData } from "./check_study_data.ts";
 * const s = checkStudyData({ kind: "image", shape: { channels: 1, height: 8, width: 8 },
 *   normalisation: { divide: 255, mean: [0], std: [1] } });
 * console.log(s.kind); // image
 * ```
 */
export function checkStudyData(data: unknown): DataSchema {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    const got = data === null ? "null" : Array.isArray(data) ? "an array" : `a ${typeof data}`;
    throw new TypeError(`study.data: expected a JSON object, got ${got}`);
  }
  try {
    return parseDataSchema(data);
  } catch (e) {
    throw new TypeError(`study.data: ${(e as Error).message}`);
  }
}
