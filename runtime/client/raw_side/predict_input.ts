/**
 * The input of split inference (`deno task client predict --input`): an `.npz` of images or a
 * `.csv` table, read inside the sandboxed raw-data process, which gets read access to this one file.
 *
 * @example
 * ```ts
 * import { loadPredictInput } from "./predict_input.ts";
 * async function rows(path: string): Promise<number> { return (await loadPredictInput(path)).size; }
 * ```
 * @module
 */
import { tensor, type Tensor } from "../../../models/tensor.ts";
import { readNpz } from "../../data/npz.ts";
import { isStringArray } from "../../data/npy.ts";
import { TensorDataset } from "../../data/tensor_dataset.ts";
import { failConfig } from "./config.ts";
import type { DataSchema, ImageSchema } from "../../data/data_schema.ts";
import { checkImageShape, normaliseImages } from "../../data/image_schema.ts";
import { encodeTable } from "../../data/table_encoder.ts";
import { readCsvFile } from "../../data/csv_file.ts";

/**
 * Reads a prediction input `.npz`: `images` (or `test_images`) as uint8 `[N, H, W]` (scaled to
 * [0, 1], like `loadImageNpz`) or float32 `[N, C, H, W]`, and `labels` (or `test_labels`) when
 * present (else zeros, for inputs without known outcomes). With the clinic's image `schema`, the
 * shape is checked and the study's normalisation applied, as for its training images.
 *
 * @throws {RawSideError} `CONFIG_INVALID` for a file without images of a usable shape
 * @example
 * ```ts
 * import { loadPredictInput } from "./predict_input.ts";
 * const ds = await loadPredictInput("data/new_patients.npz");
 * console.log(ds.size);
 * ```
 */
export async function loadPredictInput(path: string, schema?: ImageSchema): Promise<TensorDataset> {
  const arrays = readNpz(await Deno.readFile(path), path);
  const pick = (...names: string[]): Tensor | undefined => {
    for (const n of names) {
      const a = arrays.get(n);
      if (a && !isStringArray(a)) return a;
    }
    return undefined;
  };
  const images = pick("images", "test_images");
  if (!images) failConfig(`predict input ${path}`, "an .npz holding an images (or test_images) array", [...arrays.keys()]);
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
    failConfig(`predict input ${path} images`, "uint8 [N, H, W] / [N, H, W, C] or float32 [N, C, H, W]", `${images.dtype}[${images.dims}]`);
  }
  const n = x.dims[0];
  const labels = pick("labels", "test_labels");
  const y = tensor("float32", [n, 1], labels && labels.data.length === n ? Float32Array.from(labels.data as ArrayLike<number>, Number) : new Float32Array(n));
  if (schema) checkImageShape(path, { channels: x.dims[1], height: x.dims[2], width: x.dims[3] }, schema);
  return new TensorDataset({ image: schema ? normaliseImages(x, schema) : x }, y);
}


/**
 * Reads a prediction input table (`.csv`) and encodes it with the schema the clinic trained
 * with (the study's): the same columns, scaling and vocabularies; the label column may be
 * absent (its scores are then written against zeros). A cell outside the schema is refused
 * naming column, value and row.
 *
 * @throws {RawSideError} `CONFIG_INVALID` when the clinic's data is not a table (no schema)
 * @throws {DataSchemaError} a cell outside the schema
 * @example
 * ```ts
 * import { loadPredictTable } from "./predict_input.ts";
 * // const ds = await loadPredictTable("new_patients.csv", schema);
 * ```
 */
export async function loadPredictTable(path: string, schema: DataSchema | undefined): Promise<TensorDataset> {
  if (schema?.kind !== "table") {
    failConfig(`predict input ${path}`, "an .npz of images: the clinic's data is not a table", schema?.kind ?? "no schema");
  }
  const e = encodeTable(await readCsvFile(path), schema, { labelOptional: true });
  const inputs: TensorDataset["inputs"] = {};
  if (e.numeric.dims[1] > 0) inputs.numeric = e.numeric;
  if (e.categorical.dims[1] > 0) inputs.categorical = e.categorical;
  return new TensorDataset(inputs, e.label);
}
