/**
 * The study definition: one JSON file that says what a study trains and how, which the
 * server is started with (`deno task server --study <file>`, or the server config's `study`
 * field) and publishes, and every clinic pins by digest (docs: `runtime/study/mod.ts`).
 *
 * ```json
 * {
 *   "id": "breast-cancer-2026-01",
 *   "mode": "vanilla",
 *   "model": { "name": "ehr", "input": { "tabular": { "numeric": 30, "vocabSizes": [], "codeVocab": 1 } }, "seed": 0, "cuts": ["..."] },
 *   "loss": "bce",
 *   "optimizer": { "kind": "adam", "lr": 0.001 },
 *   "schedule": { "kind": "sequential", "epochs": 3, "turnsPerEpoch": 1, "order": ["clinic-a", "clinic-b"] },
 *   "codec": { "dtype": "float32", "level": 0 },
 *   "defences": { "labelProtection": "none", "clinic": { "noise": { "clip": 8, "sigma": 0.05 } } },
 *   "data": { "…": "the data schema" }
 * }
 * ```
 *
 * This parser checks the structure (known keys, required fields, the id); the values of the
 * training fields are checked where they always were, by the server config's parser, after
 * {@linkcode studyServerFields} maps them onto the server config's fields. `data` goes
 * through {@linkcode checkStudyData}.
 *
 * @example
 * ```ts
 * import { parseStudy } from "./study_definition.ts";
 * const s = parseStudy(JSON.stringify({
 *   id: "s1", mode: "vanilla", model: { name: "cnn", input: { image: { channels: 1, size: 28 } } },
 *   loss: "bce", optimizer: { kind: "sgd", lr: 0.1 }, schedule: { epochs: 2 },
 * }), "study.json");
 * console.log(s.id, s.schedule.epochs); // s1 2
 * ```
 * @module
 */
import { checkStudyData } from "./check_study_data.ts";
import { type DataSchema, zooSpecOfSchema } from "../data/data_schema.ts";

/** A study id: 1 to 64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit (it names a folder). */
export const STUDY_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * A parsed study file (values as written; relative paths as written).
 *
 * @example
 * ```ts
 * import type { StudyDefinition } from "./study_definition.ts";
 * function rounds(s: StudyDefinition) { return s.schedule.epochs * (s.schedule.turnsPerEpoch ?? 1); }
 * ```
 */
export interface StudyDefinition {
  id: string;
  mode: string;
  model: { name: string; input?: unknown; seed?: number; cuts?: string[] };
  loss: string;
  optimizer: Record<string, unknown>;
  schedule: {
    kind?: "sequential" | "parallel" | "splitfed";
    epochs: number;
    turnsPerEpoch?: number;
    order?: string[];
    serverBatch?: "inOrder" | "merge";
    clinicWeights?: "averaged" | "private";
    frontAggregation?: "relay" | "secagg";
    merge?: { maxRows?: number; maxDelayMs?: number };
  };
  codec?: Record<string, unknown>;
  defences?: { labelProtection?: string; clinic?: Record<string, unknown> };
  data?: Record<string, unknown>;
}

const KEYS: Record<string, readonly string[]> = {
  "": ["id", "mode", "model", "loss", "optimizer", "schedule", "codec", "defences", "data"],
  model: ["name", "input", "seed", "cuts"],
  schedule: ["kind", "epochs", "turnsPerEpoch", "order", "serverBatch", "clinicWeights", "frontAggregation", "merge"],
  defences: ["labelProtection", "clinic"],
};

/** Why a value is not what a field needs, naming the field: `study.<field>: expected …, got …`. */
function fail(field: string, want: string, got: unknown): never {
  throw new TypeError(`study.${field}: expected ${want}, got ${JSON.stringify(got) ?? "nothing"}`);
}

function object(v: unknown, field: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) fail(field, "a JSON object", v);
  const keys = KEYS[field];
  if (keys) {
    for (const k of Object.keys(v)) {
      if (!keys.includes(k)) {
        throw new TypeError(
          `study${field ? `.${field}` : ""}: unknown field ${JSON.stringify(k)} (known: ${
            keys.join(", ")
          })`,
        );
      }
    }
  }
  return v as Record<string, unknown>;
}

