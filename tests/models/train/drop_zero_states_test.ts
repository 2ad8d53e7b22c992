// dropZeroInitialStates (models/train/drop_zero_states.ts): which LSTM/GRU initial states are
// zero (and dropped, with the nodes that only fed them) and which are kept.
import { deepEqual, equal } from "node:assert/strict";
import { addNode, type Attr, emptyGraph, type Graph, intAttr } from "../../../models/graph/ir.ts";
import { tensor } from "../../../models/tensor.ts";
import { dropZeroInitialStates } from "../../../models/train/drop_zero_states.ts";

const fill = (v: number): Attr => ({
  type: "tensor",
  value: tensor("float32", [1], Float32Array.from([v])),
});

/** zeros (ConstantOfShape of `value`) → Slice → LSTM initial_h and initial_c. */
function graph(value?: Attr, read = false): Graph {
  const g = emptyGraph("lstm");
  g.inputs.push({ name: "x", dtype: "float32", shape: [5, "N", 2] });
  addNode(g, { opType: "Shape", inputs: ["x"], outputs: ["xs"] });
  addNode(g, {
    opType: "ConstantOfShape",
    inputs: ["xs"],
    outputs: ["zeros"],
    attrs: value ? { value } : {},
  });
  addNode(g, { opType: "Slice", inputs: ["zeros", "s", "e", "a"], outputs: ["h0"] });
  addNode(g, {
    opType: "LSTM",
    inputs: ["x", "W", "R", "B", "", "h0", "h0"],
    outputs: ["y"],
    attrs: { hidden_size: intAttr(3) },
  });
  if (read) addNode(g, { opType: "Add", inputs: ["y", "h0"], outputs: ["z"] });
  g.outputs.push({ name: read ? "z" : "y", dtype: "float32" });
  return g;
}

Deno.test("zero states from ConstantOfShape (value absent or 0) are dropped with the nodes that only fed them", () => {
  for (const value of [undefined, fill(0)]) {
    const out = dropZeroInitialStates(graph(value));
    deepEqual(out.nodes.map((n) => n.opType), ["LSTM"]);
    deepEqual(out.nodes[0].inputs, ["x", "W", "R", "B"]);
  }
});

Deno.test("a state still read elsewhere is dropped from the LSTM, its producers kept", () => {
  const out = dropZeroInitialStates(graph(undefined, true));
  deepEqual(out.nodes.map((n) => n.opType), ["Shape", "ConstantOfShape", "Slice", "LSTM", "Add"]);
  deepEqual(out.nodes[3].inputs, ["x", "W", "R", "B"]);
});

Deno.test("non-zero constants and initializers (maybe learned states) are kept, the graph unchanged", () => {
  const g = graph(fill(0.5));
  equal(dropZeroInitialStates(g), g);
  const h = emptyGraph("init");
  h.initializers.set("h0", tensor("float32", [1, 2, 3], new Float32Array(6)));
  addNode(h, { opType: "GRU", inputs: ["x", "W", "R", "", "", "h0"], outputs: ["y"], attrs: {} });
  equal(dropZeroInitialStates(h), h);
});
