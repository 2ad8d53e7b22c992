/**
 * Test fixture shared by the FedAvg and split-simulation tests: tiny separable 8×8 images
 * (the label shifts the mean of the top half) and a tiny zoo CNN for them.
 * @module
 */
import { tensor } from "../../../models/tensor.ts";
import { buildCnn } from "../../../models/zoo/cnn.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { TensorDataset } from "../../../runtime/data/tensor_dataset.ts";

/** `n` toy images drawn from `seed`. */
export function toyImages(n: number, seed: number): TensorDataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 64), y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(2);
    for (let p = 0; p < 64; p++) x[i * 64 + p] = rng.normal() * 0.5 + (p < 32 ? y[i] : 0);
  }
  return new TensorDataset({ image: tensor("float32", [n, 1, 8, 8], x) }, tensor("float32", [n, 1], y));
}

/** Train (96), validation (40) and test (40) toy splits. */
export const toyData = () => ({ train: toyImages(96, 1), val: toyImages(40, 2), test: toyImages(40, 3) });

/** The tiny CNN (2 and 4 channels, 4 hidden units), seeded. */
export const toyModel = () => {
  const rng = new Rng(5);
  return buildCnn({ random: () => rng.float(), size: 8, channels: [2, 4], hidden: 4 });
};
