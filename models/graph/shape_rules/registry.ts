/**
 * Building the shape rule registry from named rule families, refusing an op defined twice
 * (`models/op_families.ts`, as the gradient rule registry does).
 *
 * @example
 * ```ts
 * import { mergeShapeRuleFamilies } from "./registry.ts";
 * import type { ShapeRule } from "./rule.ts";
 * const same: ShapeRule = (_n, [x]) => [x];
 * const rules = mergeShapeRuleFamilies({ unary: { Neg: same } });
 * console.log(rules.has("Neg")); // true
 * ```
 * @module
 */
import type { ShapeRule } from "./rule.ts";
import { ShapeError } from "./shape_error.ts";
import { mergeOpFamilies } from "../../op_families.ts";

/**
 * Merges rule families (family name → op type → rule) into one map by op type, in family
 * order.
 *
 * @param families the rule families, by a name used in errors (`"elementwise"`, `"reduce"`)
 * @throws {ShapeError} `DUPLICATE_RULE` naming the op and both families when an op is
 *   defined twice
 * @example
 * ```ts
 * import { mergeShapeRuleFamilies } from "./registry.ts";
 * import type { ShapeRule } from "./rule.ts";
 * const same: ShapeRule = (_n, [x]) => [x];
 * try {
 *   mergeShapeRuleFamilies({ elementwise: { Identity: same }, reshape: { Identity: same } });
 * } catch (e) {
 *   // ShapeError DUPLICATE_RULE: shape rule for op Identity is defined in two families: elementwise and reshape
 * }
 * ```
 */
export function mergeShapeRuleFamilies(
  families: Readonly<Record<string, Readonly<Record<string, ShapeRule>>>>,
): Map<string, ShapeRule> {
  return mergeOpFamilies(families, (op, first, second) =>
    new ShapeError(
      null,
      `shape rule for op ${op} is defined in two families: ${first} and ${second}`,
      "DUPLICATE_RULE",
    ));
}
