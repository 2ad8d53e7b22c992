// Shape rules of LSTM and GRU (models/graph/shape_rules/recurrent.ts), by the ONNX operator
// spec (LSTM-14, GRU-14): Y [seq, dirs, batch, hidden], Y_h/Y_c [dirs, batch, hidden];
// layout 1 puts batch first.
import * as assert from "node:assert/strict";
import { type Attr, intAttr, type Node, stringAttr } from "../../../models/graph/ir.ts";
import { SHAPE_INFERENCE_RULES } from "../../../models/graph/shape_rules/mod.ts";
import type { TensorFacts } from "../../../models/graph/shape_rules/facts.ts";

function apply(
  opType: string,
  inputs: (TensorFacts | undefined)[],
  attrs: Record<string, Attr>,
  outputs: number,
) {
  const node: Node = {
    name: "n",
    opType,
    domain: "",
    inputs: inputs.map((_, i) => `i${i}`),
    outputs: Array.from({ length: outputs }, (_, i) => `o${i}`),
    attrs,
  };
  return SHAPE_INFERENCE_RULES.get(opType)!(node, inputs, { opset: 17 }).map((f) => f?.shape);
}
const f32 = (...shape: (number | string)[]): TensorFacts => ({ dtype: "float32", shape });

Deno.test("recurrent: LSTM and GRU outputs from X, hidden_size (or R's dim 2), direction and layout", () => {
  assert.deepEqual(
    apply("LSTM", [f32(5, "N", 3)], { hidden_size: intAttr(8) }, 3),
    [[5, 1, "N", 8], [1, "N", 8], [1, "N", 8]],
  );
  assert.deepEqual(
    apply("GRU", [f32(5, "N", 3), f32(2, 12, 3), f32(2, 12, 4)], {
      direction: stringAttr("bidirectional"),
    }, 2),
    [[5, 2, "N", 4], [2, "N", 4]],
  );
  assert.deepEqual(
    apply("LSTM", [f32("N", 5, 3)], { hidden_size: intAttr(2), layout: intAttr(1) }, 2),
    [["N", 5, 1, 2], ["N", 1, 2]],
  );
  // Unknown X rank: only the dtype is known.
  assert.deepEqual(apply("GRU", [{ dtype: "float32" }], { hidden_size: intAttr(2) }, 2), [
    undefined,
    undefined,
  ]);
});
