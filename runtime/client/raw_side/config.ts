/**
 * The configuration of the sandboxed raw-data process (JSON, passed as its one argument) and
 * its shape check. The loader that builds the raw side from it is `load_raw_side.ts`.
 *
 * @example
 * ```ts
 * import { validateRawSideConfig } from "./config.ts";
 * const c = validateRawSideConfig({ clinic: "a", dataFile: "d.npz", zoo: "cnn", cuts: [], mode: "vanilla",
 *   loss: "bce", optimizer: { kind: "sgd", lr: 0.1 }, seed: 0, batchSize: 8 });
 * console.log(c.clinic); // "a"
 * ```
 * @module
 */
import type { LossKind } from "../../../models/grad/loss.ts";
import type { OptimizerConfig } from "../../../models/train/optimizer.ts";
import { type DataSchema, parseDataSchema } from "../../data/data_schema.ts";
import type { PartitionScheme } from "../../data/partition.ts";
import type { CodecConfig } from "../../config/json_config.ts";
import { type DefenceConfig, parseDefenceConfig } from "../../privacy/defence_config.ts";
import type { RawSideMode } from "./api.ts";
import { RawSideError } from "./error.ts";

/**
 * Which rows of a split belong to this clinic: explicit row indices, or part `index` of a
 * seeded partition (`runtime/data/partition.ts`) — every clinic computes the same partition
 * from the same seed and takes its own part. Absent: all rows.
 *
 * @example
 * ```ts
 * import type { RowSelection } from "./config.ts";
 * const mine: RowSelection = { partition: { scheme: "label-dirichlet", clinics: 2, index: 0, alpha: 0.5, seed: 1 } };
 * ```
 */
export type RowSelection =
  | { indices: number[] }
  | {
    partition: {
      scheme: PartitionScheme;
      clinics: number;
      index: number;
      seed: number;
      alpha?: number;
      minSize?: number;
    };
  };

/**
 * Configuration of the raw-data process. Paths are as the process sees them (relative ones
 * resolve against the launcher's working directory, which the process inherits).
 *
 * @example
 * ```ts
 * import type { RawSideProcessConfig } from "./config.ts";
 * const c: RawSideProcessConfig = {
 *   clinic: "clinic-a", dataFile: "data/pneumoniamnist.npz", modelFile: "run/model.onnx",
 *   cuts: ["block2/pool/MaxPool_output_0"], mode: "vanilla", loss: "bce",
 *   optimizer: { kind: "adam", lr: 1e-3 }, seed: 0, batchSize: 64,
 *   keyFile: "keys/clinic-a.key", checkpointDir: "run/ckpt-a",
 *   rows: { train: { partition: { scheme: "label-dirichlet", clinics: 2, index: 0, seed: 0 } } },
 * };
 * ```
 */
