/**
 * Opens a data file for training: a MedMNIST-layout `.npz` of images, the Diabetes 130
 * archive (recognised by its CSV member), or any CSV (or zip holding one) with a label
 * column. The result is three tensor datasets whose input names match the zoo models
 * (`image`; `numeric`, `categorical`, `codes`) and a description for reports.
 *
 * @example
 * ```ts
 * import { loadDataset } from "./load_dataset.ts";
 * // const ds = await loadDataset("data/pneumoniamnist.npz");
 * // ds.kind === "image"; ds.train.size === 4708
 * ```
 * @module
 */
import { unzipSync } from "fflate";
import { readNpz } from "./npz.ts";
import { loadImageNpz } from "./image_npz.ts";
import { DIABETES_MEMBER, preprocessDiabetes } from "./diabetes.ts";
import { csvFromZip, readCsvFile } from "./csv_file.ts";
import type { DataSchema } from "./data_schema.ts";
import { zooSpecOfSchema } from "./data_schema.ts";
import { loadTable } from "./load_table.ts";
import { checkImageShape, defaultImageSchema, normaliseImages } from "./image_schema.ts";
import type { Tensor } from "../../models/tensor.ts";
import { checkTable, type DataCheck, formatDataCheck } from "./data_check.ts";
import { TensorDataset } from "./tensor_dataset.ts";

/** A loaded dataset. */
export interface LoadedDataset {
  kind: "image" | "tabular";
  train: TensorDataset;
  val: TensorDataset;
  test: TensorDataset;
  /** Image shape, for the zoo CNN. */
  image?: { channels: number; size: number };
  /** Tabular encoding, for the zoo EHR network. */
  tabular?: { numeric: number; vocabSizes: number[]; codeVocab: number };
  /** Labels per split: for partitioning and reports. */
  description: string;
  /** The data schema a CSV was encoded with (the study's, or fitted on its training rows). */
  schema?: DataSchema;
  /** The data check of a CSV (`data_check.ts`), to print before training. */
  check?: DataCheck;
}

/** Options of {@linkcode loadDataset}. */
export interface LoadDatasetOptions {
  /** Label column of a CSV. */
  label?: string;
  /** Value of the label column counted as positive (default: numeric 0/1 labels). */
  positive?: string;
  /** Seed of the split of tabular data. */
  seed?: number;
  /**
   * The study's data schema: a CSV is encoded with it (never with local statistics) and a
   * cell outside it is refused before any step. Default: fitted on the CSV's training rows.
   */
  schema?: DataSchema;
}

/**
 * Loads `path` (see the module doc for the formats).
 *
 * @throws {TypeError} naming the file for an unknown format or missing `--label`
 * @example
 * ```ts
 * import { loadDataset } from "./load_dataset.ts";
 * // await loadDataset("records.csv", { label: "outcome" })
 * ```
 */
export async function loadDataset(path: string, opts: LoadDatasetOptions = {}): Promise<LoadedDataset> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`--data ${path}: file not found`);
    throw new Error(`--data ${path}: cannot read (${(e as Error).message})`);
  }
  const lower = path.toLowerCase();
  if (lower.endsWith(".npz")) {
    const d = loadImageNpz(readNpz(bytes, path), path, { labels: "binary" });
    if (opts.schema && opts.schema.kind !== "image") {
      throw new TypeError(`--data ${path}: images, but the study's data schema is for tables`);
    }
    const schema = opts.schema ?? defaultImageSchema(d.shape);
    checkImageShape(path, d.shape, schema);
    const mk = (s: { images: TensorDataset["target"]; labels: TensorDataset["target"] }) =>
      new TensorDataset({ image: normaliseImages(s.images as Tensor<"float32">, schema) }, s.labels);
    const train = mk(d.train);
    let val: TensorDataset;
    let trainDs = train;
    if (d.val) val = mk(d.val);
    else {
      // No validation split in the file: hold out the last 10% of the training split.
      const n = train.size, cut = Math.floor(n * 0.9);
      trainDs = train.subset(Array.from({ length: cut }, (_, i) => i));
      val = train.subset(Array.from({ length: n - cut }, (_, i) => cut + i));
    }
    if (d.shape.height !== d.shape.width) throw new RangeError(`${path}: images must be square, got ${d.shape.height}x${d.shape.width}`);
    return {
      kind: "image",
      train: trainDs,
      val,
      test: mk(d.test),
      image: { channels: d.shape.channels, size: d.shape.height },
      schema,
      description: `${path}: ${trainDs.size}/${val.size}/${d.test.labels.dims[0]} images ${d.shape.channels}x${d.shape.height}x${d.shape.width}`,
    };
  }
  if (lower.endsWith(".zip") && !opts.label && !opts.schema) {
    let isDiabetes = false;
    try {
      isDiabetes = hasMember(bytes, DIABETES_MEMBER);
    } catch (e) {
      throw new TypeError(`--data ${path}: not a valid zip archive (${(e as Error).message})`);
    }
    if (!isDiabetes) throw new TypeError(`--data ${path}: not the Diabetes 130 archive; give --label <column> for a CSV inside a zip`);
    const table = csvFromZip(bytes, path, { member: DIABETES_MEMBER });
    const d = preprocessDiabetes(table, { seed: opts.seed ?? 0 });
    const mk = (s: typeof d.train) =>
      new TensorDataset({ numeric: s.numeric, categorical: s.categorical, codes: s.codes }, s.label);
    return {
      kind: "tabular",
      train: mk(d.train),
      val: mk(d.val),
      test: mk(d.test),
      tabular: { numeric: d.train.numeric.dims[1], vocabSizes: d.meta.vocabSizes, codeVocab: d.meta.codeVocabSize },
      description: `${path}: Diabetes 130, ${d.train.label.dims[0]}/${d.val.label.dims[0]}/${d.test.label.dims[0]} encounters (split by patient)`,
    };
  }
  if (lower.endsWith(".csv") || lower.endsWith(".zip")) {
    if (!opts.label && !opts.schema) throw new TypeError(`--data ${path}: a CSV needs --label <column>`);
    const table = lower.endsWith(".zip") ? csvFromZip(bytes, path) : await readCsvFile(path);
    if (opts.schema && opts.schema.kind !== "table") {
      throw new TypeError(`--data ${path}: a table, but the study's data schema is for ${opts.schema.kind}s`);
    }
    const check = checkTable(table, { label: opts.label, positive: opts.positive, schema: opts.schema });
    if (check.errors.length > 0) {
      // Refused before any step: the first refusal, with the check's summary for context.
      const e = new TypeError(check.errors[0]);
      (e as { dataCheck?: string }).dataCheck = formatDataCheck(check);
      throw e;
    }
    const d = loadTable(table, { label: opts.label, positive: opts.positive, seed: opts.seed, schema: opts.schema });
    return {
      kind: "tabular",
      train: d.train,
      val: d.val,
      test: d.test,
      tabular: zooSpecOfSchema(d.schema),
      description: `${path}: ${d.train.size}/${d.val.size}/${d.test.size} rows, label ${d.schema.label.column}`,
      schema: d.schema,
      check,
    };
  }
  throw new TypeError(`--data ${path}: unknown format; expected .npz (images), .csv or .zip (tables)`);
}

function hasMember(bytes: Uint8Array, member: string): boolean {
  let found = false;
  unzipSync(bytes, {
    filter: (f) => {
      if (f.name === member) found = true;
      return false;
    },
  });
  return found;
}
