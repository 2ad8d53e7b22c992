/**
 * Merges trained weights back into a model: the result is one standard ONNX model with
 * the weights as initializers, which onnxruntime (or any ONNX runtime) runs as is.
 * Segments of a split model are trained apart but keep the original tensor names, so
 * the weights of all segments go into the original graph.
 *
 * @example
 * ```ts
 * import { exportModel } from "./export.ts";
 * // const trained = exportModel(model, weights); await Deno.writeFile("out.onnx", writeModel(trained));
 * ```
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { Model } from "../graph/ir.ts";

/**
 * A copy of `model` with the initializers named in `weights` replaced.
 *
 * @throws {RangeError} when a weight is not an initializer of the model or its shape or
 *   dtype differ
 * @example
 * ```ts
 * import { exportModel } from "./export.ts";
 * // exportModel(model, new Map([["fc.weight", w]]))
 * ```
 */
export function exportModel(model: Model, weights: ReadonlyMap<string, Tensor>): Model {
  const inits = new Map(model.graph.initializers);
  for (const [name, w] of weights) {
    const old = inits.get(name);
    if (!old) {
      throw new RangeError(`weight ${JSON.stringify(name)} is not an initializer of the model`);
    }
    if (
      old.dtype !== w.dtype || old.dims.length !== w.dims.length ||
      old.dims.some((d, i) => d !== w.dims[i])
    ) {
      throw new RangeError(
        `weight ${
          JSON.stringify(name)
        }: ${w.dtype} [${w.dims}] does not match the model's ${old.dtype} [${old.dims}]`,
      );
    }
    inits.set(name, { dtype: w.dtype, dims: [...w.dims], data: w.data.slice() } as Tensor);
  }
  return { ...model, producerName: "splitgate", graph: { ...model.graph, initializers: inits } };
}
