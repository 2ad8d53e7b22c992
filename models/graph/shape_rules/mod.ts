/**
 * The registry of shape rules by ONNX op type. The families merge through
 * `mergeShapeRuleFamilies` (registry.ts), which refuses an op defined twice when this module
 * loads; an op with no rule leaves its outputs' shapes unknown (infer_shapes.ts).
 *
 * @example
 * ```ts
 * import { SHAPE_INFERENCE_RULES } from "./mod.ts";
 * SHAPE_INFERENCE_RULES.has("Conv"); // true
 * ```
 * @module
 */
import type { ShapeRule } from "./rule.ts";
import { ELEMENTWISE_SHAPE_RULES } from "./elementwise.ts";
import { BROADCAST_SHAPE_RULES } from "./broadcast.ts";
import { LINEAR_SHAPE_RULES } from "./linear.ts";
import { CONV_POOL_SHAPE_RULES } from "./conv_pool.ts";
import { RESIZE_SHAPE_RULES } from "./resize.ts";
import { RESHAPE_SHAPE_RULES } from "./reshape.ts";
import { GATHER_CONCAT_SHAPE_RULES } from "./gather_concat.ts";
import { SLICE_PAD_SHAPE_RULES } from "./slice_pad.ts";
import { REDUCE_SHAPE_RULES } from "./reduce.ts";
import { GENERATOR_SHAPE_RULES } from "./generators.ts";
import { RECURRENT_SHAPE_RULES } from "./recurrent.ts";
import { mergeShapeRuleFamilies } from "./registry.ts";

export { mergeShapeRuleFamilies } from "./registry.ts";
export type { InputFacts, OutputFacts, ShapeRule, ShapeRuleContext } from "./rule.ts";

/**
 * The rule families, by the name a duplicate-op error gives. Listed separately from
 * {@linkcode SHAPE_INFERENCE_RULES} so that a test can check each family's ops land in the registry.
 */
export const SHAPE_INFERENCE_FAMILIES: Readonly<
  Record<string, Readonly<Record<string, ShapeRule>>>
> = {
  elementwise: ELEMENTWISE_SHAPE_RULES,
  broadcast: BROADCAST_SHAPE_RULES,
  linear: LINEAR_SHAPE_RULES,
  conv_pool: CONV_POOL_SHAPE_RULES,
  resize: RESIZE_SHAPE_RULES,
  reshape: RESHAPE_SHAPE_RULES,
  gather_concat: GATHER_CONCAT_SHAPE_RULES,
  slice_pad: SLICE_PAD_SHAPE_RULES,
  reduce: REDUCE_SHAPE_RULES,
  generators: GENERATOR_SHAPE_RULES,
  recurrent: RECURRENT_SHAPE_RULES,
};

/**
 * Every op with a shape rule, merged from {@linkcode SHAPE_INFERENCE_FAMILIES}. An op defined in
 * two families stops this module from loading with a `ShapeError` `DUPLICATE_RULE` naming
 * the op and both families.
 */
export const SHAPE_INFERENCE_RULES: ReadonlyMap<string, ShapeRule> = mergeShapeRuleFamilies(
  SHAPE_INFERENCE_FAMILIES,
);
