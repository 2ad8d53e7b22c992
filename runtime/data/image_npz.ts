/**
 * Image data sets in the MedMNIST `.npz` layout: `train_images`,
 * `train_labels`, `val_images`, `val_labels`, `test_images`, `test_labels`.
 * Images are uint8 [N, H, W] (grey) or [N, H, W, C]; they become float32
 * [N, C, H, W] (the NCHW layout ONNX Conv expects) scaled to [0, 1], optionally
 * normalised per channel. A user's own `.npz` with the same keys works too.
 *
 * @example
 * ```ts
 * import { loadImageNpz } from "./image_npz.ts";
 * const d = loadImageNpz(Deno.readFileSync("data/pneumoniamnist.npz"), "pneumoniamnist.npz");
 * console.log(d.train.images.dims); // [4708, 1, 28, 28]
 * ```
 * @module
 */

import { type Tensor, tensor } from "../../models/tensor.ts";
import { isStringArray, type NpyArray } from "./npy.ts";
import { readNpz } from "./npz.ts";

/** One split: images and labels of the same length N. */
export interface ImageSplit {
  /** float32 [N, C, H, W]. */
  images: Tensor<"float32">;
  /** float32 [N, 1] with `labels: "binary"`; int64 [N] with `labels: "multiclass"`. */
  labels: Tensor<"float32"> | Tensor<"int64">;
}

/** The splits found; `val` is absent when the archive has no `val_*` arrays. */
export interface ImageDataset {
  /** Training split. */
  train: ImageSplit;
  /** Validation split, when present. */
  val?: ImageSplit;
  /** Test split. */
  test: ImageSplit;
  /** Channels, height and width of every image. */
  shape: { channels: number; height: number; width: number };
}

/** Options of {@linkcode loadImageNpz}. */
export interface ImageNpzOptions {
  /**
   * `"binary"` (default): labels must be 0/1, returned float32 [N, 1] for a
   * BCE-with-logits loss. `"multiclass"`: class indices int64 [N] for softmax
   * cross-entropy.
   */
  labels?: "binary" | "multiclass";
  /** Per-channel (or one shared) mean and std applied after scaling to [0, 1]. */
  normalize?: { mean: number | readonly number[]; std: number | readonly number[] };
}

const SPLITS = ["train", "val", "test"] as const;

/**
 * Loads a MedMNIST-layout `.npz` (bytes or already-read arrays).
 *
 * @param source the archive bytes, or the map {@linkcode readNpz} returns
 * @param fileName a name for error messages
 * @throws {RangeError} keys missing (the message lists the keys found), shapes
 *   that disagree, or labels outside 0/1 with `labels: "binary"`
 * @throws {TypeError} unsupported image or label dtypes
 *
 * @example
 * ```ts
 * import { loadImageNpz } from "./image_npz.ts";
 * import { writeNpz } from "./npz.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const mine = writeNpz({
 *   train_images: tensor("uint8", [2, 8, 8, 3]), train_labels: tensor("uint8", [2, 1]),
 *   test_images: tensor("uint8", [1, 8, 8, 3]), test_labels: tensor("uint8", [1, 1]),
 * });
 * const d = loadImageNpz(mine, "my_scans.npz", { normalize: { mean: 0.5, std: 0.25 } });
 * console.log(d.train.images.dims); // [2, 3, 8, 8]
 * ```
 */
export function loadImageNpz(
  source: Uint8Array | ReadonlyMap<string, NpyArray>,
  fileName = "<npz>",
  options: ImageNpzOptions = {},
): ImageDataset {
  const arrays = source instanceof Uint8Array ? readNpz(source, fileName) : source;
  const found = [...arrays.keys()].map((k) => `'${k}'`).join(", ") || "none";
  const need = ["train_images", "train_labels", "test_images", "test_labels"];
  if (arrays.has("val_images") || arrays.has("val_labels")) need.push("val_images", "val_labels");
  const missing = need.filter((k) => !arrays.has(k));
  if (missing.length > 0) {
    throw new RangeError(
      `${fileName}: missing ${
        missing.map((k) => `'${k}'`).join(", ")
      }: expected the MedMNIST keys ` +
        `train_images, train_labels, (val_images, val_labels,) test_images, test_labels; found ${found}`,
    );
  }
  let shape: ImageDataset["shape"] | undefined;
  const out: Partial<Record<(typeof SPLITS)[number], ImageSplit>> = {};
  for (const s of SPLITS) {
    if (!arrays.has(`${s}_images`)) continue;
    const images = toNchw(arrays.get(`${s}_images`)!, `${fileName}:${s}_images`, options);
    const [n, c, h, w] = images.dims;
    if (shape && (shape.channels !== c || shape.height !== h || shape.width !== w)) {
      throw new RangeError(
        `${fileName}:${s}_images: images are ${c}×${h}×${w}, train images are ${shape.channels}×${shape.height}×${shape.width}`,
      );
    }
    shape ??= { channels: c, height: h, width: w };
    out[s] = {
      images,
      labels: toLabels(arrays.get(`${s}_labels`)!, n, `${fileName}:${s}_labels`, options),
    };
  }
  return { train: out.train!, val: out.val, test: out.test!, shape: shape! };
}

