/**
 * The configuration of the sandboxed raw-data process (JSON, passed as its one argument) and
 * the loader that builds its {@linkcode LocalRawSide} from files: the process reads its own
 * records, model and key, so no record ever crosses into another process.
 *
 * @example
 * ```ts
 * import { loadRawSide, validateRawSideConfig } from "./raw_side_config.ts";
 * // const config = validateRawSideConfig(JSON.parse(Deno.args[0]));
 * // const side = await loadRawSide(config, await createEngine("wasm"));
 * ```
 * @module
 */
import type { LossKind } from "../../models/grad/loss.ts";
import type { Model } from "../../models/graph/ir.ts";
import { readModel } from "../../models/onnx/read_model.ts";
import { tensor, type Tensor } from "../../models/tensor.ts";
import { zooModel } from "../../models/zoo/mod.ts";
import type { OptimizerConfig } from "../../models/train/optimizer.ts";
import { randomShift } from "../data/augment.ts";
import { loadDataset } from "../data/load_dataset.ts";
import { readNpz } from "../data/npz.ts";
import { isStringArray } from "../data/npy.ts";
import { partition, type PartitionScheme } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import { TensorDataset } from "../data/tensor_dataset.ts";
import type { CodecConfig } from "../config/json_config.ts";
import type { Engine } from "../engine/mod.ts";
import { loadPrivateKeyFile } from "../keys/key_store.ts";
import { type DefenceConfig, parseDefenceConfig } from "../privacy/defence_config.ts";
import { LocalRawSide, type RawSideMode } from "./raw_side.ts";
import { RawSideError } from "./raw_side_error.ts";

/**
 * Which rows of a split belong to this clinic: explicit row indices, or part `index` of a
 * seeded partition (`runtime/data/partition.ts`) — every clinic computes the same partition
 * from the same seed and takes its own part. Absent: all rows.
 *
 * @example
 * ```ts
 * import type { RowSelection } from "./raw_side_config.ts";
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
 * import type { RawSideProcessConfig } from "./raw_side_config.ts";
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

function fail(field: string, expected: string, got: unknown): never {
  throw new RawSideError(
    "CONFIG_INVALID",
    `raw-side config: ${field} must be ${expected}, got ${JSON.stringify(got)}`,
  );
}

function str(o: Record<string, unknown>, k: string, optional = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (typeof v !== "string" || v.length === 0) fail(k, "a non-empty string", v);
}

function int(o: Record<string, unknown>, k: string, min: number, optional = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (!Number.isSafeInteger(v) || (v as number) < min) fail(k, `an integer >= ${min}`, v);
}

function checkSelection(v: unknown, field: string): void {
  if (v === undefined) return;
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== "object") fail(field, "{indices} or {partition}", v);
  if ("indices" in o) {
    if (!Array.isArray(o.indices) || !o.indices.every((i) => Number.isSafeInteger(i) && i >= 0)) {
      fail(`${field}.indices`, "an array of row indices", o.indices);
    }
  } else if ("partition" in o) {
    const p = o.partition as Record<string, unknown>;
    if (!p || typeof p !== "object") fail(`${field}.partition`, "an object", p);
    if (!["iid", "label-dirichlet", "size-dirichlet"].includes(p.scheme as string)) {
      fail(`${field}.partition.scheme`, "iid, label-dirichlet or size-dirichlet", p.scheme);
    }
    int(p, "clinics", 1);
    int(p, "index", 0);
    int(p, "seed", Number.MIN_SAFE_INTEGER);
    if ((p.index as number) >= (p.clinics as number)) {
      fail(`${field}.partition.index`, `below clinics (${p.clinics})`, p.index);
    }
  } else fail(field, "{indices} or {partition}", v);
}

/**
 * Checks a parsed configuration's shape (types and ranges; files are checked when loaded).
 *
 * @throws {RawSideError} `CONFIG_INVALID` naming the field
 * @example
 * ```ts
 * import { validateRawSideConfig } from "./raw_side_config.ts";
 * try {
 *   validateRawSideConfig({ clinic: "a" });
 * } catch (e) {
 *   console.log((e as Error).message); // raw-side config: dataFile must be a non-empty string, got undefined
 * }
 * ```
 */
