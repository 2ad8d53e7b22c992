/**
 * Building the gradient rule registry from named rule families, refusing an op defined
 * twice. Merging plain objects by spread would let a later family silently replace an
 * earlier family's rule (tfjs's `registerGradient` only warns on such an override, and its
 * own list of rules names several ops twice), so a slip could not be told from an override:
 * here every op has exactly one rule, and a second definition stops the module from loading.
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
  const rules = new Map<string, GradRule>();
  const familyOf = new Map<string, string>();
  for (const [family, ops] of Object.entries(families)) {
    for (const [op, rule] of Object.entries(ops)) {
      const first = familyOf.get(op);
      if (first !== undefined) {
        throw new GradError(
          "DUPLICATE_RULE",
          `gradient rule for op ${op} is defined in two families: ${first} and ${family}`,
        );
      }
      if (nonDifferentiable.has(op)) {
        throw new GradError(
          "DUPLICATE_RULE",
          `op ${op} has a gradient rule in family ${family} and is also listed as ` +
            `non-differentiable`,
        );
      }
      familyOf.set(op, family);
      rules.set(op, rule);
    }
  }
  return rules;
}
