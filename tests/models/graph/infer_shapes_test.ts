import assert from "node:assert/strict";
import { inferShapes } from "../../../models/graph/infer_shapes.ts";
import { addNode, emptyGraph, stringAttr } from "../../../models/graph/ir.ts";
import { tensor } from "../../../models/tensor.ts";

const i64 = (v: number[]) => tensor("int64", [v.length], BigInt64Array.from(v.map(BigInt)));

Deno.test("Resize: output sizes from constant scales or sizes; unknown when neither is constant", () => {
  const g = emptyGraph("resize");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3, 7, 5] });
  g.inputs.push({ name: "dyn", dtype: "float32", shape: [4] });
  g.initializers.set("scales", tensor("float32", [4], Float32Array.of(1, 1, 2, 1.5)));
  g.initializers.set("sizes", i64([2, 3, 4, 4]));
  const attrs = { mode: stringAttr("nearest") };
  addNode(g, { opType: "Resize", inputs: ["x", "", "scales"], outputs: ["up"], attrs });
  addNode(g, { opType: "Resize", inputs: ["x", "", "", "sizes"], outputs: ["sized"], attrs });
  addNode(g, { opType: "Resize", inputs: ["x", "", "dyn"], outputs: ["unknown"], attrs });
  const f = inferShapes(g, 17);
  // floor(7 · 2) = 14, floor(5 · 1.5) = 7; the symbolic batch keeps its name at scale 1.
  assert.deepEqual(f.get("up")?.shape, ["N", 3, 14, 7]);
  assert.deepEqual(f.get("sized")?.shape, [2, 3, 4, 4]);
  assert.equal(f.get("unknown")?.shape, undefined);
  assert.equal(f.get("up")?.dtype, "float32");
});

Deno.test("Reshape: a batch folded into another axis (N*C) unfolds back to N", () => {
  const g = emptyGraph("fold");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 16, 28, 28] });
  g.initializers.set("flat", i64([-1, 1, 28, 28]));
  g.initializers.set("back", i64([-1, 16, 28, 28]));
  g.initializers.set("half", i64([-1, 32, 28, 28]));
  g.initializers.set("odd", i64([-1, 3, 28, 28]));
  addNode(g, { opType: "Reshape", inputs: ["x", "flat"], outputs: ["f"] });
  addNode(g, { opType: "Reshape", inputs: ["f", "back"], outputs: ["b"] });
  addNode(g, { opType: "Reshape", inputs: ["f", "half"], outputs: ["h"] });
  addNode(g, { opType: "Reshape", inputs: ["f", "odd"], outputs: ["o"] });
  const f = inferShapes(g, 17);
  assert.deepEqual(f.get("f")?.shape, ["N*16", 1, 28, 28]);
  assert.deepEqual(f.get("b")?.shape, ["N", 16, 28, 28]);
  // 16 does not divide by 32 or 3: the axis gets a fresh name rather than a wrong size.
  assert.equal(typeof f.get("h")?.shape?.[0], "string");
  assert.notEqual(f.get("h")?.shape?.[0], "N");
  assert.equal(typeof f.get("o")?.shape?.[0], "string");
  assert.notEqual(f.get("o")?.shape?.[0], "N");
});
