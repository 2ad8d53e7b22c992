/**
 * The registry of gradient rules by ONNX op type, and the ops that pass through as
 * non-differentiable (their outputs carry no gradient).
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

/** Every op with a reverse-mode rule. */
export const GRAD_RULES: ReadonlyMap<string, GradRule> = new Map(
  Object.entries({
    ...ACTIVATION_RULES,
    ...ARITHMETIC_RULES,
    ...LINEAR_RULES,
    ...CONV_RULES,
    ...POOL_RULES,
    ...SHAPE_RULES,
    ...GATHER_RULES,
    ...REDUCE_RULES,
    ...SOFTMAX_RULES,
  }),
);

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
