// Symbolic shape arithmetic (models/graph/shape_rules/dim_arith.ts) and the rules that use it:
// the shape computations PyTorch's exporter writes around a dynamic batch axis.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  dimFactors,
  foldDims,
  foldValues,
  whereValues,
} from "../../../models/graph/shape_rules/dim_arith.ts";
import { inferShapes } from "../../../models/graph/infer_shapes.ts";
import { addNode, emptyGraph, intAttr } from "../../../models/graph/ir.ts";
import { readModel } from "../../../models/onnx/read_model.ts";
import { tensor } from "../../../models/tensor.ts";

const i64 = (v: number[]) => tensor("int64", [v.length], BigInt64Array.from(v.map(BigInt)));
const fixture = (f: string) => new URL(`../../fixtures/models/${f}`, import.meta.url);

Deno.test("dim_arith: Mul and Div of symbolic products cancel exactly; Equal of a symbol with a negative is 0", () => {
  assert.equal(foldDims("Mul", "N", 2), "N*2");
  assert.equal(foldDims("Mul", 2, "N*8"), "N*16");
  assert.equal(foldDims("Mul", "T", "N"), "N*T"); // symbols sorted: equal products, equal strings
  assert.equal(foldDims("Div", "N*16", 8), "N*2");
  assert.equal(foldDims("Div", "N*2", "N"), 2);
  assert.equal(foldDims("Div", "N*3", 2), undefined); // 3/2 is not exact: not known
  assert.equal(foldDims("Div", 7, 2), 3); // ONNX integer Div truncates
  assert.equal(foldDims("Add", "N", 0), "N");
  assert.equal(foldDims("Add", "N", 1), undefined);
  assert.equal(foldDims("Sub", "N", "N"), 0);
  assert.equal(foldDims("Equal", "N", -1), 0);
  assert.equal(foldDims("Equal", "N", 3), undefined); // N may be 3
  assert.equal(foldDims("Equal", "N*2", "N*2"), 1);
  assert.equal(foldDims("Mul", "a+b", 2), undefined); // a Concat's sum is not a product
  assert.deepEqual(dimFactors("N*2*3"), { sym: ["N"], num: 6 });
  assert.deepEqual(foldValues("Mul", ["N", 7], [2]), ["N*2", 14]);
  assert.deepEqual(foldValues("Equal", ["N", -1, -1], [-1, -1, -1]), [0, 1, 1]);
  assert.equal(foldValues("Add", [1, 2], [1, 2, 3]), undefined);
  assert.deepEqual(whereValues([0, 1, 1], [1, 1, 1], ["N", -1, -1]), ["N", 1, 1]);
  assert.equal(whereValues(["N"], [1], [2]), undefined);
});

Deno.test("dim_arith: (N·k)/k is N and static folds agree with integer arithmetic", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), (k, m) => {
      assert.equal(foldDims("Div", foldDims("Mul", "N", k)!, k), "N");
      assert.equal(foldDims("Div", foldDims("Mul", "N", k * m)!, m), k === 1 ? "N" : `N*${k}`);
      assert.equal(foldDims("Mul", k, m), k * m);
      assert.equal(foldDims("Div", k * m + 1, m), Math.trunc((k * m + 1) / m));
    }),
  );
});

Deno.test("expand(n, -1, -1): Where(Equal(shape, -1), ConstantOfShape 1, shape) → Expand keeps the batch symbol", () => {
  // The nodes torch.onnx.export writes for `cls.expand(x.shape[0], -1, -1)` (opset 17).
  const g = emptyGraph("expand");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 6, 16] });
  g.initializers.set("cls", tensor("float32", [1, 1, 16], new Float32Array(16)));
  g.initializers.set("zero", i64([0]));
  g.initializers.set("minus", i64([-1, -1]));
  g.initializers.set("neg", i64([-1]));
  addNode(g, { opType: "Shape", inputs: ["x"], outputs: ["s"] });
  addNode(g, {
    opType: "Gather",
    inputs: ["s", "zero"],
    outputs: ["n"],
    attrs: { axis: intAttr(0) },
  });
  addNode(g, {
    opType: "Concat",
    inputs: ["n", "minus"],
    outputs: ["target"],
    attrs: { axis: intAttr(0) },
  });
  addNode(g, { opType: "Shape", inputs: ["target"], outputs: ["len"] });
  addNode(g, {
    opType: "ConstantOfShape",
    inputs: ["len"],
    outputs: ["ones"],
    attrs: { value: { type: "tensor", value: i64([1]) } },
  });
  addNode(g, { opType: "Mul", inputs: ["ones", "neg"], outputs: ["minus_ones"] });
  addNode(g, { opType: "Equal", inputs: ["target", "minus_ones"], outputs: ["eq"] });
  addNode(g, { opType: "Where", inputs: ["eq", "ones", "target"], outputs: ["w"] });
  addNode(g, { opType: "Expand", inputs: ["cls", "w"], outputs: ["e"] });
  addNode(g, { opType: "Concat", inputs: ["e", "x"], outputs: ["h"], attrs: { axis: intAttr(1) } });
  const f = inferShapes(g, 17);
  assert.deepEqual(f.get("ones")?.value, [1, 1, 1]);
  assert.deepEqual(f.get("eq")?.value, [0, 1, 1]);
  assert.deepEqual(f.get("w")?.value, ["N", 1, 1]);
  assert.deepEqual(f.get("e")?.shape, ["N", 1, 16]);
  assert.deepEqual(f.get("h")?.shape, ["N", 7, 16]);
});

