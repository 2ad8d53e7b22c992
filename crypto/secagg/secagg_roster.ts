/**
 * The roster of a secure-aggregation round: the clinics that take part (U1), in one canonical
 * order that fixes every clinic's Shamir share index (its position + 1), and the threshold t.
 *
 * Threshold rule: 2 ≤ t ≤ n and 2t > n. t ≥ 2 because with t = 1 every share *is* the secret;
 * 2t > n because then two disjoint sets of t clinics cannot both exist, so a server cannot ask
 * one group for a clinic's self-mask shares and another for its pairwise-seed shares (the
 * majority condition of Bell et al., CCS 2020, SecAgg+ §3). The default is ⌊n/2⌋ + 1: with 4
 * clinics, t = 3, so one may drop; with 10, t = 6, so four may drop.
 *
 * @example
 * ```ts
 * import { defaultThreshold } from "./secagg_roster.ts";
 * console.log(defaultThreshold(4), defaultThreshold(10)); // 3 6
 * ```
 * @module
 */
import { MAX_SHARE_INDEX } from "./shamir.ts";
import { SecAggError } from "./secagg_error.ts";

/**
 * The default threshold for n clinics, ⌊n/2⌋ + 1 (the smallest majority).
 *
 * @example
 * ```ts
 * import { defaultThreshold } from "./secagg_roster.ts";
 * console.log(defaultThreshold(5)); // 3
 * ```
 */
export function defaultThreshold(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * Refuses a threshold outside 2 ≤ t ≤ n, 2t > n, or a clinic count outside 2..255.
 *
 * @throws {SecAggError} `INVALID_PARAMS` naming t, n and the rule
 * @example
 * ```ts
 * import { checkThreshold } from "./secagg_roster.ts";
 * try {
 *   checkThreshold(2, 4);
 * } catch (e) {
 *   console.log((e as { code: string }).code); // INVALID_PARAMS
 * }
 * ```
 */
export function checkThreshold(t: number, n: number): void {
  if (!Number.isInteger(n) || n < 2 || n > MAX_SHARE_INDEX) {
    throw new SecAggError(
      "INVALID_PARAMS",
      `${n} clinics; secure aggregation needs 2..${MAX_SHARE_INDEX}`,
    );
  }
  if (!Number.isInteger(t) || t < 2 || t > n || 2 * t <= n) {
    throw new SecAggError(
      "INVALID_PARAMS",
      `threshold ${t} for ${n} clinics; expected an integer with 2 ≤ t ≤ ${n} and 2t > ${n}`,
    );
  }
}

/**
 * Refuses a list of clinic names that is not strictly increasing (so sorted and free of
 * duplicates: the order every clinic derives share indices from).
 *
 * @throws {SecAggError} `MALFORMED_MESSAGE` naming the first name out of order
 * @example
 * ```ts
 * import { checkSortedNames } from "./secagg_roster.ts";
 * checkSortedNames(["a", "b"], "roster");
 * try {
 *   checkSortedNames(["b", "a"], "roster");
 * } catch (e) {
 *   console.log((e as { code: string }).code); // MALFORMED_MESSAGE
 * }
 * ```
 */
export function checkSortedNames(names: readonly string[], what: string): void {
  for (let i = 1; i < names.length; i++) {
    if (!(names[i - 1] < names[i])) {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `${what}: ${JSON.stringify(names[i])} follows ${
          JSON.stringify(names[i - 1])
        }; expected strictly increasing names`,
      );
    }
  }
}

/**
 * The sign of clinic u's pairwise mask with v in u's masked input: +1 if u < v, −1 otherwise,
 * so the two masks of a pair cancel in the sum (Bonawitz et al., §3: Δ_{u,v}).
 *
 * @example
 * ```ts
 * import { maskSign } from "./secagg_roster.ts";
 * console.log(maskSign("a", "b"), maskSign("b", "a")); // 1 -1
 * ```
 */
export function maskSign(u: string, v: string): 1 | -1 {
  return u < v ? 1 : -1;
}
