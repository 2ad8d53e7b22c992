/**
 * Building the gradient rule registry from named rule families, refusing an op defined
 * twice (`models/op_families.ts`) or both given a rule and declared non-differentiable.
 *
 * @example
 * ```ts
 * import { mergeRuleFamilies } from "./registry.ts";
 * import type { GradRule } from "../rule.ts";
 * const neg: GradRule = (_n, [g], ctx) => [ctx.emit1("Neg", [g!])];
 * const rules = mergeRuleFamilies({ unary: { Neg: neg } });
 * console.log(rules.has("Neg")); // true
 * ```
 * @module
 */
import type { GradRule } from "../rule.ts";
import { GradError } from "../grad_error.ts";
import { mergeOpFamilies } from "../../op_families.ts";

/**
 * Merges rule families (family name → op type → rule) into one map by op type, in family
 * order.
 *
 * @param families the rule families, by a name used in errors (`"activation"`, `"pool"`)
 * @param nonDifferentiable ops declared to carry no gradient; none of them may have a rule
 * @throws {GradError} `DUPLICATE_RULE` naming the op and both families (or the family and
 *   the non-differentiable list) when an op is defined twice
 * @example
 * ```ts
 * import { mergeRuleFamilies } from "./registry.ts";
 * import type { GradRule } from "../rule.ts";
 * const id: GradRule = (_n, [g]) => [g];
 * try {
 *   mergeRuleFamilies({ shape: { Identity: id }, activation: { Identity: id } });
 * } catch (e) {
 *   // GradError DUPLICATE_RULE: gradient rule for op Identity is defined in two families: shape and activation
 * }
 * ```
 */
export function mergeRuleFamilies(
  families: Readonly<Record<string, Readonly<Record<string, GradRule>>>>,
  nonDifferentiable: ReadonlySet<string> = new Set(),
): Map<string, GradRule> {
  const rules = mergeOpFamilies(families, (op, first, second) =>
    new GradError(
      "DUPLICATE_RULE",
      `gradient rule for op ${op} is defined in two families: ${first} and ${second}`,
    ));
  for (const [family, ops] of Object.entries(families)) {
    const op = Object.keys(ops).find((o) => nonDifferentiable.has(o));
    if (op !== undefined) {
      throw new GradError(
        "DUPLICATE_RULE",
        `op ${op} has a gradient rule in family ${family} and is also listed as ` +
          `non-differentiable`,
      );
    }
  }
  return rules;
}
