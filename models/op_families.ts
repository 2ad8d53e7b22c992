/**
 * Merging per-op rule families (gradient rules, shape rules) into one registry that refuses
 * an op defined twice. Merging plain objects by spread would let a later family silently
 * replace an earlier family's rule (tfjs's `registerGradient` only warns on such an
 * override), so a slip could not be told from an override: here every op has exactly one
 * rule, and a second definition stops the module that builds the registry from loading.
 *
 * @example
 * ```ts
 * import { mergeOpFamilies } from "./op_families.ts";
 * const rules = mergeOpFamilies({ unary: { Neg: 1 }, binary: { Add: 2 } }, (op) => new Error(op));
 * console.log([...rules.keys()]); // ["Neg", "Add"]
 * ```
 * @module
 */

/**
 * Merges families (family name → op type → rule) into one map by op type, in family order.
 *
 * @param families the families, by a name used in errors
 * @param duplicate builds the error thrown for an op defined in two families
 * @throws whatever `duplicate` returns, for the first op defined twice
 * @example
 * ```ts
 * import { mergeOpFamilies } from "./op_families.ts";
 * try {
 *   mergeOpFamilies({ a: { Relu: 1 }, b: { Relu: 2 } }, (op, first, second) =>
 *     new Error(`${op} in ${first} and ${second}`));
 * } catch (e) {
 *   console.log((e as Error).message); // "Relu in a and b"
 * }
 * ```
 */
export function mergeOpFamilies<R>(
  families: Readonly<Record<string, Readonly<Record<string, R>>>>,
  duplicate: (op: string, firstFamily: string, secondFamily: string) => Error,
): Map<string, R> {
  const rules = new Map<string, R>();
  const familyOf = new Map<string, string>();
  for (const [family, ops] of Object.entries(families)) {
    for (const [op, rule] of Object.entries(ops)) {
      const first = familyOf.get(op);
      if (first !== undefined) throw duplicate(op, first, family);
      familyOf.set(op, family);
      rules.set(op, rule);
    }
  }
  return rules;
}
