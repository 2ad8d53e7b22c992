/**
 * Training-time image augmentation: each image of a batch is shifted by a random whole
 * number of pixels (up to `maxShift` in each direction, zero fill) — the small
 * translations a chest X-ray's framing varies by. It is applied to training batches only.
 *
 * @example
 * ```ts
 * import { randomShift } from "./augment.ts";
 * import { Rng } from "./rng.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const out = randomShift(tensor("float32", [2, 1, 28, 28]), 2, new Rng(0));
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import type { Rng } from "./rng.ts";

/**
 * Shifts every image of an [N, C, H, W] float32 batch by its own random (dy, dx) in
 * [−maxShift, maxShift]², filling with zeros.
 *
 * @throws {RangeError} for a tensor that is not rank 4 float32 or a negative shift
 * @example
 * ```ts
 * import { randomShift } from "./augment.ts";
 * // const shifted = randomShift(batch.inputs.image, 2, rng);
 * ```
 */
export function randomShift(images: Tensor, maxShift: number, rng: Rng): Tensor<"float32"> {
  if (images.dtype !== "float32" || images.dims.length !== 4) {
    throw new RangeError(`randomShift needs float32 [N, C, H, W] images, got ${images.dtype} [${images.dims}]`);
  }
  if (!(Number.isInteger(maxShift) && maxShift >= 0)) throw new RangeError(`maxShift must be an integer >= 0, got ${maxShift}`);
  const [n, c, h, w] = images.dims;
  const src = images.data as Float32Array;
  const out = tensor("float32", images.dims);
  const dst = out.data;
  const span = 2 * maxShift + 1;
  for (let i = 0; i < n; i++) {
    const dy = rng.int(span) - maxShift, dx = rng.int(span) - maxShift;
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * h * w;
      for (let y = 0; y < h; y++) {
        const sy = y - dy;
        if (sy < 0 || sy >= h) continue;
        for (let x = 0; x < w; x++) {
          const sx = x - dx;
          if (sx >= 0 && sx < w) dst[base + y * w + x] = src[base + sy * w + sx];
        }
      }
    }
  }
  return out;
}
