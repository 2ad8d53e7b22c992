/**
 * Assembly of the full trained model from the clinic's segments and the server's, when the
 * clinic's policy allows it (`policy.allowExport`): the server sends its segment's parameters
 * and buffers as `.npz` bytes (inside the channel); they must name exactly the initializers of
 * the server's segment — no clinic weight can be overridden, none may be missing — and
 * `models/train/export.ts` checks their dtypes and shapes. The result is one standard ONNX file.
 *
 * @example
 * ```ts
 * import { assembleModel, serverWeightNames } from "./model_export.ts";
 * import type { Model } from "../../../models/graph/ir.ts";
 * import type { Tensor } from "../../../models/tensor.ts";
 * import type { CompiledSegment } from "../../../models/train/compile.ts";
 * function onnx(model: Model, segments: CompiledSegment[], own: Map<string, Tensor>, server: Uint8Array) {
 *   return assembleModel(model, own, serverWeightNames(segments, "vanilla"), server);
 * }
 * ```
 * @module
 */
import type { Model } from "../../../models/graph/ir.ts";
import type { Tensor } from "../../../models/tensor.ts";
import type { CompiledSegment } from "../../../models/train/compile.ts";
import { exportModel } from "../../../models/train/export.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { type TablePreprocessing, withTablePreprocessing } from "../../../models/train/table_preprocessing.ts";
import { readNpz } from "../../data/npz.ts";
import { isStringArray } from "../../data/npy.ts";
import type { RawSideMode } from "./api.ts";
import { RawSideError } from "./error.ts";

/** Largest `.npz` of server weights read (1 GiB). */
const MAX_WEIGHTS_BYTES = 1 << 30;

/**
 * Parameter and buffer names of the segment(s) the server runs: all but the first in vanilla
 * mode, all but the first and the last in U-shape.
 *
 * @example
 * ```ts
 * import { serverWeightNames } from "./model_export.ts";
 * console.log(serverWeightNames([], "vanilla").size); // 0
 * ```
 */
export function serverWeightNames(segments: readonly CompiledSegment[], mode: RawSideMode): ReadonlySet<string> {
  const names = new Set<string>();
  for (const seg of segments.slice(1, mode === "ushaped" ? -1 : undefined)) {
    for (const k of [...seg.params.keys(), ...seg.buffers.keys()]) names.add(k);
  }
  return names;
}

/** Reads the server's `.npz` and checks that it names exactly `serverNames`, all float32. */
function serverWeights(bytes: Uint8Array, serverNames: ReadonlySet<string>): Map<string, Tensor> {
  if (!(bytes instanceof Uint8Array)) {
    throw new RawSideError("WEIGHTS_INVALID", "server weights must be .npz bytes");
  }
  let arrays;
  try {
    arrays = readNpz(bytes, "server weights", { maxBytes: MAX_WEIGHTS_BYTES });
  } catch (e) {
    throw new RawSideError("WEIGHTS_INVALID", `server weights: ${(e as Error).message}`);
  }
  const out = new Map<string, Tensor>();
  for (const [name, t] of arrays) {
    if (!serverNames.has(name)) {
      throw new RawSideError(
        "WEIGHTS_INVALID",
        `server weights: ${JSON.stringify(name.slice(0, 80))} is not a parameter or buffer of the server's segment`,
      );
    }
    if (isStringArray(t) || t.dtype !== "float32") {
      throw new RawSideError("WEIGHTS_INVALID", `server weights: ${JSON.stringify(name)} is not a float32 tensor`);
    }
    out.set(name, t as Tensor);
  }
  const missing = [...serverNames].filter((n) => !arrays.has(n));
  if (missing.length > 0) {
    throw new RawSideError("WEIGHTS_INVALID", `server weights lack ${missing.slice(0, 5).join(", ")}`);
  }
  return out;
}

/**
 * The full model as ONNX bytes: `model` with the clinic's weights (`own`, by initializer name)
 * and the server's (`.npz` bytes naming exactly `serverNames`); with `preprocessing` (a
 * table's), the model takes raw columns (`models/train/table_preprocessing.ts`).
 *
 * @throws {RawSideError} `WEIGHTS_INVALID` for server weights that are not an `.npz`, name an
 *   initializer outside the server's segment, lack one, or do not fit the model
 * @example
 * ```ts
 * import { assembleModel } from "./model_export.ts";
 * import { RawSideError } from "./error.ts";
 * import type { Model } from "../../../models/graph/ir.ts";
 * function bad(model: Model) {
 *   try {
 *     assembleModel(model, new Map(), new Set(["fc.weight"]), new Uint8Array(4));
 *   } catch (e) {
 *     console.log((e as RawSideError).code); // WEIGHTS_INVALID
 *   }
 * }
 * ```
 */
export function assembleModel(
  model: Model,
  own: Map<string, Tensor>,
  serverNames: ReadonlySet<string>,
  serverNpz: Uint8Array,
  preprocessing?: TablePreprocessing,
): Uint8Array {
  const weights = new Map(own);
  for (const [name, t] of serverWeights(serverNpz, serverNames)) weights.set(name, t);
  try {
    const trained = exportModel(model, weights);
    return writeModel(preprocessing ? withTablePreprocessing(trained, preprocessing) : trained);
  } catch (e) {
    throw new RawSideError("WEIGHTS_INVALID", `server weights: ${(e as Error).message}`);
  }
}