export interface RawSideProcessConfig {
  /** This clinic's name. */
  clinic: string;
  /** The records: `.npz` (images), `.csv` or `.zip` (tables), read with `loadDataset`. */
  dataFile: string;
  /** CSV label column and positive value (tables only). */
  dataLabel?: string;
  dataPositive?: string;
  /** The study's data schema: the table is encoded with it only (`table_encoder.ts`). */
  dataSchema?: DataSchema;
  /** This clinic's rows of each split (default: all rows). */
  rows?: { train?: RowSelection; val?: RowSelection; test?: RowSelection };
  /**
   * The whole model as `.onnx` (the clinic runs its segments of it). Either this or `zoo`.
   */
  modelFile?: string;
  /**
   * A zoo network (`"cnn"` | `"ehr"`) built from the data's shape and initialised from
   * `Rng(seed)` exactly as the server's `buildSplitModel` does, so both ends start from the
   * same weights without a model file. Either this or `modelFile`.
   */
  zoo?: string;
  /** Cut tensors; empty with `zoo`: the zoo's cuts for the mode. */
  cuts: string[];
  /**
   * Prediction input (split inference): an `.npz` whose `images` (or `test_images`) array
   * replaces every split; labels (`labels`/`test_labels`) are used when present, else zeros.
   * The process gets read access to this one file (see `rawSideFlags`).
   */
  predictFile?: string;
  mode: RawSideMode;
  loss: LossKind;
  optimizer: OptimizerConfig;
  seed: number;
  batchSize: number;
  evalBatchSize?: number;
  /** This clinic's private key file (mode 0600), to open relayed weights. */
  keyFile?: string;
  /** Checkpoint directory (the only place the process may write). */
  checkpointDir?: string;
  /** onnxruntime-web's `ort-wasm-simd-threaded.wasm` (default: the npm cache copy). */
  wasmFile?: string;
  /** wasm threads (default 1). */
  threads?: number;
  /** Print per-phase timings of the pipe service to stderr at the end (default false). */
  profile?: boolean;
  /** Training augmentation: `"shift"` (random ±2 px shift, images only) or `"none"` (default). */
  augment?: "shift" | "none";
  /** The clinic's policy: whether the full model may be assembled (`exportModel`; default false). */
  allowExport?: boolean;
  /** Privacy defences at the cut (noise, NoPeek, U-shape label protection); default none. */
  defence?: DefenceConfig;
  /**
   * The clinic's wire codec: the cut tensors the raw side sends out are encoded with it, so
   * the courier relays them without decoding and encoding again (default: float32 exact).
   */
  codec?: CodecConfig;
}

/**
 * Throws the `CONFIG_INVALID` error of a config field: its name, what it must be, what it is.
 *
 * @throws {RawSideError} `CONFIG_INVALID`, always
 * @example
 * ```ts
 * import { failConfig } from "./config.ts";
 * try {
 *   failConfig("batchSize", "an integer >= 1", 0);
 * } catch (e) {
 *   console.log((e as Error).message); // raw-side config: batchSize must be an integer >= 1, got 0
 * }
 * ```
 */
export function failConfig(field: string, expected: string, got: unknown): never {
  throw new RawSideError(
    "CONFIG_INVALID",
    `raw-side config: ${field} must be ${expected}, got ${JSON.stringify(got)}`,
  );
}

function str(o: Record<string, unknown>, k: string, optional = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (typeof v !== "string" || v.length === 0) failConfig(k, "a non-empty string", v);
}

function int(o: Record<string, unknown>, k: string, min: number, optional = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (!Number.isSafeInteger(v) || (v as number) < min) failConfig(k, `an integer >= ${min}`, v);
}

function checkSelection(v: unknown, field: string): void {
  if (v === undefined) return;
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== "object") failConfig(field, "{indices} or {partition}", v);
  if ("indices" in o) {
    if (!Array.isArray(o.indices) || !o.indices.every((i) => Number.isSafeInteger(i) && i >= 0)) {
      failConfig(`${field}.indices`, "an array of row indices", o.indices);
    }
  } else if ("partition" in o) {
    const p = o.partition as Record<string, unknown>;
    if (!p || typeof p !== "object") failConfig(`${field}.partition`, "an object", p);
    if (!["iid", "label-dirichlet", "size-dirichlet"].includes(p.scheme as string)) {
      failConfig(`${field}.partition.scheme`, "iid, label-dirichlet or size-dirichlet", p.scheme);
    }
    int(p, "clinics", 1);
    int(p, "index", 0);
    int(p, "seed", Number.MIN_SAFE_INTEGER);
    if ((p.index as number) >= (p.clinics as number)) {
      failConfig(`${field}.partition.index`, `below clinics (${p.clinics})`, p.index);
    }
  } else failConfig(field, "{indices} or {partition}", v);
}

/**
 * Checks a parsed configuration's shape (types and ranges; files are checked when loaded).
 *
 * @throws {RawSideError} `CONFIG_INVALID` naming the field
 * @example
 * ```ts
 * import { validateRawSideConfig } from "./config.ts";
 * try {
 *   validateRawSideConfig({ clinic: "a" });
 * } catch (e) {
 *   console.log((e as Error).message); // raw-side config: dataFile must be a non-empty string, got undefined
 * }
 * ```
 */