export function validateRawSideConfig(value: unknown): RawSideProcessConfig {
  const o = value as Record<string, unknown>;
  if (!o || typeof o !== "object" || Array.isArray(o)) fail("the config", "a JSON object", value);
  str(o, "clinic");
  str(o, "dataFile");
  str(o, "dataLabel", true);
  str(o, "dataPositive", true);
  str(o, "modelFile", true);
  str(o, "zoo", true);
  str(o, "predictFile", true);
  if ((o.modelFile === undefined) === (o.zoo === undefined)) {
    fail("modelFile/zoo", "exactly one of modelFile (an .onnx path) or zoo (a zoo name)", {
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
    fail("cuts", "an array of tensor names", o.cuts);
  }
  if (o.mode !== "vanilla" && o.mode !== "ushaped") fail("mode", `"vanilla" or "ushaped"`, o.mode);
  if (!["bce", "ce", "mse"].includes(o.loss as string)) fail("loss", "bce, ce or mse", o.loss);
  const opt = o.optimizer as Record<string, unknown>;
  if (
    !opt || typeof opt !== "object" || !["sgd", "adam", "adamw"].includes(opt.kind as string) ||
    typeof opt.lr !== "number"
  ) {
    fail("optimizer", "{kind: sgd|adam|adamw, lr: number, ...}", opt);
  }
  int(o, "seed", Number.MIN_SAFE_INTEGER);
  int(o, "batchSize", 1);
  int(o, "evalBatchSize", 1, true);
  int(o, "threads", 1, true);
  if (o.profile !== undefined && typeof o.profile !== "boolean") fail("profile", "a boolean", o.profile);
  if (o.allowExport !== undefined && typeof o.allowExport !== "boolean") fail("allowExport", "a boolean", o.allowExport);
  if (o.augment !== undefined && o.augment !== "shift" && o.augment !== "none") {
    fail("augment", `"shift" or "none"`, o.augment);
  }
  if (o.codec !== undefined) {
    const c = o.codec as Record<string, unknown>;
    if (
      !c || typeof c !== "object" || !["float32", "float16", "int8"].includes(c.dtype as string) ||
      !Number.isInteger(c.level) || (c.level as number) < 0 || (c.level as number) > 9
    ) {
      fail("codec", "{dtype: float32|float16|int8, level: 0..9}", o.codec);
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
    if (!r || typeof r !== "object") fail("rows", "an object", r);
    for (const k of Object.keys(r)) {
      if (!["train", "val", "test"].includes(k)) fail(`rows.${k}`, "one of train, val, test", k);
      checkSelection(r[k], `rows.${k}`);
    }
  }
  return o as unknown as RawSideProcessConfig;
}

function select(ds: TensorDataset, sel: RowSelection | undefined, split: string): TensorDataset {
  if (!sel) return ds;
  let idx: ArrayLike<number>;
  if ("indices" in sel) {
    const bad = sel.indices.find((i) => i >= ds.size);
    if (bad !== undefined) fail(`rows.${split}.indices`, `rows below ${ds.size}`, bad);
    idx = sel.indices;
  } else {
    const p = sel.partition;
    const labels = p.scheme === "label-dirichlet"
      ? Array.from(ds.target.data as ArrayLike<number | bigint>, Number)
      : undefined;
    idx = partition({ ...p, count: ds.size, labels })[p.index];
  }
  return ds.subset(idx);
}

/**
 * Builds the raw side from the files named in `config`, on `engine`.
 *
 * @throws {RawSideError} `CONFIG_INVALID` for selections that do not fit the data; the
 *   loaders' errors for unreadable data, model or key files
 * @example
 * ```ts
 * import { loadRawSide } from "./raw_side_config.ts";
 * // const side = await loadRawSide(config, engine);
 * ```
 */
export async function loadRawSide(
  config: RawSideProcessConfig,
  engine: Engine,
): Promise<LocalRawSide> {
  const data = await loadDataset(config.dataFile, {
    label: config.dataLabel,
    positive: config.dataPositive,
    seed: config.seed,
  });
  const rows = config.rows ?? {};
  let splits = {
    train: select(data.train, rows.train, "train"),
    val: select(data.val, rows.val, "val"),
    test: select(data.test, rows.test, "test"),
  };
  if (config.predictFile !== undefined) {
    const input = await loadPredictInput(config.predictFile);
    splits = { train: input, val: input, test: input };
  }
  let model: Model;
  let cuts = config.cuts;
  if (config.zoo !== undefined) {
    // The same initialisation as runtime/server/split_model.ts buildSplitModel.
    const rng = new Rng(config.seed);
    const z = zooModel(config.zoo, data, () => rng.float());
    model = z.model;
    if (cuts.length === 0) cuts = config.mode === "vanilla" ? z.cuts.default : z.cuts.ushaped;
  } else {
    model = readModel(await Deno.readFile(config.modelFile!), config.modelFile!);
  }
  const keyPair = config.keyFile ? (await loadPrivateKeyFile(config.keyFile)).keyPair : undefined;
  const shift = config.augment === "shift" && data.kind === "image";
  return await LocalRawSide.create({
    clinic: config.clinic,
    data: splits,
    model,
    cuts,
    mode: config.mode,
    loss: config.loss,
    optimizer: config.optimizer,
    seed: config.seed,
    batchSize: config.batchSize,
    evalBatchSize: config.evalBatchSize,
    engine,
    checkpointDir: config.checkpointDir,
    keyPair,
    allowExport: config.allowExport === true,
    defence: config.defence,
    // The same ±2 px shift as the central CLI (runtime/cli/train.ts), so split and central compare.
    augment: shift
      ? (b, r) => ({ ...b, inputs: { ...b.inputs, image: randomShift(b.inputs.image, 2, r) } })
      : undefined,
  });
}

/**
 * Reads a prediction input `.npz`: `images` (or `test_images`) as uint8 `[N, H, W]` (scaled to
 * [0, 1], like `loadImageNpz`) or float32 `[N, C, H, W]`, and `labels` (or `test_labels`) when
 * present (else zeros, for inputs without known outcomes).
 *
 * @throws {RawSideError} `CONFIG_INVALID` for a file without images of a usable shape
 * @example
 * ```ts
 * import { loadPredictInput } from "./raw_side_config.ts";
 * // const ds = await loadPredictInput("data/new_patients.npz"); ds.size
 * ```
 */
export async function loadPredictInput(path: string): Promise<TensorDataset> {
  const arrays = readNpz(await Deno.readFile(path), path);
  const pick = (...names: string[]): Tensor | undefined => {
    for (const n of names) {
      const a = arrays.get(n);
      if (a && !isStringArray(a)) return a;
    }
    return undefined;
  };
  const images = pick("images", "test_images");
  if (!images) fail(`predict input ${path}`, "an .npz holding an images (or test_images) array", [...arrays.keys()]);
  let x: Tensor<"float32">;
  if (images.dtype === "uint8" && images.dims.length === 3) {
    x = tensor("float32", [images.dims[0], 1, images.dims[1], images.dims[2]], Float32Array.from(images.data as Uint8Array, (v) => v / 255));
  } else if (images.dtype === "uint8" && images.dims.length === 4) {
    // MedMNIST colour layout [N, H, W, C] -> [N, C, H, W].
    const [n, h, w, c] = images.dims;
    const src = images.data as Uint8Array, out = new Float32Array(src.length);
    for (let i = 0; i < n; i++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          for (let ch = 0; ch < c; ch++) out[((i * c + ch) * h + y) * w + xx] = src[((i * h + y) * w + xx) * c + ch] / 255;
        }
      }
    }
    x = tensor("float32", [n, c, h, w], out);
  } else if (images.dtype === "float32" && images.dims.length === 4) {
    x = images as Tensor<"float32">;
  } else {
    fail(`predict input ${path} images`, "uint8 [N, H, W] / [N, H, W, C] or float32 [N, C, H, W]", `${images.dtype}[${images.dims}]`);
  }
  const n = x.dims[0];
  const labels = pick("labels", "test_labels");
  const y = tensor("float32", [n, 1], labels && labels.data.length === n ? Float32Array.from(labels.data as ArrayLike<number>, Number) : new Float32Array(n));
  return new TensorDataset({ image: x }, y);
}
