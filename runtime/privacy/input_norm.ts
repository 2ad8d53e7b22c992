/**
 * The input-standardisation defence (`defence.inputNorm: "per-image"`): before the clinic's
 * first layer, each image is standardised on its own (zero mean, unit variance over its
 * pixels; `models/graph/standardise_inputs.ts`). The clinic applies it to the model it
 * trains and serves, so the cut activations — and everything the server learns from them —
 * no longer depend on an image's exposure and contrast. It changes only the clinic's front
 * segment: the server's segments are the same with or without it.
 *
 * @example
 * ```ts
 * import { applyInputNorm } from "./input_norm.ts";
 * import type { Model } from "../../models/graph/ir.ts";
 * declare const model: Model;
 * const clinicModel = applyInputNorm(model, { inputNorm: "per-image" });
 * ```
 * @module
 */
import type { Model } from "../../models/graph/ir.ts";
import { standardiseInputs } from "../../models/graph/standardise_inputs.ts";
import type { DefenceConfig } from "./defence_config.ts";

/**
 * Returns `model` with its image inputs (float32 [N, C, H, W]) standardised per image when
 * `defence.inputNorm` is `"per-image"`, and `model` itself otherwise.
 *
 * @throws {TypeError} when the defence asks for it and the model has no image input
 * @example
 * ```ts
 * import { applyInputNorm } from "./input_norm.ts";
 * import type { Model } from "../../models/graph/ir.ts";
 * declare const model: Model;
 * applyInputNorm(model, {}) === model; // true: no defence, no change
 * ```
 */
export function applyInputNorm(model: Model, defence: DefenceConfig): Model {
  if (defence.inputNorm !== "per-image") return model;
  const images = model.graph.inputs.filter((v) => v.dtype === "float32" && v.shape?.length === 4);
  if (images.length === 0) {
    const have = model.graph.inputs.map((v) => `${v.name}: ${v.dtype}${v.shape ? `[${v.shape.join(", ")}]` : ""}`).join(", ");
    throw new TypeError(`defence.inputNorm "per-image" needs an image input (float32 [N, C, H, W]); the model's inputs are ${have}`);
  }
  return standardiseInputs(model, images.map((v) => v.name));
}
