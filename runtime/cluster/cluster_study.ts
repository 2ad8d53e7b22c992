/**
 * The study id that names a study's NATS resources (`study_names.ts`): the id of the study
 * file the server runs, or `"splitgate"` for a server config without one. Fronts and
 * trainers of one study must agree on it (they read the same config); two studies without a
 * study file on one NATS server would share their streams, so give each a study file.
 *
 * @example
 * ```ts
 * import { clusterStudyId } from "./cluster_study.ts";
 * console.log(clusterStudyId({}), clusterStudyId({ study: { id: "heart-1" } })); // splitgate heart-1
 * ```
 * @module
 */

/** The study id when the config names no study file. */
export const DEFAULT_CLUSTER_STUDY = "splitgate";

/**
 * The study id of `config` for NATS names.
 *
 * @example
 * ```ts
 * import { clusterStudyId } from "./cluster_study.ts";
 * console.log(clusterStudyId({ study: { id: "s1" } })); // s1
 * ```
 */
export function clusterStudyId(config: { study?: { id: string } }): string {
  return config.study?.id ?? DEFAULT_CLUSTER_STUDY;
}
