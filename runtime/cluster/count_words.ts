/**
 * Counted nouns for log lines: `count(1, "clinic")` is "1 clinic", `count(3, "clinic")` "3 clinics".
 *
 * @example
 * ```ts
 * import { count } from "./count_words.ts";
 * console.log(count(1, "trainer"), count(2, "trainer")); // 1 trainer 2 trainers
 * ```
 * @module
 */

/**
 * `n` and `noun`, with an "s" unless `n` is 1.
 *
 * @example
 * ```ts
 * import { count } from "./count_words.ts";
 * console.log(count(0, "step")); // 0 steps
 * ```
 */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
