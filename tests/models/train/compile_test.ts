import assert from "node:assert/strict";
import { buildCnn } from "../../../models/zoo/cnn.ts";
import { compileModel } from "../../../models/train/compile.ts";

Deno.test("compile: a saved tensor is never one the backward reads only for its shape when a same-shaped one crosses", () => {
  const { model, cuts } = buildCnn({ random: () => 0.1, size: 8, channels: [2, 4], hidden: 4 });
  for (const c of [cuts.default, cuts.alternate, cuts.ushaped]) {
    const segments = compileModel(model, { loss: "bce", cuts: c });
    for (const seg of segments.filter((s) => !s.hasLoss)) {
      const bwd = seg.backward!.graph;
      const shapes = new Map(bwd.inputs.map((v) => [v.name, JSON.stringify(v.shape)]));
      const shapeOnly = seg.saved.filter((t) => {
        const readers = bwd.nodes.filter((n) => n.inputs.includes(t));
        return readers.length > 0 && readers.every((n) => n.opType === "Shape" || n.opType === "Size");
      });
      for (const t of shapeOnly) {
        const twin = seg.saved.find((u) => u !== t && shapes.get(u) === shapes.get(t) && !shapeOnly.includes(u));
        assert.equal(twin, undefined, `${t} crosses only for its shape, though ${twin} has that shape`);
      }
      // The lowered BatchNormalization of a block saves at most 3 tensors of the block's
      // full [N, C, H, W] size (the ReLU output for MaxPool's gradient, x − μ and x̂);
      // before this rewrite it saved 5.
      const full = seg.saved.filter((t) => shapes.get(t) === JSON.stringify(["N", 2, 8, 8])).length;
      if (c === cuts.default || c === cuts.ushaped) assert.ok(full <= 3, `${full} full-size saved tensors`);
    }
  }
});
