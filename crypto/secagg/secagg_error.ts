/**
 * The error class of secure aggregation (`crypto/secagg/`), with one `as const` list of codes
 * that gives both the type and a runtime check (docs/design/secure_aggregation.md#errors).
 *
 * @module
 */

/**
 * Every code a {@link SecAggError} can carry.
 *
 * - `INVALID_PARAMS`: a parameter out of its range (threshold, clip range, scale, vector length);
 * - `OVERFLOW_RISK`: parameters under which the sum could wrap around Z_2^32;
 * - `NON_FINITE`: a weight is NaN or infinite;
 * - `TOO_MANY_SAMPLES`: a clinic's sample count exceeds the agreed maximum;
 * - `BAD_SHARE_INDEX`: a Shamir share index that is zero, duplicate, not an integer or over 255;
 * - `TOO_FEW_SHARES`: fewer shares than the threshold;
 * - `BELOW_THRESHOLD`: fewer clinics than the threshold are left in a round: it is refused
 *   (never completed), and the caller retries it;
 * - `UNKNOWN_CLINIC`: a name not in the roster or the allowlist, or a roster key that differs
 *   from the allowlist's;
 * - `SHARE_FORGED`, `SHARE_MISADDRESSED`, `SHARE_REPLAYED`, `SHARE_WRONG_STUDY`,
 *   `SHARE_MALFORMED`: an encrypted share that does not open as one sent by its named sender
 *   to this clinic in this round of this study;
 * - `OUT_OF_ORDER`: a protocol step called in the wrong state (each object is single-use);
 * - `MALFORMED_MESSAGE`: a message that does not decode or does not fit the round;
 * - `UNSAFE_REQUEST`: an unmasking request that would reveal both masks of one clinic.
 *
 * @example
 * ```ts
 * import { SECAGG_ERROR_CODES } from "./secagg_error.ts";
 * console.log(SECAGG_ERROR_CODES.includes("BELOW_THRESHOLD")); // true
 * ```
 */
export const SECAGG_ERROR_CODES = [
  "INVALID_PARAMS",
  "OVERFLOW_RISK",
  "NON_FINITE",
  "TOO_MANY_SAMPLES",
  "BAD_SHARE_INDEX",
  "TOO_FEW_SHARES",
  "BELOW_THRESHOLD",
  "UNKNOWN_CLINIC",
  "SHARE_FORGED",
  "SHARE_MISADDRESSED",
  "SHARE_REPLAYED",
  "SHARE_WRONG_STUDY",
  "SHARE_MALFORMED",
  "OUT_OF_ORDER",
  "MALFORMED_MESSAGE",
  "UNSAFE_REQUEST",
] as const;

/**
 * A code of {@link SECAGG_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { SecAggErrorCode } from "./secagg_error.ts";
 * const c: SecAggErrorCode = "SHARE_FORGED";
 * ```
 */
export type SecAggErrorCode = (typeof SECAGG_ERROR_CODES)[number];

/**
 * An error of secure aggregation, carrying a stable `code`; messages name the value and what
 * was expected, never a secret.
 *
 * @example
 * ```ts
 * import { SecAggError } from "./secagg_error.ts";
 * const e = new SecAggError("BELOW_THRESHOLD", "2 clinics left; the threshold is 3");
 * console.log(e.code, e.name); // BELOW_THRESHOLD SecAggError
 * ```
 */
export class SecAggError extends Error {
  /** Stable machine-readable reason. */
  readonly code: SecAggErrorCode;

  /**
   * @param code stable reason code
   * @param message what was found and what was expected (no secrets)
   * @param options standard `ErrorOptions` (e.g. `cause`)
   */
  constructor(code: SecAggErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SecAggError";
    this.code = code;
  }
}

/**
 * Whether `e` is a {@link SecAggError}, optionally with the given code.
 *
 * @example
 * ```ts
 * import { isSecAggError, SecAggError } from "./secagg_error.ts";
 * console.log(isSecAggError(new SecAggError("OUT_OF_ORDER", "x"), "OUT_OF_ORDER")); // true
 * ```
 */
export function isSecAggError(e: unknown, code?: SecAggErrorCode): e is SecAggError {
  return e instanceof SecAggError && (code === undefined || e.code === code);
}
