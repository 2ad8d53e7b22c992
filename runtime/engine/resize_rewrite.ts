/**
 * Rewrites nearest-neighbour `Resize` nodes with integer scales as grouped `ConvTranspose`
 * nodes, for onnxruntime-web's threaded WebAssembly module.
 *
 * Why: with more than one thread, onnxruntime-web 1.30 deadlocked on the first run of a
 * training graph holding Resize (the MaxPool and AveragePool gradients upsample with it):
 * the pneumonia_cnn step hung in 3 of 5 fresh processes, and in none without Resize or on
 * one thread. The same upsampling as a ConvTranspose — kernel k × k of ones, stride k, one
 * group per channel (ONNX operator spec, ConvTranspose-11) — writes each input cell into its
 * k × k block exactly (1·x, no overlaps), and runs threaded without hanging.
 *
 * Only Resize nodes that are exactly such an upsampling are rewritten: 4-D input with a known
 * channel count, `mode` nearest, `coordinate_transformation_mode` asymmetric, `nearest_mode`
 * floor, and constant scales [1, 1, k, k] with an integer k ≥ 1 (what the gradient rules
 * emit). Any other Resize makes {@linkcode rewriteNearestResize} throw, naming the node.
 *
 * @example
 * ```ts
 * import { rewriteNearestResize } from "./resize_rewrite.ts";
 * // const { model, replaced } = rewriteNearestResize(readModel(bytes));
 * ```
 * @module
 */
import { getString, intAttr, intsAttr, type Model, type Node } from "../../models/graph/ir.ts";
import { inferShapes } from "../../models/graph/infer_shapes.ts";
import { tensor } from "../../models/tensor.ts";
import { EngineError } from "./engine_error.ts";

/**
 * Returns `model` with every nearest, integer-scale Resize replaced by a grouped
 * ConvTranspose (and a ones kernel initializer per node), and how many were replaced.
 * The model is not modified; a model without Resize comes back as it is.
 *
 * @throws {EngineError} `MODEL_INVALID` for a Resize that is not such an upsampling
 * @example
 * ```ts
 * import { rewriteNearestResize } from "./resize_rewrite.ts";
 * import { emptyGraph } from "../../models/graph/ir.ts";
 * const m = { irVersion: 8, opsets: new Map([["", 17]]), producerName: "t", producerVersion: "0", graph: emptyGraph("g") };
 * rewriteNearestResize(m).replaced; // 0
 * ```
 */
export function rewriteNearestResize(model: Model): { model: Model; replaced: number } {
  const g = model.graph;
  if (!g.nodes.some((n) => n.opType === "Resize" && (n.domain === "" || n.domain === "ai.onnx"))) {
    return { model, replaced: 0 };
  }
  const facts = inferShapes(g, model.opsets.get("") ?? 17);
  const initializers = new Map(g.initializers);
  let replaced = 0;
  const refuse = (n: Node, why: string): never => {
    throw new EngineError(
      "MODEL_INVALID",
      `node ${JSON.stringify(n.name)} (Resize): the threaded wasm engine runs only nearest ` +
        `upsampling by an integer factor (rewritten as ConvTranspose), and this one ${why}`,
    );
  };
  const nodes = g.nodes.map((n) => {
    if (n.opType !== "Resize" || (n.domain !== "" && n.domain !== "ai.onnx")) return n;
    if (getString(n, "mode", "nearest") !== "nearest") refuse(n, "is not nearest");
    if (getString(n, "coordinate_transformation_mode", "half_pixel") !== "asymmetric") {
      refuse(n, "does not use asymmetric coordinates");
    }
    if (getString(n, "nearest_mode", "round_prefer_floor") !== "floor") refuse(n, "does not round down");
    const scales = n.inputs[2] ? initializers.get(n.inputs[2]) : undefined;
    if (!scales || n.inputs[3]) refuse(n, "has no constant scales");
    const sc = Array.from(scales!.data as Float32Array, Number);
    const k = sc[2];
    if (
      sc.length !== 4 || sc[0] !== 1 || sc[1] !== 1 || sc[3] !== k || !Number.isInteger(k) || k < 1
    ) {
      refuse(n, `has scales [${sc}], not [1, 1, k, k] with an integer k`);
    }
    const c = facts.get(n.inputs[0])?.shape?.[1];
    if (typeof c !== "number") refuse(n, "has an input whose channel count is unknown");
    const channels = c as number;
    const kernel = `${n.outputs[0]}/upsample_ones`;
    initializers.set(kernel, tensor("float32", [channels, 1, k, k], new Float32Array(channels * k * k).fill(1)));
    replaced++;
    return {
      name: `${n.name}/as_conv_transpose`,
      opType: "ConvTranspose",
      domain: "",
      inputs: [n.inputs[0], kernel],
      outputs: [...n.outputs],
      attrs: {
        kernel_shape: intsAttr([k, k]),
        strides: intsAttr([k, k]),
        group: intAttr(channels),
      },
    } satisfies Node;
  });
  return { model: { ...model, graph: { ...g, nodes, initializers } }, replaced };
}
