/** Which tensors the graph makes non-negative by construction (models/graph/non_negative.ts). */
import { equal } from "node:assert/strict";
import { addNode, emptyGraph } from "../../../models/graph/ir.ts";
import { isNonNegative } from "../../../models/graph/non_negative.ts";

function graph() {
  const g = emptyGraph("g");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 4, 8, 8] });
  addNode(g, { opType: "Conv", inputs: ["x", "w"], outputs: ["conv"] });
  addNode(g, { opType: "Relu", inputs: ["conv"], outputs: ["relu"] });
  addNode(g, { opType: "MaxPool", inputs: ["relu"], outputs: ["pool", "indices"] });
  addNode(g, { opType: "Flatten", inputs: ["pool"], outputs: ["flat"] });
  addNode(g, { opType: "Sigmoid", inputs: ["conv"], outputs: ["sig"] });
  addNode(g, { opType: "Concat", inputs: ["relu", "sig", "relu"], outputs: ["both"] });
  addNode(g, { opType: "Concat", inputs: ["relu", "conv"], outputs: ["mixed"] });
  addNode(g, { opType: "Add", inputs: ["relu", "relu"], outputs: ["sum"] });
  addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["ms"], domain: "com.example" });
  addNode(g, { opType: "Dropout", inputs: ["relu"], outputs: ["dropped", "mask"] });
  return g;
}

Deno.test("a ReLU, and pooling, reshaping and concatenating non-negative tensors, are non-negative", () => {
  const g = graph();
  for (const t of ["relu", "pool", "flat", "sig", "both", "dropped"]) {
    equal(isNonNegative(g, t), true, t);
  }
});

Deno.test("inputs, weights, unknown operators, other domains and second outputs are not", () => {
  const g = graph();
  for (const t of ["x", "w", "conv", "mixed", "sum", "ms", "indices", "mask", "nowhere"]) {
    equal(isNonNegative(g, t), false, t);
  }
});

Deno.test("a malformed cycle ends with no", () => {
  const g = emptyGraph("g");
  addNode(g, { opType: "Identity", inputs: ["b"], outputs: ["a"] });
  addNode(g, { opType: "Identity", inputs: ["a"], outputs: ["b"] });
  equal(isNonNegative(g, "a"), false);
});
