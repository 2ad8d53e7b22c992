/**
 * The data schema of images (`data_schema.ts` `ImageSchema`): the one a `.npz` implies
 * (its shape, pixels / 255, no per-channel shift), the check that a clinic's images have the
 * study's shape, and the study's normalisation applied to images the loader has scaled to [0, 1].
 *
 * @example
 * ```ts
 * import { defaultImageSchema } from "./image_schema.ts";
 * defaultImageSchema({ channels: 1, height: 28, width: 28 }).normalisation; // { divide: 255, mean: [0], std: [1] }
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import type { ImageSchema } from "./data_schema.ts";
import { DataSchemaError } from "./data_schema_error.ts";

/**
 * The schema of images as the loader reads them: x / 255.
 *
 * @example
 * ```ts
 * import { defaultImageSchema } from "./image_schema.ts";
 * defaultImageSchema({ channels: 3, height: 28, width: 28 }).shape.channels; // 3
 * ```
 */
export function defaultImageSchema(shape: ImageSchema["shape"]): ImageSchema {
  return {
    kind: "image",
    shape: { ...shape },
    normalisation: {
      divide: 255,
      mean: new Array(shape.channels).fill(0),
      std: new Array(shape.channels).fill(1),
    },
  };
}

/**
 * Refuses images whose shape is not the schema's, naming the file and both shapes.
 *
 * @throws {DataSchemaError} `VALUE_OUTSIDE_SCHEMA`
 * @example
 * ```ts
 * import { checkImageShape, defaultImageSchema } from "./image_schema.ts";
 * checkImageShape("a.npz", { channels: 1, height: 28, width: 28 }, defaultImageSchema({ channels: 1, height: 28, width: 28 }));
 * ```
 */
export function checkImageShape(file: string, shape: ImageSchema["shape"], schema: ImageSchema): void {
  const s = schema.shape;
  if (s.channels !== shape.channels || s.height !== shape.height || s.width !== shape.width) {
    throw new DataSchemaError(
      "VALUE_OUTSIDE_SCHEMA",
      `${file}: images are ${shape.channels}x${shape.height}x${shape.width}, the study's schema says ${s.channels}x${s.height}x${s.width}`,
    );
  }
}

/**
 * Images scaled to [0, 1] (x / 255) re-normalised to the schema: (x · 255 / divide − mean[c]) / std[c].
 * The default schema leaves them as they are (the same tensor is returned).
 *
 * @example
 * ```ts
 * import { normaliseImages } from "./image_schema.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const x = tensor("float32", [1, 1, 1, 2], new Float32Array([0, 1]));
 * normaliseImages(x, { kind: "image", shape: { channels: 1, height: 1, width: 2 },
 *   normalisation: { divide: 255, mean: [0.5], std: [0.5] } }).data; // [-1, 1]
 * ```
 */
export function normaliseImages(images: Tensor<"float32">, schema: ImageSchema): Tensor<"float32"> {
  const { divide, mean, std } = schema.normalisation;
  if (divide === 255 && mean.every((m) => m === 0) && std.every((s) => s === 1)) return images;
  const [n, c, h, w] = images.dims;
  const out = new Float32Array(images.data.length), plane = h * w;
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const o = (i * c + ch) * plane;
      for (let p = 0; p < plane; p++) out[o + p] = ((images.data[o + p] * 255) / divide - mean[ch]) / std[ch];
    }
  }
  return tensor("float32", [n, c, h, w], out);
}
