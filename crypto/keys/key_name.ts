/**
 * Names of key holders (clinics, servers), which also become file names.
 *
 * @module
 */
import { NoiseError } from "../errors.ts";

/** Allowed names: 1–64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit. */
export const KEY_NAME_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Checks a key holder's name. The pattern excludes path separators and a
 * leading dot, so `<dir>/<name>.key` can never escape `<dir>`.
 *
 * @throws {NoiseError} `INVALID_NAME` naming the value and the expected form.
 * @example
 * ```ts
 * import { validateKeyName } from "./key_name.ts";
 * validateKeyName("clinic-a");
 * try { validateKeyName("../etc"); } catch (e) { console.assert((e as { code: string }).code === "INVALID_NAME"); }
 * ```
 */
export function validateKeyName(name: unknown): string {
  if (typeof name !== "string" || !KEY_NAME_PATTERN.test(name)) {
    throw new NoiseError(
      "INVALID_NAME",
      `invalid key name ${JSON.stringify(name)}: expected 1-64 characters of ` +
        `[A-Za-z0-9._-], starting with a letter or digit`,
    );
  }
  return name;
}
