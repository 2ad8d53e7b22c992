/**
 * Which tensors of a graph are non-negative by construction: a forward pass's ReLU output,
 * and what max-pooling, reshaping or concatenating such tensors makes of them. A cut that is
 * known to be ≥ 0 needs no per-channel minimum when it is quantised (its range starts at 0),
 * which saves one full pass over the tensor a step (models/train/quantize_cut.ts).
 *
 * The analysis only answers "yes" when every value is ≥ 0 or NaN for any input and any
 * weights: the producing operator's output range is [0, ∞] by its ONNX definition, or it only
 * selects, moves, averages or maxes values that are themselves ≥ 0.
 *
 * @example
 * ```ts
 * import { addNode, emptyGraph } from "./ir.ts";
 * import { isNonNegative } from "./non_negative.ts";
 * const g = emptyGraph("front");
 * g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 4] });
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["r"] });
 * addNode(g, { opType: "Flatten", inputs: ["r"], outputs: ["cut"] });
 * console.log(isNonNegative(g, "cut"), isNonNegative(g, "x")); // true false
 * ```
 * @module
 */

import type { Graph, Node } from "./ir.ts";

/**
 * Operators whose output is ≥ 0 (or NaN) whatever their input (ONNX operator definitions):
 * ReLU max(0, x), the logistic and softmax families (0 to 1), |x|, eˣ, softplus ln(1 + eˣ).
 */
const NON_NEGATIVE_OPS: ReadonlySet<string> = new Set([
  "Relu",
  "Sigmoid",
  "HardSigmoid",
  "Softmax",
  "Abs",
  "Exp",
  "Softplus",
]);

/**
 * Operators whose output values are drawn from (or are averages or maxima of) their first
 * input's values, or zeros: non-negative when that input is. Padding of the pooling
 * operators adds zeros (AveragePool) or is ignored (MaxPool), so it keeps the sign.
 */
const SIGN_KEEPING_OPS: ReadonlySet<string> = new Set([
  "MaxPool",
  "AveragePool",
  "GlobalMaxPool",
  "GlobalAveragePool",
  "Reshape",
  "Flatten",
  "Identity",
  "Transpose",
  "Squeeze",
  "Unsqueeze",
  "Dropout",
]);

/**
 * Whether every value of tensor `name` in `g` is ≥ 0 (or NaN) whatever the graph's inputs and
 * weights. False for a graph input or an initializer (their values are not known here), and
 * for anything this analysis does not recognise.
 *
 * @example
 * ```ts
 * import { addNode, emptyGraph } from "./ir.ts";
 * import { isNonNegative } from "./non_negative.ts";
 * const g = emptyGraph("g");
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["r"] });
 * addNode(g, { opType: "MaxPool", inputs: ["r"], outputs: ["p"] });
 * isNonNegative(g, "p"); // true
 * ```
 */
export function isNonNegative(g: Graph, name: string): boolean {
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producers.set(o, n);
  // Answers by tensor; a tensor being answered reads as false, so a (malformed) cycle ends.
  const known = new Map<string, boolean>();
  const walk = (t: string): boolean => {
    const k = known.get(t);
    if (k !== undefined) return k;
    known.set(t, false);
    const answer = decide(t);
    known.set(t, answer);
    return answer;
  };
  const decide = (t: string): boolean => {
    const n = producers.get(t);
    if (!n || n.domain !== "") return false;
    // Dropout's second output is the mask; MaxPool's is the indices: only the first counts.
    if (n.outputs[0] !== t) return false;
    if (NON_NEGATIVE_OPS.has(n.opType)) return true;
    if (SIGN_KEEPING_OPS.has(n.opType)) return walk(n.inputs[0]);
    if (n.opType === "Concat") return n.inputs.length > 0 && n.inputs.every(walk);
    return false;
  };
  return walk(name);
}
