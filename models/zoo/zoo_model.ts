/**
 * Picks a zoo model by name and checks that the data fits it.
 *
 * @example
 * ```ts
 * import { ZOO_NAMES } from "./zoo_model.ts";
 * console.log(ZOO_NAMES); // ["cnn", "ehr", "ft_transformer"]
 * ```
 * @module
 */
import { buildCnn, type ZooModel } from "./cnn.ts";
import { buildEhr } from "./ehr.ts";
import { buildFtTransformer } from "./ft_transformer.ts";

/** Names of the zoo models. */
export const ZOO_NAMES = ["cnn", "ehr", "ft_transformer"] as const;
/** A zoo model name. */
export type ZooName = (typeof ZOO_NAMES)[number];

/** What a zoo model must know about the data. */
export interface ZooDataSpec {
  image?: { channels: number; size: number };
  tabular?: { numeric: number; vocabSizes: number[]; codeVocab: number };
}

/**
 * Builds a zoo model for data described by `spec`.
 *
 * @throws {TypeError} for an unknown name or data that does not fit the model
 * @example
 * ```ts
 * import { zooModel } from "./zoo_model.ts";
 * const { model } = zooModel(
 *   "ehr", { tabular: { numeric: 12, vocabSizes: [3, 4], codeVocab: 50 } }, Math.random);
 * console.log(model.graph.inputs.length > 0); // true
 * ```
 */
export function zooModel(name: string, spec: ZooDataSpec, random: () => number): ZooModel {
  if (name === "cnn") {
    if (!spec.image) throw new TypeError("zoo model cnn needs image data (an .npz of images)");
    return buildCnn({ random, inChannels: spec.image.channels, size: spec.image.size });
  }
  if (name === "ehr") {
    if (!spec.tabular) {
      throw new TypeError("zoo model ehr needs tabular data (a CSV or the Diabetes 130 zip)");
    }
    return buildEhr({ random, ...spec.tabular });
  }
  if (name === "ft_transformer") {
    if (!spec.tabular) {
      throw new TypeError(
        "zoo model ft_transformer needs tabular data (a CSV or the Diabetes 130 zip)",
      );
    }
    return buildFtTransformer({ random, ...spec.tabular });
  }
  throw new TypeError(
    `unknown zoo model ${JSON.stringify(name)}: expected one of ${
      ZOO_NAMES.join(", ")
    } or a .onnx file`,
  );
}
