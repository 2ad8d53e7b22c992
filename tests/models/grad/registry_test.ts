import * as assert from "node:assert/strict";
import { GradError } from "../../../models/grad/grad_error.ts";
import type { GradRule } from "../../../models/grad/rule.ts";
import { mergeRuleFamilies } from "../../../models/grad/rules/registry.ts";
import { GRAD_RULES, NON_DIFFERENTIABLE } from "../../../models/grad/rules/mod.ts";
import { ACTIVATION_RULES } from "../../../models/grad/rules/activation.ts";
import { ARITHMETIC_RULES } from "../../../models/grad/rules/arithmetic.ts";
import { LINEAR_RULES } from "../../../models/grad/rules/linear.ts";
import { CONV_RULES } from "../../../models/grad/rules/conv.ts";
import { POOL_RULES } from "../../../models/grad/rules/pool.ts";
import { SHAPE_RULES } from "../../../models/grad/rules/shape.ts";
import { GATHER_RULES } from "../../../models/grad/rules/gather.ts";
import { REDUCE_RULES } from "../../../models/grad/rules/reduce.ts";
import { SOFTMAX_RULES } from "../../../models/grad/rules/softmax.ts";
import { NORMALIZATION_RULES } from "../../../models/grad/rules/normalization.ts";
import { SELECT_RULES } from "../../../models/grad/rules/select.ts";

const identity: GradRule = (_n, [g]) => [g];
const negate: GradRule = (_n, [g], ctx) => [ctx.emit1("Neg", [g!])];

Deno.test("mergeRuleFamilies: an op defined in two families is refused, naming op and both families", () => {
  assert.throws(
    () =>
      mergeRuleFamilies({
        unary: { Neg: negate, Identity: identity },
        shape: { Reshape: identity },
        passthrough: { Identity: identity },
      }),
    (e: unknown) =>
      e instanceof GradError && e.code === "DUPLICATE_RULE" &&
      e.message ===
        "gradient rule for op Identity is defined in two families: unary and passthrough",
  );
  // The same rule object under one op in two families is still two definitions.
  assert.throws(
    () => mergeRuleFamilies({ a: { Neg: negate }, b: { Neg: negate } }),
    (e: unknown) =>
      e instanceof GradError && e.code === "DUPLICATE_RULE" && /op Neg .* a and b$/.test(e.message),
  );
});

Deno.test("mergeRuleFamilies: an op with a rule that is also non-differentiable is refused", () => {
  assert.throws(
    () => mergeRuleFamilies({ rounding: { Floor: identity } }, new Set(["Floor", "Ceil"])),
    (e: unknown) =>
      e instanceof GradError && e.code === "DUPLICATE_RULE" &&
      e.message ===
        "op Floor has a gradient rule in family rounding and is also listed as non-differentiable",
  );
});

Deno.test("mergeRuleFamilies: disjoint families merge in family order, each rule kept", () => {
  const rules = mergeRuleFamilies({ a: { Neg: negate, Abs: identity }, b: { Identity: identity } });
  assert.deepEqual([...rules.keys()], ["Neg", "Abs", "Identity"]);
  assert.equal(rules.get("Neg"), negate);
  assert.equal(rules.get("Identity"), identity);
});

Deno.test("GRAD_RULES: the real registry loads, holding every family's rules exactly once", () => {
  const families = [
    ACTIVATION_RULES,
    ARITHMETIC_RULES,
    LINEAR_RULES,
    CONV_RULES,
    POOL_RULES,
    SHAPE_RULES,
    GATHER_RULES,
    REDUCE_RULES,
    SOFTMAX_RULES,
    NORMALIZATION_RULES,
    SELECT_RULES,
  ];
  const total = families.reduce((n, f) => n + Object.keys(f).length, 0);
  assert.equal(GRAD_RULES.size, total, "an op is defined in two families");
  for (const f of families) {
    for (const [op, rule] of Object.entries(f)) assert.equal(GRAD_RULES.get(op), rule, op);
  }
  for (const op of NON_DIFFERENTIABLE) assert.equal(GRAD_RULES.has(op), false, op);
  for (const op of ["Conv", "Relu", "MaxPool", "Gemm", "Softmax", "Cast"]) {
    assert.ok(GRAD_RULES.has(op), op);
  }
});
