/**
 * The agreed form of the identifiers a private set intersection matches on. Both parties
 * declare the same format (in the study); a row whose identifier is not of that form is
 * refused before anything is hashed, so a typo or a different id scheme cannot silently
 * shrink the intersection.
 *
 * @example
 * ```ts
 * import { checkIdentifiers } from "./identifier_format.ts";
 * checkIdentifiers(["1001", "1002"], { pattern: "^[0-9]{1,12}$" }); // passes
 * ```
 * @module
 */
import { NoiseError } from "../errors.ts";

/** The declared form of an identifier. */
export interface IdentifierFormat {
  /** A regular expression every identifier must match in full (e.g. `^[0-9]{1,12}$`). */
  pattern: string;
  /** A human name of the scheme, used in error messages (default: the pattern). */
  name?: string;
}

/** Longest identifier accepted, in UTF-16 code units, whatever the pattern says. */
export const MAX_IDENTIFIER_LENGTH = 256;

/**
 * Checks every identifier against `format` and refuses duplicates.
 *
 * Messages name the row and the expected form, never the identifier itself (it is a patient
 * record; error text ends up in logs).
 *
 * @throws {NoiseError} `PSI_INVALID_IDENTIFIER` naming the first bad row (or both rows of a
 *   duplicate), or a pattern that is not a valid regular expression.
 * @example
 * ```ts
 * import { checkIdentifiers } from "./identifier_format.ts";
 * try {
 *   checkIdentifiers(["1001", "10 02"], { pattern: "^[0-9]+$", name: "patient_nbr" });
 * } catch (e) {
 *   console.log((e as Error).message); // row 1: identifier (5 characters) is not a patient_nbr (^[0-9]+$)
 * }
 * ```
 */
export function checkIdentifiers(ids: readonly string[], format: IdentifierFormat): void {
  let re: RegExp;
  try {
    re = new RegExp(format.pattern, "u");
  } catch (e) {
    throw new NoiseError(
      "PSI_INVALID_IDENTIFIER",
      `identifier pattern ${JSON.stringify(format.pattern)}: not a valid regular expression`,
      { cause: e },
    );
  }
  const what = format.name ? `${format.name} (${format.pattern})` : format.pattern;
  const seen = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== "string") {
      throw new NoiseError(
        "PSI_INVALID_IDENTIFIER",
        `row ${i}: identifier is a ${typeof id}, expected a string of the form ${what}`,
      );
    }
    // The full match is checked by hand: a pattern without ^…$ must still match the whole id.
    const m = id.length <= MAX_IDENTIFIER_LENGTH ? re.exec(id) : null;
    if (!m || m.index !== 0 || m[0].length !== id.length) {
      throw new NoiseError(
        "PSI_INVALID_IDENTIFIER",
        `row ${i}: identifier (${id.length} characters) is not a ${what}`,
      );
    }
    const before = seen.get(id);
    if (before !== undefined) {
      throw new NoiseError(
        "PSI_INVALID_IDENTIFIER",
        `rows ${before} and ${i}: the same identifier twice (one row per identifier expected)`,
      );
    }
    seen.set(id, i);
  }
}
