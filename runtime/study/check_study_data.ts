/**
 * The hook that checks a study's `data` section (the data schema: label, feature columns and
 * their types, vocabularies, scaling; or image shape and normalisation). The schema's type
 * and validator live with the data code (`runtime/data/`); until they are wired here this
 * hook only requires a JSON object, so a study file is refused early for a `data` that is
 * not one, and the whole section still counts in the study's digest.
 *
 * @example
 * ```ts
 * import { checkStudyData } from "./check_study_data.ts";
 * checkStudyData({ label: "diagnosis" });
 * try { checkStudyData([1]); } catch (e) { console.log((e as Error).message); } // study.data: expected a JSON object, got an array
 * ```
 * @module
 */

/**
 * Checks the `data` section of a study; returns it unchanged.
 *
 * @throws {TypeError} `study.data: expected a JSON object, got …`
 * @example
 * ```ts
 * import { checkStudyData } from "./check_study_data.ts";
 * console.log(checkStudyData({})); // {}
 * ```
 */
export function checkStudyData(data: unknown): Record<string, unknown> {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    const got = data === null ? "null" : Array.isArray(data) ? "an array" : `a ${typeof data}`;
    throw new TypeError(`study.data: expected a JSON object, got ${got}`);
  }
  return data as Record<string, unknown>;
}
