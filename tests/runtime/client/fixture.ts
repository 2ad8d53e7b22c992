/**
 * Test fixture of the clinic tests: a tiny zoo CNN on 8×8 grey images and a small random
 * image dataset (in memory, or as a MedMNIST-layout `.npz` on disk for the sandboxed process).
 * @module
 */
import type { Engine } from "../../../runtime/engine/mod.ts";
import type { LocalRawSideConfig, RawSideMode } from "../../../runtime/client/raw_side/mod.ts";
import { buildCnn, type ZooModel } from "../../../models/zoo/cnn.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { writeNpz } from "../../../runtime/data/npz.ts";
import { TensorDataset } from "../../../runtime/data/tensor_dataset.ts";

/** Image side of the fixture. */
export const SIZE = 8;

/** The tiny CNN (2 and 4 channels, 8 hidden units), deterministic from `seed`. */
export function tinyCnn(seed = 1): ZooModel {
  const rng = new Rng(seed);
  return buildCnn({ random: () => rng.float(), channels: [2, 4], hidden: 8, size: SIZE });
}

/** `n` random uint8 images [n, SIZE, SIZE] and 0/1 labels. */
export function randomImages(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * SIZE * SIZE);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % 2;
  return { images, labels };
}

/** A dataset of `n` random images, scaled to [0, 1] like `loadImageNpz` does. */
export function tinyDataset(n: number, seed: number): TensorDataset {
  const { images, labels } = randomImages(n, seed);
  const x = tensor("float32", [n, 1, SIZE, SIZE], Float32Array.from(images, (v) => v / 255));
  const y = tensor("float32", [n, 1], Float32Array.from(labels));
  return new TensorDataset({ image: x }, y);
}

/** Train/val/test splits of the tiny dataset. */
export function tinySplits(
  seed = 3,
): { train: TensorDataset; val: TensorDataset; test: TensorDataset } {
  return {
    train: tinyDataset(20, seed),
    val: tinyDataset(6, seed + 1),
    test: tinyDataset(7, seed + 2),
  };
}

/** Images (uint8 [n, SIZE, SIZE] flattened) and 0/1 labels. */
export type ImageSet = { images: Uint8Array; labels: Uint8Array };

/** Writes a MedMNIST-layout `.npz` of random images (or the given train images) to `path`. */
export async function writeTinyNpz(
  path: string,
  opts: { train?: ImageSet; val?: ImageSet; test?: ImageSet; n?: number; seed?: number } = {},
): Promise<Uint8Array> {
  const n = opts.n ?? 20, seed = opts.seed ?? 3;
  const train = opts.train ?? randomImages(n, seed);
  const val = opts.val ?? randomImages(6, seed + 1), test = opts.test ?? randomImages(7, seed + 2);
  const t = (d: { images: Uint8Array; labels: Uint8Array }): [Tensor, Tensor] => [
    tensor("uint8", [d.labels.length, SIZE, SIZE], d.images),
    tensor("uint8", [d.labels.length, 1], d.labels),
  ];
  const [ti, tl] = t(train), [vi, vl] = t(val), [si, sl] = t(test);
  const bytes = writeNpz({
    train_images: ti,
    train_labels: tl,
    val_images: vi,
    val_labels: vl,
    test_images: si,
    test_labels: sl,
  }, { level: 0 });
  await Deno.writeFile(path, bytes);
  return bytes;
}

/** Writes the tiny CNN as an `.onnx` file. */
export async function writeTinyModel(path: string, seed = 1): Promise<ZooModel> {
  const zoo = tinyCnn(seed);
  await Deno.writeFile(path, writeModel(zoo.model));
  return zoo;
}

/** Largest absolute difference of two float tensors (throws on a shape mismatch). */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (a.dims.join() !== b.dims.join()) throw new Error(`shapes differ: [${a.dims}] vs [${b.dims}]`);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  }
  return m;
}

/** Seed and optimizer of {@linkcode rawSideTestConfig}, for the tests' reference arithmetic. */
export const RAW_SIDE_SEED = 5;
export const RAW_SIDE_SGD = { kind: "sgd", lr: 0.1 } as const;

/**
 * The LocalRawSide config both raw-side test files start from: the tiny CNN at its default
 * (vanilla) or U-shaped cut, SGD lr 0.1, seed 5, batches of 8; `over` replaces fields.
 */
export function rawSideTestConfig(
  engine: Engine,
  mode: RawSideMode,
  over: Partial<LocalRawSideConfig> = {},
): LocalRawSideConfig {
  const zoo = tinyCnn();
  return {
    clinic: "clinic-a",
    data: tinySplits(),
    model: zoo.model,
    cuts: mode === "vanilla" ? zoo.cuts.default : zoo.cuts.ushaped,
    mode,
    loss: "bce",
    optimizer: RAW_SIDE_SGD,
    seed: RAW_SIDE_SEED,
    batchSize: 8,
    evalBatchSize: 4,
    engine,
    ...over,
  };
}
