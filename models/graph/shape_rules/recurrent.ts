/**
 * Shape rules of the recurrent operators LSTM-14 and GRU-14 (ONNX operator spec, layout 0):
 * from X [seq, batch, input], Y is [seq, num_directions, batch, hidden] and Y_h (and LSTM's
 * Y_c) [num_directions, batch, hidden]; hidden is the `hidden_size` attribute, or R's dim 2.
 * With `layout = 1` (batch first) the batch and sequence axes swap places.
 *
 * @example
 * ```ts
 * import { RECURRENT_SHAPE_RULES } from "./recurrent.ts";
 * import { intAttr } from "../ir.ts";
 * const lstm = {
 *   name: "l", opType: "LSTM", domain: "", inputs: ["x", "W", "R"], outputs: ["y", "y_h"],
 *   attrs: { hidden_size: intAttr(8) },
 * };
 * RECURRENT_SHAPE_RULES.LSTM(lstm, [{ dtype: "float32", shape: [5, "N", 3] }], { opset: 17 })[0]
 *   ?.shape; // [5, 1, "N", 8]
 * ```
 * @module
 */
import { type Dim, getInt, getString } from "../ir.ts";
import { dtypeOf, type ShapeRule } from "./rule.ts";

const recurrent: ShapeRule = (node, inputs) => {
  const [x, , r] = inputs;
  const dtype = dtypeOf(x);
  const xs = x?.shape;
  const dirs = getString(node, "direction", "forward") === "bidirectional" ? 2 : 1;
  const hidden: Dim | undefined = node.attrs.hidden_size
    ? getInt(node, "hidden_size")
    : r?.shape?.[2];
  if (!xs || xs.length !== 3 || hidden === undefined) return node.outputs.map(() => ({ dtype }));
  const batchFirst = getInt(node, "layout", 0) === 1;
  const [seq, batch] = batchFirst ? [xs[1], xs[0]] : [xs[0], xs[1]];
  const y: Dim[] = batchFirst ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
  const state: Dim[] = batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden];
  return node.outputs.map((_, i) => ({ dtype, shape: i === 0 ? y : [...state] }));
};

/**
 * Shape rules of the recurrent operators, by op type.
 *
 * @example
 * ```ts
 * import { RECURRENT_SHAPE_RULES } from "./recurrent.ts";
 * console.log(Object.keys(RECURRENT_SHAPE_RULES)); // ["LSTM", "GRU"]
 * ```
 */
export const RECURRENT_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  LSTM: recurrent,
  GRU: recurrent,
};
