/**
 * A PNG figure of grey images: row pairs of originals above their reconstructions, each
 * image scaled up by an integer factor, encoded with fast-png (8-bit greyscale).
 *
 * @example
 * ```ts
 * import { imageGridPng } from "./png_grid.ts";
 * const img = new Float32Array(28 * 28).fill(0.5);
 * imageGridPng([img], [img], 28, 28).length > 0; // true
 * ```
 * @module
 */
import { encode } from "fast-png";

/**
 * Encodes `originals[i]` (top) beside `recons[i]` (below) for every i, in columns, as a
 * PNG. Pixels are in [0, 1] (clamped), `scale`× enlarged, separated by a 2-pixel gap.
 *
 * @throws {RangeError} for unequal lists or images of the wrong size
 * @example
 * ```ts
 * import { imageGridPng } from "./png_grid.ts";
 * // await Deno.writeFile("grid.png", imageGridPng(orig, recon, 28, 28));
 * ```
 */
export function imageGridPng(
  originals: readonly ArrayLike<number>[],
  recons: readonly ArrayLike<number>[],
  height: number,
  width: number,
  scale = 3,
): Uint8Array {
  if (originals.length !== recons.length || originals.length === 0) {
    throw new RangeError(`image grid: ${originals.length} originals and ${recons.length} reconstructions; expected equal, > 0`);
  }
  const gap = 2, cols = originals.length;
  const cw = width * scale + gap, ch = height * scale + gap;
  const W = cols * cw + gap, H = 2 * ch + gap;
  const data = new Uint8Array(W * H).fill(255);
  const draw = (img: ArrayLike<number>, col: number, row: number) => {
    if (img.length !== height * width) throw new RangeError(`image grid: image of ${img.length} pixels, expected ${height}×${width}`);
    for (let y = 0; y < height * scale; y++) {
      for (let x = 0; x < width * scale; x++) {
        const v = img[Math.floor(y / scale) * width + Math.floor(x / scale)];
        data[(gap + row * ch + y) * W + gap + col * cw + x] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  };
  originals.forEach((img, i) => draw(img, i, 0));
  recons.forEach((img, i) => draw(img, i, 1));
  return encode({ width: W, height: H, data, channels: 1, depth: 8 });
}
