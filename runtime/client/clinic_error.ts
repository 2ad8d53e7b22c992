/**
 * The error class of the clinic's driver, courier and launcher (the raw side has its own,
 * {@linkcode "./raw_side/error.ts".RawSideError}; server refusals arrive as
 * {@linkcode "./server_connection.ts".ServerRequestError}). Every refusal carries a `code` from
 * {@linkcode CLINIC_ERROR_CODES}, so callers and tests branch on the code, not on message text;
 * the message names the value and what was expected.
 *
 * @example
 * ```ts
 * import { ClinicError } from "./clinic_error.ts";
 * try {
 *   throw new ClinicError("CONFIG_MISMATCH", "the server trains with loss bce; this clinic's config says mse");
 * } catch (e) {
 *   if (e instanceof ClinicError && e.code === "CONFIG_MISMATCH") console.log("fix the clinic config");
 * }
 * ```
 * @module
 */

/**
 * Why a clinic run stopped.
 *
 * - `CONFIG_MISMATCH`: the clinic's config disagrees with the server's (turn order, peers,
 *   loss), found at the first `TURN` before any step.
 * - `CANNOT_RESUME`: after a server restart, the server and this clinic stand at steps of a
 *   turn that no rollback reconciles.
 * - `BAD_RAW_SIDE_REPLY`: the raw side answered without what the mode needs (labels in
 *   vanilla mode).
 * - `NOT_TRAINED`: `predict` with a checkpoint directory that holds no trained weights.
 * - `EXPORT_FORBIDDEN`: a full-model export outside `predict`, or against the clinic's policy.
 * - `EXPORT_INVALID`: the export names a file outside the checkpoint directory.
 * - `CHECKPOINT_DIR_INVALID`: the checkpoint directory is a file.
 * - `SYMLINK_REFUSED`: the data or checkpoint folder holds a symbolic link, which the
 *   sandbox's path grants would follow out of the folder.
 * - `FOLDER_OVERLAP`: the data or checkpoint folder holds a key, PSK or peers file, or the
 *   checkpoint folder holds or lies inside the code or Deno's module cache.
 * - `RAW_SIDE_FAILED`: the raw-data process failed (its own error line is the message).
 * - `COURIER_FAILED`: the courier process failed (its own error line is the message).
 * - `STUDY_MISMATCH`: the server's study is not the one this clinic pins (config `study`) or
 *   joined (its state folder's `study.json`), or it pins none on a first run without
 *   `--trust-study`; found before the first step (`study_gate.ts`).
 * - `FRONTS_INCOMPLETE`: at a parallel round's end the server's `FRONTS` reply lacks the
 *   front of a clinic it lists as through the round, or its lists disagree.
 *
 * @example
 * ```ts
 * import { CLINIC_ERROR_CODES } from "./clinic_error.ts";
 * console.log(CLINIC_ERROR_CODES.includes("CANNOT_RESUME")); // true
 * ```
 */
export const CLINIC_ERROR_CODES = [
  "CONFIG_MISMATCH",
  "CANNOT_RESUME",
  "BAD_RAW_SIDE_REPLY",
  "NOT_TRAINED",
  "EXPORT_FORBIDDEN",
  "EXPORT_INVALID",
  "CHECKPOINT_DIR_INVALID",
  "SYMLINK_REFUSED",
  "FOLDER_OVERLAP",
  "RAW_SIDE_FAILED",
  "COURIER_FAILED",
  "STUDY_MISMATCH",
  "FRONTS_INCOMPLETE",
] as const;

/**
 * One of {@linkcode CLINIC_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { ClinicErrorCode } from "./clinic_error.ts";
 * const c: ClinicErrorCode = "NOT_TRAINED";
 * ```
 */
export type ClinicErrorCode = (typeof CLINIC_ERROR_CODES)[number];

/**
 * An error of a clinic run with a stable `code`.
 *
 * @example
 * ```ts
 * import { ClinicError } from "./clinic_error.ts";
 * const e = new ClinicError("NOT_TRAINED", "predict: the checkpoint directory holds no trained weights (train first)");
 * console.log(e.name, e.code); // ClinicError NOT_TRAINED
 * ```
 */
export class ClinicError extends Error {
  /** Stable machine-readable reason. */
  readonly code: ClinicErrorCode;

  /**
   * @param code stable reason code
   * @param message what was wrong, naming the value and what was expected (never record data)
   * @param options standard `ErrorOptions`
   */
  constructor(code: ClinicErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClinicError";
    this.code = code;
  }
}
