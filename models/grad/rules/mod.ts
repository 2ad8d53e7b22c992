/**
 * The registry of gradient rules by ONNX op type, and the ops that pass through as
 * non-differentiable (their outputs carry no gradient). The families merge through
 * `mergeRuleFamilies` (registry.ts), which refuses an op defined twice when this module loads.
 *
 * @example
 * ```ts
 * import { GRAD_RULES } from "./mod.ts";
 * GRAD_RULES.has("Conv"); // true
 * ```
 * @module
 */
import type { GradRule } from "../rule.ts";
import { ACTIVATION_RULES } from "./activation.ts";
import { ARITHMETIC_RULES } from "./arithmetic.ts";
import { LINEAR_RULES } from "./linear.ts";
import { CONV_RULES } from "./conv.ts";
import { POOL_RULES } from "./pool.ts";
import { SHAPE_RULES } from "./shape.ts";
import { GATHER_RULES } from "./gather.ts";
import { REDUCE_RULES } from "./reduce.ts";
import { SOFTMAX_RULES } from "./softmax.ts";
import { NORMALIZATION_RULES } from "./normalization.ts";
import { SELECT_RULES } from "./select.ts";
import { mergeRuleFamilies } from "./registry.ts";

/**
 * Ops whose outputs are constant almost everywhere or not real-valued: shape arithmetic,
 * comparisons, rounding, random draws. They may appear anywhere; no gradient flows
 * through them.
 */
export const NON_DIFFERENTIABLE: ReadonlySet<string> = new Set([
  "Shape",
  "Size",
  "Constant",
  "ConstantOfShape",
  "Range",
  "EyeLike",
  "Equal",
  "Less",
  "Greater",
  "LessOrEqual",
  "GreaterOrEqual",
  "Not",
  "And",
  "Or",
  "Xor",
  "Sign",
  "Floor",
  "Ceil",
  "Round",
  "ArgMax",
  "ArgMin",
  "NonZero",
  "OneHot",
  "RandomUniformLike",
  "RandomNormalLike",
  "RandomUniform",
  "RandomNormal",
  "IsNaN",
  "IsInf",
]);

/**
 * Every op with a reverse-mode rule, merged from the rule families. An op defined in two
 * families, or with a rule while listed in {@linkcode NON_DIFFERENTIABLE}, stops this module
 * from loading with a `GradError` `DUPLICATE_RULE` naming the op and both definitions.
 */
export const GRAD_RULES: ReadonlyMap<string, GradRule> = mergeRuleFamilies(
  {
    activation: ACTIVATION_RULES,
    arithmetic: ARITHMETIC_RULES,
    linear: LINEAR_RULES,
    conv: CONV_RULES,
    pool: POOL_RULES,
    shape: SHAPE_RULES,
    gather: GATHER_RULES,
    reduce: REDUCE_RULES,
    softmax: SOFTMAX_RULES,
    normalization: NORMALIZATION_RULES,
    select: SELECT_RULES,
  },
  NON_DIFFERENTIABLE,
);