Deno.test("attention's reshape to (length, N·heads, head size) and back resolves with a symbolic batch", () => {
  // nn.MultiheadAttention (batch_first=False): q.view(L, N * heads, head_dim), and back.
  const g = emptyGraph("heads");
  g.inputs.push({ name: "x", dtype: "float32", shape: [7, "N", 16] });
  g.initializers.set("zero", i64([0]));
  g.initializers.set("one", i64([1]));
  g.initializers.set("heads", i64([2]));
  g.initializers.set("hd", i64([8]));
  g.initializers.set("back", i64([7, -1, 16]));
  addNode(g, { opType: "Shape", inputs: ["x"], outputs: ["s"] });
  addNode(g, {
    opType: "Gather",
    inputs: ["s", "zero"],
    outputs: ["l"],
    attrs: { axis: intAttr(0) },
  });
  addNode(g, {
    opType: "Gather",
    inputs: ["s", "one"],
    outputs: ["n"],
    attrs: { axis: intAttr(0) },
  });
  addNode(g, { opType: "Mul", inputs: ["n", "heads"], outputs: ["nh"] });
  addNode(g, {
    opType: "Concat",
    inputs: ["l", "nh", "hd"],
    outputs: ["target"],
    attrs: { axis: intAttr(0) },
  });
  addNode(g, { opType: "Reshape", inputs: ["x", "target"], outputs: ["split"] });
  addNode(g, { opType: "Reshape", inputs: ["split", "back"], outputs: ["joined"] });
  const f = inferShapes(g, 17);
  assert.deepEqual(f.get("nh")?.value, ["N*2"]);
  assert.deepEqual(f.get("split")?.shape, [7, "N*2", 8]);
  assert.deepEqual(f.get("joined")?.shape, [7, "N", 16]);
});

Deno.test("ConstantOfShape and Range track small static values; arange(n) of a symbolic n has length n", () => {
  const g = emptyGraph("gen");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 5] });
  g.initializers.set("three", i64([3]));
  g.initializers.set("z", tensor("int64", [], BigInt64Array.of(0n)));
  g.initializers.set("d", tensor("int64", [], BigInt64Array.of(1n)));
  g.initializers.set("l", tensor("int64", [], BigInt64Array.of(7n)));
  g.initializers.set("d2", tensor("int64", [], BigInt64Array.of(2n)));
  addNode(g, {
    opType: "ConstantOfShape",
    inputs: ["three"],
    outputs: ["c"],
    attrs: { value: { type: "tensor", value: i64([4]) } },
  });
  addNode(g, { opType: "Range", inputs: ["z", "l", "d2"], outputs: ["r"] });
  addNode(g, { opType: "Shape", inputs: ["x"], outputs: ["s"] });
  addNode(g, { opType: "Gather", inputs: ["s", "z"], outputs: ["n"], attrs: { axis: intAttr(0) } });
  addNode(g, { opType: "Range", inputs: ["z", "n", "d"], outputs: ["ar"] });
  addNode(g, { opType: "Range", inputs: ["d", "n", "d"], outputs: ["unknown"] });
  const f = inferShapes(g, 17);
  assert.deepEqual(f.get("c")?.value, [4, 4, 4]);
  assert.deepEqual(f.get("r")?.shape, [4]); // ⌈(7 − 0) / 2⌉
  assert.deepEqual(f.get("r")?.value, [0, 2, 4, 6]);
  assert.deepEqual(f.get("ar")?.shape, ["N"]);
  assert.deepEqual(f.get("unknown")?.shape, ["unknown_d0"]); // N − 1: named, not guessed
});

for (const name of ["tiny_encoder", "tiny_encoder_seq"]) {
  Deno.test(`${name}.onnx (nn.TransformerEncoder, dynamic batch): every tensor's shape is known, logits [N, 3]`, async () => {
    const m = readModel(await Deno.readFile(fixture(`${name}.onnx`)));
    const f = inferShapes(m.graph, 17);
    const unknown = m.graph.nodes.flatMap((n) => n.outputs.filter((o) => o && !f.get(o)?.shape));
    assert.deepEqual(unknown, []);
    assert.deepEqual(f.get("logits")?.shape, ["N", 3]);
  });
}
