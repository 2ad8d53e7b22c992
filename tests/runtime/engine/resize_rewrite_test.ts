import assert from "node:assert/strict";
import { addNode, emptyGraph, type Model, stringAttr } from "../../../models/graph/ir.ts";
import { tensor } from "../../../models/tensor.ts";
import { rewriteNearestResize } from "../../../runtime/engine/resize_rewrite.ts";
import { EngineError } from "../../../runtime/engine/engine_error.ts";

function resizeModel(attrs: Record<string, string>, scales: number[] | null, shape: (number | string)[]): Model {
  const g = emptyGraph("r");
  g.inputs.push({ name: "x", dtype: "float32", shape });
  if (scales) g.initializers.set("scales", tensor("float32", [scales.length], Float32Array.from(scales)));
  else g.inputs.push({ name: "scales", dtype: "float32", shape: [4] });
  addNode(g, {
    name: "up",
    opType: "Resize",
    inputs: ["x", "", "scales"],
    outputs: ["y"],
    attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, stringAttr(v)])),
  });
  return { irVersion: 8, opsets: new Map([["", 17]]), producerName: "t", producerVersion: "0", graph: g };
}

const NEAREST = { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" };

Deno.test("resize rewrite: nearest integer upsampling becomes a grouped ConvTranspose of ones", () => {
  const m = resizeModel(NEAREST, [1, 1, 3, 3], ["N", 4, 5, 5]);
  const { model, replaced } = rewriteNearestResize(m);
  assert.equal(replaced, 1);
  const [n] = model.graph.nodes;
  assert.equal(n.opType, "ConvTranspose");
  assert.deepEqual(n.outputs, ["y"]);
  assert.deepEqual(n.attrs.group, { type: "int", value: 4 });
  assert.deepEqual(n.attrs.strides, { type: "ints", value: [3, 3] });
  const kernel = model.graph.initializers.get(n.inputs[1])!;
  assert.deepEqual(kernel.dims, [4, 1, 3, 3]);
  assert.ok((kernel.data as Float32Array).every((v) => v === 1));
  // The input model is left as it was.
  assert.equal(m.graph.nodes[0].opType, "Resize");
  // A model without Resize comes back as the same object.
  const plain = { ...m, graph: { ...m.graph, nodes: [] } };
  assert.equal(rewriteNearestResize(plain).model, plain);
});

Deno.test("resize rewrite: any other Resize is refused, naming the node and the reason", () => {
  const cases: [Model, RegExp][] = [
    [resizeModel({ ...NEAREST, mode: "linear" }, [1, 1, 2, 2], [1, 1, 4, 4]), /not nearest/],
    [resizeModel({ ...NEAREST, coordinate_transformation_mode: "half_pixel" }, [1, 1, 2, 2], [1, 1, 4, 4]), /asymmetric/],
    [resizeModel({ ...NEAREST, nearest_mode: "round_prefer_floor" }, [1, 1, 2, 2], [1, 1, 4, 4]), /round down/],
    [resizeModel(NEAREST, [1, 1, 1.5, 1.5], [1, 1, 4, 4]), /integer k/],
    [resizeModel(NEAREST, [1, 1, 2, 3], [1, 1, 4, 4]), /integer k/],
    [resizeModel(NEAREST, null, [1, 1, 4, 4]), /constant scales/],
    [resizeModel(NEAREST, [1, 1, 2, 2], [1, "C", 4, 4]), /channel count/],
  ];
  for (const [m, why] of cases) {
    assert.throws(
      () => rewriteNearestResize(m),
      (e) => e instanceof EngineError && e.code === "MODEL_INVALID" && /"up" \(Resize\)/.test(e.message) && why.test(e.message),
      String(why),
    );
  }
});
