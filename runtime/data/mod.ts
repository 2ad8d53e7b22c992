/**
 * Reading the data a clinic trains on, on the raw-data side only: NumPy `.npy`/`.npz`
 * arrays, CSV tables (plain or inside a ZIP), the embedded data sets (PneumoniaMNIST images,
 * Diabetes 130-US hospitals), the encoders that turn columns into tensors, splits by
 * patient, partitions across clinics, batching and a seeded random generator.
 * See docs/design/data.md.
 *
 * @example
 * ```ts
 * import { readNpz, TensorDataset, writeNpz } from "./mod.ts";
 * import { type Tensor, tensor } from "../../models/tensor.ts";
 * const zip = writeNpz({
 *   x: tensor("float32", [4, 1], new Float32Array([1, 2, 3, 4])),
 *   y: tensor("float32", [4, 1], new Float32Array([0, 1, 0, 1])),
 * });
 * const arrays = readNpz(zip, "xy.npz") as Map<string, Tensor>; // no string arrays here
 * const data = new TensorDataset({ x: arrays.get("x")! }, arrays.get("y")!);
 * console.log(data.size, data.take([1, 3]).target.data); // 4 Float32Array(2) [ 1, 1 ]
 * ```
 * @module
 */
export { randomShift } from "./augment.ts";
export { column, columnIndex, type CsvTable, parseCsv } from "./csv.ts";
export { type CsvFileOptions, csvFromZip, readCsvFile } from "./csv_file.ts";
export {
  CATEGORICAL_COLUMNS,
  CODE_COLUMNS,
  COUNT_COLUMNS,
  DIABETES_MEMBER,
  type DiabetesData,
  type DiabetesMeta,
  type DiabetesOptions,
  type DiabetesSplit,
  loadDiabetes,
  MEDICATION_COLUMNS,
  NUMERIC_FEATURES,
  preprocessDiabetes,
} from "./diabetes.ts";
export { StandardScaler, Vocabulary, type VocabularyOptions } from "./encoders.ts";
export {
  groupSplit,
  type GroupSplitOptions,
  type RowSplit,
  type SplitFractions,
} from "./group_split.ts";
export {
  type ImageDataset,
  type ImageNpzOptions,
  type ImageSplit,
  loadImageNpz,
} from "./image_npz.ts";
export { loadDataset, type LoadDatasetOptions, type LoadedDataset } from "./load_dataset.ts";
export { isStringArray, type NpyArray, readNpy, type StringArray, writeNpy } from "./npy.ts";
export { listNpz, readNpz, type ReadNpzOptions, writeNpz, type WriteNpzOptions } from "./npz.ts";
export { readNpzFile, writeNpzFile } from "./npz_file.ts";
export {
  batches,
  type BatchOptions,
  partition,
  type PartitionOptions,
  type PartitionScheme,
} from "./partition.ts";
export { Rng } from "./rng.ts";
export {
  encodeTabular,
  type TabularData,
  type TabularMeta,
  type TabularOptions,
  type TabularSplit,
} from "./tabular.ts";
export { type Batch, takeRows, TensorDataset } from "./tensor_dataset.ts";
export {
  type CategoricalColumnSchema,
  type ColumnSchema,
  type DataSchema,
  type ImageSchema,
  type NumericColumnSchema,
  parseDataSchema,
  type TableSchema,
  zooSpecOfSchema,
} from "./data_schema.ts";
export { DataSchemaError, type DataSchemaErrorCode } from "./data_schema_error.ts";
export { encodeTable, type EncodedTable } from "./table_encoder.ts";
export { applyStatistics, draftTableSchema, fitTableSchema, tableStatistics } from "./schema_fit.ts";
export { checkTable, type DataCheck, formatDataCheck } from "./data_check.ts";
export { schemaFromShares, schemaShare } from "./schema_secure_sum.ts";
