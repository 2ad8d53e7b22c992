import * as assert from "node:assert/strict";
import { GradContext } from "../../../models/grad/context.ts";
import { GRAD_RULES } from "../../../models/grad/rules/mod.ts";
import { appendLoss } from "../../../models/grad/loss.ts";
import type { Facts } from "../../../models/graph/infer_shapes.ts";
import type { Node } from "../../../models/graph/ir.ts";
import type { DType } from "../../../models/tensor.ts";

// ONNX onnx.proto TensorProto.DataType: FLOAT = 1, FLOAT16 = 10, DOUBLE = 11.
const SPEC_CODE: Partial<Record<DType, number>> = { float32: 1, float16: 10, float64: 11 };

function castTargets(ctx: GradContext): number[] {
  return ctx.nodes.filter((n) => n.opType === "Cast").map((n) => n.attrs.to.value as number);
}

function node(opType: string, inputs: string[], outputs: string[]): Node {
  return { name: `${opType}_0`, opType, domain: "", inputs, outputs, attrs: {} };
}

for (const dt of ["float32", "float16", "float64"] as const) {
  Deno.test(`GradContext.cast and the rules' masks cast a ${dt} graph to ${dt}`, () => {
    const facts: Facts = new Map([
      ["x", { dtype: dt, shape: [2, 3] }],
      ["y", { dtype: dt, shape: [2, 3] }],
      ["gy", { dtype: dt, shape: [2, 3] }],
      ["b", { dtype: "bool", shape: [2, 3] }],
    ]);
    const ctx = new GradContext(facts, 17);
    const c = ctx.cast("b", dt);
    assert.equal(facts.get(c)?.dtype, dt);
    // Relu's gradient is g · Cast([y > 0]); before the shared table a float16 graph cast
    // its mask to FLOAT (1), and the Mul then mixed float16 with float32.
    const [gx] = GRAD_RULES.get("Relu")!(node("Relu", ["x"], ["y"]), ["gy"], ctx, [true]);
    assert.equal(facts.get(gx!)?.dtype, dt);
    assert.deepEqual(castTargets(ctx), [SPEC_CODE[dt], SPEC_CODE[dt]]);
  });

  Deno.test(`the mse loss of ${dt} logits counts elements in ${dt}`, () => {
    const facts: Facts = new Map([
      ["logits", { dtype: dt, shape: [4, 1] }],
      ["target", { dtype: dt, shape: [4, 1] }],
    ]);
    const ctx = new GradContext(facts, 17);
    const { dlogits } = appendLoss(ctx, "mse", "logits", "target");
    assert.equal(facts.get(dlogits)?.dtype, dt);
    const casts = castTargets(ctx);
    assert.ok(casts.length > 0);
    for (const to of casts) assert.equal(to, SPEC_CODE[dt]);
  });
}
