/**
 * Builds the raw side of the sandboxed process from the files its configuration names: the
 * process reads its own records, model and key, so no record ever crosses into another
 * process. Row selections pick this clinic's part of each split.
 *
 * @example
 * ```ts
 * import { loadRawSide } from "./load_raw_side.ts";
 * import { validateRawSideConfig } from "./config.ts";
 * import type { Engine } from "../../engine/mod.ts";
 * async function start(json: string, engine: Engine) {
 *   return await loadRawSide(validateRawSideConfig(JSON.parse(json)), engine);
 * }
 * ```
 * @module
 */
import type { Model } from "../../../models/graph/ir.ts";
import { readModel } from "../../../models/onnx/read_model.ts";
import { zooModel } from "../../../models/zoo/mod.ts";
import { randomShift } from "../../data/augment.ts";
import { loadDataset } from "../../data/load_dataset.ts";
import { preprocessingOfSchema } from "../../data/schema_preprocessing.ts";
import { partition } from "../../data/partition.ts";
import { Rng } from "../../data/rng.ts";
import type { TensorDataset } from "../../data/tensor_dataset.ts";
import type { Engine } from "../../engine/mod.ts";
import { loadPrivateKeyFile } from "../../keys/key_store.ts";
import { failConfig, type RawSideProcessConfig, type RowSelection } from "./config.ts";
import { LocalRawSide } from "./local_raw_side.ts";
import { loadPredictInput, loadPredictTable } from "./predict_input.ts";
import { quantizesInGraph } from "../../config/quantize_mode.ts";

function select(ds: TensorDataset, sel: RowSelection | undefined, split: string): TensorDataset {
  if (!sel) return ds;
  let idx: ArrayLike<number>;
  if ("indices" in sel) {
    const bad = sel.indices.find((i) => i >= ds.size);
    if (bad !== undefined) failConfig(`rows.${split}.indices`, `rows below ${ds.size}`, bad);
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
 * import { loadRawSide } from "./load_raw_side.ts";
 * import type { RawSideProcessConfig } from "./config.ts";
 * import type { Engine } from "../../engine/mod.ts";
 * async function info(config: RawSideProcessConfig, engine: Engine) {
 *   return await (await loadRawSide(config, engine)).info();
 * }
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
    schema: config.dataSchema,
  });
  const rows = config.rows ?? {};
  let splits = {
    train: select(data.train, rows.train, "train"),
    val: select(data.val, rows.val, "val"),
    test: select(data.test, rows.test, "test"),
  };
  if (config.predictFile !== undefined) {
    const input = config.predictFile.toLowerCase().endsWith(".csv")
      ? await loadPredictTable(config.predictFile, data.schema)
      : await loadPredictInput(config.predictFile, data.schema?.kind === "image" ? data.schema : undefined);
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
    ...(data.schema?.kind === "table" ? { exportPreprocessing: preprocessingOfSchema(data.schema) } : {}),
    defence: config.defence,
    ...(quantizesInGraph(config.codec, "clinic") ? { int8Cut: { level: config.codec!.level } } : {}),
    // The same ±2 px shift as the central CLI (runtime/cli/train.ts), so split and central compare.
    augment: shift
      ? (b, r) => ({ ...b, inputs: { ...b.inputs, image: randomShift(b.inputs.image, 2, r) } })
      : undefined,
  });
}