/**
 * Parses and checks a study file's text (`where` names it in errors about the JSON itself).
 *
 * @throws {TypeError} naming the first bad field: `study.schedule.epochs: expected …, got …`
 * @example
 * ```ts
 * import { parseStudy } from "./study_definition.ts";
 * try { parseStudy('{"id": "../x"}', "study.json"); } catch (e) { console.log((e as Error).message); }
 * // study.id: expected 1 to 64 of A-Z a-z 0-9 . _ - (starting with a letter or digit), got "../x"
 * ```
 */
export function parseStudy(text: string, where: string): StudyDefinition {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`${where}: not JSON (${(e as Error).message})`);
  }
  const s = object(raw, "");
  if (typeof s.id !== "string" || !STUDY_ID_PATTERN.test(s.id)) {
    fail("id", "1 to 64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)", s.id);
  }
  if (typeof s.mode !== "string") fail("mode", '"vanilla" or "ushaped"', s.mode);
  const model = object(s.model, "model");
  if (typeof model.name !== "string" || model.name === "") {
    fail("model.name", "a zoo model name or an .onnx path", model.name);
  }
  if (typeof s.loss !== "string") fail("loss", '"bce", "ce" or "mse"', s.loss);
  object(s.optimizer, "optimizer");
  const schedule = object(s.schedule, "schedule");
  if (schedule.kind !== undefined && !["sequential", "parallel", "splitfed"].includes(schedule.kind as string)) {
    fail("schedule.kind", '"sequential", "parallel" or "splitfed"', schedule.kind);
  }
  // A study ends: without a number of epochs the server could never finish it.
  if (!Number.isSafeInteger(schedule.epochs) || (schedule.epochs as number) < 1) {
    fail("schedule.epochs", "a positive integer (a study ends)", schedule.epochs);
  }
  if (s.codec !== undefined) object(s.codec, "codec");
  if (s.defences !== undefined) {
    const d = object(s.defences, "defences");
    if (d.clinic !== undefined) object(d.clinic, "defences.clinic");
  }
  if (s.data !== undefined) checkEhrInput(model, checkStudyData(s.data));
  return s as unknown as StudyDefinition;
}

/**
 * The server config fields a study sets, by server config field name (`model.input` is the
 * config's `data`, the zoo model's input spec; `schedule.epochs` its `epochs`, …). The
 * server config may not set any of them itself: the study is their one source.
 *
 * @example
 * ```ts
 * import { parseStudy, studyServerFields } from "./study_definition.ts";
 * const s = parseStudy('{"id":"s","mode":"vanilla","model":{"name":"cnn"},"loss":"bce","optimizer":{"kind":"sgd","lr":0.1},"schedule":{"epochs":1}}', "s.json");
 * console.log(studyServerFields(s)); // { mode: "vanilla", model: "cnn", loss: "bce", optimizer: {...}, epochs: 1 }
 * ```
 */
export function studyServerFields(s: StudyDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = {
    mode: s.mode,
    model: s.model.name,
    data: s.model.input,
    seed: s.model.seed,
    cuts: s.model.cuts,
    loss: s.loss,
    optimizer: s.optimizer,
    epochs: s.schedule.epochs,
    turnsPerEpoch: s.schedule.turnsPerEpoch,
    order: s.schedule.order,
    schedule: s.schedule.kind,
    serverBatch: s.schedule.serverBatch,
    clinicWeights: s.schedule.clinicWeights,
    frontAggregation: s.schedule.frontAggregation,
    merge: s.schedule.merge,
    codec: s.codec,
    labelProtection: s.defences?.labelProtection,
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/**
 * The zoo `ehr` network's input spec must be the data schema's shape: its numeric columns and, per
 * categorical column, its categories + 1 (index 0 is "other"). A mismatch would build the
 * server's and the clinics' networks from different shapes without a word.
 */
function checkEhrInput(model: Record<string, unknown>, data: DataSchema): void {
  if (model.name !== "ehr" || model.input === undefined || data.kind !== "table") return;
  const want = zooSpecOfSchema(data);
  const got = (model.input as { tabular?: Record<string, unknown> }).tabular;
  const same = got !== undefined && got.numeric === want.numeric && (got.codeVocab ?? 0) === 0 &&
    JSON.stringify(got.vocabSizes ?? []) === JSON.stringify(want.vocabSizes);
  if (!same) {
    fail(
      "model.input",
      `${JSON.stringify({ tabular: want })} (the data schema's numeric columns, and categories + 1 per categorical column)`,
      model.input,
    );
  }
}
