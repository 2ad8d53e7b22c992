/**
 * Per-sample standardisation of a model's inputs, inserted as the first nodes of its graph:
 * each sample x (one row of an [N, ...] input) becomes (x − mean(x)) / sqrt(var(x) + ε),
 * mean and variance taken over all of that sample's values — a LayerNorm without scale or
 * bias (Ba et al. 2016), written with primitive ONNX operators (Reshape, ReduceMean, Sub,
 * Mul, Add, Sqrt, Reciprocal, Shape) so that every engine runs it and the gradient builder
 * needs nothing new (nothing before it is trained, so no gradient flows through it).
 *
 * Why a privacy defence: the layers after it — and the cut activations a split model sends —
 * can no longer depend on a sample's overall level and spread (for an X-ray: its exposure
 * and contrast), which is most of what tells two raw images apart. On PneumoniaMNIST the
 * distance correlation between the images and their mean intensity alone is 0.89.
 *
 * @example
 * ```ts
 * import { standardiseInputs } from "./standardise_inputs.ts";
 * import type { Model } from "./ir.ts";
 * declare const model: Model;
 * const defended = standardiseInputs(model, ["image"]); // model itself is not changed
 * ```
 * @module
 */
import { tensor } from "../tensor.ts";
import type { Attr, Model, Node } from "./ir.ts";

/** ε under the square root, as PyTorch's LayerNorm default. */
export const STANDARDISE_EPSILON = 1e-5;

const ints = (value: number[]): Attr => ({ type: "ints", value });
const int = (value: number): Attr => ({ type: "int", value });

/**
 * Returns a copy of `model` whose inputs `names` are standardised per sample before any
 * other node reads them. The inputs must be float32 with a batch axis and at least one more.
 *
 * @throws {RangeError} for a name that is not a graph input, an input that is not float32
 *   of rank ≥ 2, or a model already standardised
 * @example
 * ```ts
 * import { standardiseInputs } from "./standardise_inputs.ts";
 * import type { Model } from "./ir.ts";
 * declare const model: Model;
 * standardiseInputs(model, ["image"]).graph.nodes[0].opType; // "Reshape"
 * ```
 */
export function standardiseInputs(model: Model, names: readonly string[]): Model {
  const g = model.graph;
  const opset = model.opsets.get("") ?? 17;
  const initializers = new Map(g.initializers);
  const added: Node[] = [];
  const renamed = new Map<string, string>();
  for (const input of names) {
    const info = g.inputs.find((v) => v.name === input);
    if (!info) {
      throw new RangeError(`standardise: ${JSON.stringify(input)} is not an input of the model (inputs: ${g.inputs.map((v) => v.name).join(", ")})`);
    }
    if (info.dtype !== "float32" || (info.shape !== undefined && info.shape.length < 2)) {
      throw new RangeError(
        `standardise: input ${JSON.stringify(input)} is ${info.dtype}${info.shape ? ` of rank ${info.shape.length}` : ""}; expected float32 of rank >= 2 ([N, ...])`,
      );
    }
    const p = `splitgate_standardise/${input}`;
    if (g.nodes.some((n) => n.name.startsWith(`${p}/`))) {
      throw new RangeError(`standardise: input ${JSON.stringify(input)} is already standardised`);
    }
    const node = (opType: string, inputs: string[], out: string, attrs: Record<string, Attr> = {}) => {
      const name = `${p}/${out}`;
      added.push({ name, opType, domain: "", inputs, outputs: [name], attrs });
      return name;
    };
    initializers.set(`${p}.flat_shape`, tensor("int64", [2], BigInt64Array.of(0n, -1n)));
    initializers.set(`${p}.eps`, tensor("float32", [], Float32Array.of(STANDARDISE_EPSILON)));
    // ReduceMean takes its axes as an attribute up to opset 17 and as an input from 18
    // (ONNX operator spec, ReduceMean-13 and ReduceMean-18).
    const mean = (x: string, out: string) => {
      if (opset < 18) return node("ReduceMean", [x], out, { axes: ints([1]), keepdims: int(1) });
      initializers.set(`${p}.axes`, tensor("int64", [1], BigInt64Array.of(1n)));
      return node("ReduceMean", [x, `${p}.axes`], out, { keepdims: int(1) });
    };
    const flat = node("Reshape", [input, `${p}.flat_shape`], "flat");
    const centred = node("Sub", [flat, mean(flat, "mean")], "centred");
    const variance = mean(node("Mul", [centred, centred], "squared"), "variance");
    const std = node("Sqrt", [node("Add", [variance, `${p}.eps`], "variance_eps")], "std");
    const normed = node("Mul", [centred, node("Reciprocal", [std], "inv_std")], "normed");
    renamed.set(input, node("Reshape", [normed, node("Shape", [input], "shape")], "output"));
  }
  const nodes = [
    ...added,
    ...g.nodes.map((n) => ({ ...n, inputs: n.inputs.map((i) => renamed.get(i) ?? i) })),
  ];
  // A graph output that is the raw input itself stays the raw input.
  return { ...model, graph: { ...g, nodes, initializers, valueInfo: new Map(g.valueInfo) } };
}
