/**
 * A server started with a study file (`deno task server --study <file>`, or the server
 * config's `study` field): the study's training fields take the place of the server config's
 * (`studyServerFields`), which may then not set them itself, so the published definition and
 * what the server trains cannot disagree. The merged config is checked by the server config
 * parser as always.
 *
 * The published definition is the study file's object as written, except that an `.onnx`
 * model is named by its file name and pinned by its bytes (`model.name` the base name,
 * `model.sha256` the hex SHA-256 of the file), so the digest does not depend on where the
 * server keeps the file but does change with the model.
 *
 * @example
 * ```ts
 * import { mergeStudyConfig } from "./study_config.ts";
 * import { parseStudy } from "../study/study_definition.ts";
 * const study = parseStudy('{"id":"s","mode":"vanilla","model":{"name":"cnn","input":{"image":{"channels":1,"size":8}}},"loss":"bce","optimizer":{"kind":"sgd","lr":0.1},"schedule":{"epochs":1}}', "s.json");
 * const merged = mergeStudyConfig({ serverKey: "s.key", allowlist: "a.json" }, study, "/etc/s.json", null);
 * console.log(merged.config.epochs, merged.published.id); // 1 s
 * ```
 * @module
 */
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { type StudyDefinition, studyServerFields } from "../study/study_definition.ts";
import { type PublishedStudy, publishStudy } from "../study/published_study.ts";

/**
 * Merges `study` (read from `studyPath`) into the server config object `config` (parsed
 * JSON, before field checks). `onnx`: the bytes of the study's `.onnx` model, when it has one.
 *
 * @throws {TypeError} naming a field both set: `config.epochs: set by the study file …`
 * @example
 * ```ts
 * import { mergeStudyConfig } from "./study_config.ts";
 * import { parseStudy } from "../study/study_definition.ts";
 * const study = parseStudy('{"id":"s","mode":"vanilla","model":{"name":"cnn"},"loss":"bce","optimizer":{"kind":"sgd","lr":0.1},"schedule":{"epochs":1}}', "s.json");
 * try { mergeStudyConfig({ epochs: 3 }, study, "s.json", null); } catch (e) { console.log((e as Error).message); }
 * // config.epochs: set by the study file s.json (schedule.epochs); remove it from the server config
 * ```
 */
export function mergeStudyConfig(
  config: Record<string, unknown>,
  study: StudyDefinition,
  studyPath: string,
  onnx: Uint8Array | null,
): { config: Record<string, unknown>; published: PublishedStudy } {
  const fields = studyServerFields(study);
  for (const k of Object.keys(fields)) {
    if (config[k] !== undefined) {
      throw new TypeError(
        `config.${k}: set by the study file ${studyPath} (${
          STUDY_FIELD_OF[k] ?? k
        }); remove it from the server config`,
      );
    }
  }
  const merged: Record<string, unknown> = { ...config, ...fields };
  // The config parser resolves relative paths against the config's folder; the study's are the study file's.
  if (study.model.name.endsWith(".onnx")) merged.model = onnxPath(study.model.name, studyPath);
  return { config: merged, published: publishStudyFile(study, onnx) };
}

/**
 * The study as the server publishes it: the file's object, an `.onnx` model named by its
 * file name and pinned by the SHA-256 of `onnx`, its bytes.
 *
 * @throws {TypeError} for an `.onnx` model without its bytes
 * @example
 * ```ts
 * import { publishStudyFile } from "./study_config.ts";
 * import { parseStudy } from "../study/study_definition.ts";
 * const study = parseStudy('{"id":"s","mode":"vanilla","model":{"name":"cnn"},"loss":"bce","optimizer":{"kind":"sgd","lr":0.1},"schedule":{"epochs":1}}', "s.json");
 * console.log(publishStudyFile(study, null).id); // s
 * ```
 */
export function publishStudyFile(study: StudyDefinition, onnx: Uint8Array | null): PublishedStudy {
  const definition = structuredClone(study) as unknown as Record<string, unknown>;
  if (study.model.name.endsWith(".onnx")) {
    if (!onnx) {
      throw new TypeError(
        `study.model.name ${study.model.name}: the model file's bytes are needed to publish the study`,
      );
    }
    const model = definition.model as Record<string, unknown>;
    model.name = basename(study.model.name);
    model.sha256 = bytesToHex(sha256(onnx));
  }
  return publishStudy(definition);
}

/**
 * Where a study's `.onnx` model lies: relative to the study file's folder.
 *
 * @example
 * ```ts
 * import { onnxPath } from "./study_config.ts";
 * console.log(onnxPath("m.onnx", "/etc/study.json")); // /etc/m.onnx
 * ```
 */
export function onnxPath(name: string, studyPath: string): string {
  return isAbsolute(name) ? name : resolve(dirname(resolve(studyPath)), name);
}

/** The study field each server config field comes from (for the conflict message). */
const STUDY_FIELD_OF: Record<string, string> = {
  model: "model.name",
  data: "model.input",
  seed: "model.seed",
  cuts: "model.cuts",
  epochs: "schedule.epochs",
  turnsPerEpoch: "schedule.turnsPerEpoch",
  order: "schedule.order",
  schedule: "schedule.kind",
  serverBatch: "schedule.serverBatch",
  clinicWeights: "schedule.clinicWeights",
  frontAggregation: "schedule.frontAggregation",
  merge: "schedule.merge",
  labelProtection: "defences.labelProtection",
};
