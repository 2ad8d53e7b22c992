import assert from "node:assert/strict";
import fc from "fast-check";
import { countFlops } from "../../../models/graph/flops.ts";
import { addNode, emptyGraph, intAttr, intsAttr } from "../../../models/graph/ir.ts";
import { tensor } from "../../../models/tensor.ts";
import { buildCnn } from "../../../models/zoo/cnn.ts";
import { compileModel } from "../../../models/train/compile.ts";

Deno.test("Gemm: 2·M·N·K plus M·N for the bias", () => {
  const g = emptyGraph("gemm");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 5] });
  g.initializers.set("w", tensor("float32", [3, 5]));
  g.initializers.set("b", tensor("float32", [3]));
  addNode(g, { opType: "Gemm", inputs: ["x", "w", "b"], outputs: ["y"], attrs: { transB: intAttr(1) } });
  // batch 4: 2·4·3·5 = 120 multiply-adds counted as 2, + 4·3 bias adds = 132.
  const c = countFlops(g, { batch: 4 });
  assert.equal(c.total, 132);
  assert.deepEqual(c.unknown, []);
  // No bias: just the product.
  g.nodes[0].inputs = ["x", "w"];
  assert.equal(countFlops(g, { batch: 4 }).total, 120);
});

Deno.test("Conv: 2·N·Cout·(Cin/g)·k·out_spatial, + bias; grouped; MaxPool; Relu", () => {
  const g = emptyGraph("conv");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 4, 6, 6] });
  g.initializers.set("w", tensor("float32", [8, 2, 3, 3])); // group 2: Cin/g = 2
  g.initializers.set("b", tensor("float32", [8]));
  addNode(g, {
    opType: "Conv",
    inputs: ["x", "w", "b"],
    outputs: ["y"],
    attrs: { pads: intsAttr([1, 1, 1, 1]), group: intAttr(2), kernel_shape: intsAttr([3, 3]) },
  });
  addNode(g, { opType: "Relu", inputs: ["y"], outputs: ["r"] });
  addNode(g, {
    opType: "MaxPool",
    inputs: ["r"],
    outputs: ["p"],
    attrs: { kernel_shape: intsAttr([2, 2]), strides: intsAttr([2, 2]) },
  });
  addNode(g, { opType: "Flatten", inputs: ["p"], outputs: ["f"] });
  const c = countFlops(g, { batch: 2 });
  // Conv: out [2, 8, 6, 6]: 2·2·8·2·9·36 = 20736, bias 2·8·36 = 576.
  assert.equal(c.byOp.Conv, 20736 + 576);
  assert.equal(c.byOp.Relu, 576);
  // MaxPool out [2, 8, 3, 3] = 144 elements × 4 kernel cells.
  assert.equal(c.byOp.MaxPool, 576);
  assert.equal(c.byOp.Flatten, 0);
  assert.equal(c.total, 20736 + 576 + 576 + 576);
});

Deno.test("ConvTranspose counts the scatter: 2·|X|·(Cout/g)·k", () => {
  const g = emptyGraph("convT");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3, 4, 4] });
  g.initializers.set("w", tensor("float32", [3, 5, 3, 3]));
  addNode(g, { opType: "ConvTranspose", inputs: ["x", "w"], outputs: ["y"], attrs: { pads: intsAttr([1, 1, 1, 1]) } });
  assert.equal(countFlops(g, { batch: 1 }).total, 2 * 48 * 5 * 9);
});

Deno.test("counts are linear in the batch for a training graph of the zoo CNN", () => {
  const { model, cuts } = buildCnn({ random: () => 0.1, size: 8, channels: [2, 4], hidden: 4 });
  const [front] = compileModel(model, { loss: "bce", cuts: cuts.default });
  for (const m of [front.forward!, front.backward!]) {
    const c1 = countFlops(m.graph, { batch: 1 });
    assert.deepEqual(c1.unknown, []);
    assert.ok(c1.total > 0);
    fc.assert(fc.property(fc.integer({ min: 2, max: 50 }), (n) => {
      const cn = countFlops(m.graph, { batch: n }).total;
      // Per-channel BatchNorm statistics updates do not scale with N: allow a small constant.
      const c2 = countFlops(m.graph, { batch: 2 }).total;
      return Math.abs(cn - (c1.total + (n - 1) * (c2 - c1.total))) < 1e-6;
    }), { numRuns: 10 });
  }
});

Deno.test("an unknown symbolic dimension is reported, a bad batch refused", () => {
  const g = emptyGraph("sym");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", "T"] });
  addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["y"] });
  assert.deepEqual(countFlops(g, { batch: 2 }).unknown, [g.nodes[0].name || "y"]);
  assert.equal(countFlops(g, { batch: 2, dims: { T: 5 } }).total, 10);
  assert.throws(() => countFlops(g, { batch: 0 }), /batch must be an integer >= 1, got 0/);
});