export function validateRawSideConfig(value: unknown): RawSideProcessConfig {
  const o = value as Record<string, unknown>;
  if (!o || typeof o !== "object" || Array.isArray(o)) failConfig("the config", "a JSON object", value);
  str(o, "clinic");
  str(o, "dataFile");
  str(o, "dataLabel", true);
  str(o, "dataPositive", true);
  if (o.dataSchema !== undefined) {
    try {
      parseDataSchema(o.dataSchema);
    } catch (e) {
      failConfig("dataSchema", "a valid data schema", (e as Error).message);
    }
  }
  str(o, "modelFile", true);
  str(o, "zoo", true);
  str(o, "predictFile", true);
  if ((o.modelFile === undefined) === (o.zoo === undefined)) {
    failConfig("modelFile/zoo", "exactly one of modelFile (an .onnx path) or zoo (a zoo name)", {
      modelFile: o.modelFile,
      zoo: o.zoo,
    });
  }
  str(o, "keyFile", true);
  str(o, "checkpointDir", true);
  str(o, "wasmFile", true);
  if (
    !Array.isArray(o.cuts) || !o.cuts.every((c) => typeof c === "string" && c.length > 0) ||
    (o.cuts.length === 0 && o.zoo === undefined)
  ) {
    failConfig("cuts", "an array of tensor names", o.cuts);
  }
  if (o.mode !== "vanilla" && o.mode !== "ushaped") failConfig("mode", `"vanilla" or "ushaped"`, o.mode);
  if (!["bce", "ce", "mse"].includes(o.loss as string)) failConfig("loss", "bce, ce or mse", o.loss);
  const opt = o.optimizer as Record<string, unknown>;
  if (
    !opt || typeof opt !== "object" || !["sgd", "adam", "adamw"].includes(opt.kind as string) ||
    typeof opt.lr !== "number"
  ) {
    failConfig("optimizer", "{kind: sgd|adam|adamw, lr: number, ...}", opt);
  }
  int(o, "seed", Number.MIN_SAFE_INTEGER);
  int(o, "batchSize", 1);
  int(o, "evalBatchSize", 1, true);
  int(o, "threads", 1, true);
  if (o.profile !== undefined && typeof o.profile !== "boolean") failConfig("profile", "a boolean", o.profile);
  if (o.allowExport !== undefined && typeof o.allowExport !== "boolean") failConfig("allowExport", "a boolean", o.allowExport);
  if (o.augment !== undefined && o.augment !== "shift" && o.augment !== "none") {
    failConfig("augment", `"shift" or "none"`, o.augment);
  }
  if (o.codec !== undefined) {
    const c = o.codec as Record<string, unknown>;
    if (
      !c || typeof c !== "object" || !["float32", "float16", "int8"].includes(c.dtype as string) ||
      !Number.isInteger(c.level) || (c.level as number) < 0 || (c.level as number) > 9 ||
      (c.quantize !== undefined && c.quantize !== "graph" && c.quantize !== "codec")
    ) {
      failConfig("codec", "{dtype: float32|float16|int8, level: 0..9, quantize?: graph|codec}", o.codec);
    }
  }
  if (o.defence !== undefined) {
    try {
      parseDefenceConfig(o.defence);
    } catch (e) {
      throw new RawSideError("CONFIG_INVALID", `raw-side config: ${(e as Error).message}`);
    }
  }
  if (o.rows !== undefined) {
    const r = o.rows as Record<string, unknown>;
    if (!r || typeof r !== "object") failConfig("rows", "an object", r);
    for (const k of Object.keys(r)) {
      if (!["train", "val", "test"].includes(k)) failConfig(`rows.${k}`, "one of train, val, test", k);
      checkSelection(r[k], `rows.${k}`);
    }
  }
  return o as unknown as RawSideProcessConfig;
}

