/**
 * The study definition (docs/design/study.md): one JSON file holding the study's id, model and
 * cuts, loss, optimizer, schedule, codec, defences and data schema, which the server publishes
 * and every clinic pins by its digest, `sha256:<hex>` of the canonical JSON.
 *
 * @example
 * ```ts
 * import { publishStudy, studyDigest } from "./mod.ts";
 * const p = publishStudy({ id: "s1", schedule: { epochs: 1 } });
 * console.log(p.digest === studyDigest({ schedule: { epochs: 1 }, id: "s1" })); // true
 * ```
 * @module
 */
export { canonicalJson } from "./canonical_json.ts";
export { checkStudyData } from "./check_study_data.ts";
export { type PublishedStudy, publishStudy, receiveStudy } from "./published_study.ts";
export { parseStudy, STUDY_ID_PATTERN, type StudyDefinition, studyServerFields } from "./study_definition.ts";
export { firstDifference, STUDY_DIGEST_PATTERN, studyDigest } from "./study_digest.ts";
