import * as assert from "node:assert/strict";
import { ShapeError } from "../../../models/graph/infer_shapes.ts";
import { mergeShapeRuleFamilies } from "../../../models/graph/shape_rules/registry.ts";
import type { ShapeRule } from "../../../models/graph/shape_rules/rule.ts";
import {
  SHAPE_INFERENCE_FAMILIES,
  SHAPE_INFERENCE_RULES,
} from "../../../models/graph/shape_rules/mod.ts";
import { inferNode } from "../../../models/graph/infer_shapes.ts";

const same: ShapeRule = (_n, [x]) => [x];
const scalar: ShapeRule = () => [{ dtype: "float32", shape: [] }];

Deno.test("mergeShapeRuleFamilies: an op defined in two families is refused, naming op and both families", () => {
  assert.throws(
    () =>
      mergeShapeRuleFamilies({
        elementwise: { Neg: same, Identity: same },
        reduce: { ReduceSum: scalar },
        reshape: { Identity: same },
      }),
    (e: unknown) =>
      e instanceof ShapeError && e.code === "DUPLICATE_RULE" &&
      e.message ===
        "shape rule for op Identity is defined in two families: elementwise and reshape",
  );
  // The same rule object under one op in two families is still two definitions.
  assert.throws(
    () => mergeShapeRuleFamilies({ a: { Neg: same }, b: { Neg: same } }),
    (e: unknown) =>
      e instanceof ShapeError && e.code === "DUPLICATE_RULE" &&
      /op Neg .* a and b$/.test(e.message),
  );
});

Deno.test("mergeShapeRuleFamilies: disjoint families merge in family order, each rule kept", () => {
  const rules = mergeShapeRuleFamilies({ a: { Neg: same, Abs: same }, b: { ReduceSum: scalar } });
  assert.deepEqual([...rules.keys()], ["Neg", "Abs", "ReduceSum"]);
  assert.equal(rules.get("Neg"), same);
  assert.equal(rules.get("ReduceSum"), scalar);
});

Deno.test("SHAPE_INFERENCE_RULES: the real registry loads, holding every family's rules exactly once", () => {
  const families = Object.values(SHAPE_INFERENCE_FAMILIES);
  const total = families.reduce((n, f) => n + Object.keys(f).length, 0);
  assert.equal(SHAPE_INFERENCE_RULES.size, total, "an op is defined in two families");
  for (const f of families) {
    for (const [op, rule] of Object.entries(f)) {
      assert.equal(SHAPE_INFERENCE_RULES.get(op), rule, op);
    }
  }
  for (
    const op of ["Conv", "Relu", "MaxPool", "Gemm", "Reshape", "Concat", "ReduceMean", "Shape"]
  ) {
    assert.ok(SHAPE_INFERENCE_RULES.has(op), op);
  }
});

Deno.test("inferNode: an op without a rule gets the first input's dtype and no shape, on every output", () => {
  const facts = new Map([["x", { dtype: "float16" as const, shape: [2, 3] }]]);
  const node = {
    name: "t",
    opType: "TopK",
    domain: "",
    inputs: ["x", "k"],
    outputs: ["v", "", "i"],
    attrs: {},
  };
  assert.equal(SHAPE_INFERENCE_RULES.has("TopK"), false);
  inferNode(node, facts, 17);
  assert.deepEqual(facts.get("v"), { dtype: "float16" });
  assert.deepEqual(facts.get("i"), { dtype: "float16" });
  assert.equal(facts.has(""), false, "an omitted output records nothing");
});

Deno.test("a shape rule is pure: it reads its inputs' facts and returns the outputs' facts", () => {
  const rule = SHAPE_INFERENCE_RULES.get("Transpose")!;
  const x = { dtype: "float32" as const, shape: ["N", 3, 5] };
  const node = {
    name: "t",
    opType: "Transpose",
    domain: "",
    inputs: ["x"],
    outputs: ["y"],
    attrs: {},
  };
  assert.deepEqual(rule(node, [x], { opset: 17 }), [{ dtype: "float32", shape: [5, 3, "N"] }]);
  assert.deepEqual(x.shape, ["N", 3, 5], "the input's facts are not changed");
});
