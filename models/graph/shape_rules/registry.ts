/**
 * Building the shape rule registry from named rule families, refusing an op defined twice
 * (as the gradient rule registry does, models/grad/rules/registry.ts): merging plain objects
 * by spread would let a later family silently replace an earlier family's rule, so a slip
 * could not be told from an override. Here every op has exactly one rule, and a second
 * definition stops the module from loading.
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
  const rules = new Map<string, ShapeRule>();
  const familyOf = new Map<string, string>();
  for (const [family, ops] of Object.entries(families)) {
    for (const [op, rule] of Object.entries(ops)) {
      const first = familyOf.get(op);
      if (first !== undefined) {
        throw new ShapeError(
          null,
          `shape rule for op ${op} is defined in two families: ${first} and ${family}`,
          "DUPLICATE_RULE",
        );
      }
      familyOf.set(op, family);
      rules.set(op, rule);
    }
  }
  return rules;
}