function toNchw(a: NpyArray, name: string, options: ImageNpzOptions): Tensor<"float32"> {
  if (isStringArray(a) || (a.dtype !== "uint8" && a.dtype !== "float32")) {
    throw new TypeError(`${name}: images of dtype ${a.dtype}: expected uint8 (0..255) or float32`);
  }
  let n: number, h: number, w: number, c: number;
  if (a.dims.length === 3) [n, h, w, c] = [...a.dims, 1];
  else if (a.dims.length === 4) [n, h, w, c] = a.dims;
  else {
    throw new RangeError(
      `${name}: images of shape [${a.dims.join(", ")}]: expected [N, H, W] or [N, H, W, C]`,
    );
  }
  const scale = a.dtype === "uint8" ? 1 / 255 : 1;
  const mean = perChannel(options.normalize?.mean ?? 0, c, name, "mean");
  const std = perChannel(options.normalize?.std ?? 1, c, name, "std");
  if (std.some((s) => !(s > 0))) {
    throw new RangeError(`${name}: normalize std must be > 0, got [${std.join(", ")}]`);
  }
  const src = a.data as Uint8Array | Float32Array;
  const dst = new Float32Array(n * c * h * w);
  const plane = h * w;
  // NHWC → NCHW: element (i, y, x, ch) moves to (i, ch, y, x).
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) {
      for (let ch = 0; ch < c; ch++) {
        dst[(i * c + ch) * plane + p] = (src[(i * plane + p) * c + ch] * scale - mean[ch]) /
          std[ch];
      }
    }
  }
  return tensor("float32", [n, c, h, w], dst);
}

function perChannel(
  v: number | readonly number[],
  c: number,
  name: string,
  what: string,
): number[] {
  if (typeof v === "number") return new Array(c).fill(v);
  if (v.length !== c) {
    throw new RangeError(`${name}: normalize ${what} has ${v.length} values for ${c} channels`);
  }
  return [...v];
}

function toLabels(
  a: NpyArray,
  n: number,
  name: string,
  options: ImageNpzOptions,
): Tensor<"float32"> | Tensor<"int64"> {
  if (isStringArray(a) || a.dtype === "float16" || a.dtype === "bool") {
    throw new TypeError(`${name}: labels of dtype ${a.dtype}: expected integers`);
  }
  // MedMNIST stores labels as [N, 1]; [N] is accepted too.
  if (!(a.dims.length === 1 || (a.dims.length === 2 && a.dims[1] === 1)) || a.dims[0] !== n) {
    throw new RangeError(
      `${name}: labels of shape [${
        a.dims.join(", ")
      }]: expected [${n}, 1] or [${n}] for ${n} images`,
    );
  }
  const values = Array.from(a.data as ArrayLike<number | bigint>, Number);
  if ((options.labels ?? "binary") === "binary") {
    const bad = values.findIndex((v) => v !== 0 && v !== 1);
    if (bad >= 0) {
      throw new RangeError(
        `${name}: label ${bad} is ${
          values[bad]
        }: binary labels must be 0 or 1 (use labels: "multiclass")`,
      );
    }
    return tensor("float32", [n, 1], Float32Array.from(values));
  }
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0);
  if (bad >= 0) {
    throw new RangeError(
      `${name}: label ${bad} is ${values[bad]}: class indices must be integers >= 0`,
    );
  }
  return tensor("int64", [n], BigInt64Array.from(values, BigInt));
}
