/**
 * The error class of the clinic's raw-data side: every refusal of {@linkcode "./api.ts".RawSide}
 * (a step it does not know, a tensor of the wrong shape, a method that does not apply to the
 * split mode) and every failure of the process plumbing carries a stable `code`, so the courier
 * and the launcher branch on `code`, and the code survives the trip over the process pipe.
 *
 * @example
 * ```ts
 * import { RawSideError } from "./error.ts";
 * try {
 *   throw new RawSideError("UNKNOWN_STEP", "no forward pass is waiting for step 3:7");
 * } catch (e) {
 *   if (e instanceof RawSideError && e.code === "UNKNOWN_STEP") {
 *     // re-run the forward pass
 *   }
 * }
 * ```
 * @module
 */

/**
 * Why the raw side refused a call.
 *
 * - `WRONG_MODE`: the method does not apply to this split mode (`head` in vanilla mode).
 * - `UNKNOWN_STEP`: no forward pass is waiting for that step id (never run, or evicted).
 * - `STEP_MISMATCH`: a step id reused for another epoch or batch.
 * - `OUT_OF_ORDER`: U-shape `backward` before `head` for the same step.
 * - `BAD_TENSOR`: a tensor of the wrong dtype, shape or size.
 * - `OUT_OF_RANGE`: an epoch or batch index outside what the data has.
 * - `NO_CHECKPOINT_DIR`, `CHECKPOINT_INVALID`: checkpoints not configured, or unreadable.
 * - `NO_KEY`: `exportWeights`/`importWeights` without this clinic's key pair.
 * - `WEIGHTS_INVALID`: relayed or restored weights that do not fit this model.
 * - `WEIGHTS_REPLAYED`: relayed weights not newer (epoch, seq) than the last accepted from
 *   their sender: a replay or a rollback by the relay.
 * - `EXPORT_FORBIDDEN`: `exportModel` while the clinic's policy does not allow it.
 * - `CONFIG_INVALID`: a process configuration that does not validate.
 * - `BUDGET_SPENT`: a training epoch that would exceed the clinic's `defence.budget`.
 * - `HIJACK_SUSPECTED`: the hijack guard's decoys say the server ignores the labels
 *   (`hijack_watch.ts`).
 * - `PROTOCOL`: a malformed frame on the process pipe.
 * - `CLOSED`: the raw side was closed, or its process ended.
 * - `REMOTE`: an unexpected error inside the raw-side process (its message is carried over).
 *
 * One list gives both the type and the runtime check of codes read back from the pipe.
 *
 * @example
 * ```ts
 * import { RAW_SIDE_ERROR_CODES } from "./error.ts";
 * console.assert(RAW_SIDE_ERROR_CODES.includes("BAD_TENSOR"));
 * ```
 */
export const RAW_SIDE_ERROR_CODES = [
  "WRONG_MODE",
  "UNKNOWN_STEP",
  "STEP_MISMATCH",
  "OUT_OF_ORDER",
  "BAD_TENSOR",
  "OUT_OF_RANGE",
  "NO_CHECKPOINT_DIR",
  "CHECKPOINT_INVALID",
  "NO_KEY",
  "WEIGHTS_INVALID",
  "WEIGHTS_REPLAYED",
  "EXPORT_FORBIDDEN",
  "CONFIG_INVALID",
  "BUDGET_SPENT",
  "HIJACK_SUSPECTED",
  "PROTOCOL",
  "CLOSED",
  "REMOTE",
] as const;

/**
 * One of {@linkcode RAW_SIDE_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { RawSideErrorCode } from "./error.ts";
 * const c: RawSideErrorCode = "BAD_TENSOR";
 * ```
 */
export type RawSideErrorCode = (typeof RAW_SIDE_ERROR_CODES)[number];

const CODES: ReadonlySet<string> = new Set(RAW_SIDE_ERROR_CODES);

/**
 * Whether `code` is a {@linkcode RawSideErrorCode} (for codes read back from the pipe).
 *
 * @example
 * ```ts
 * import { isRawSideErrorCode } from "./error.ts";
 * console.assert(isRawSideErrorCode("CLOSED") && !isRawSideErrorCode("NOPE"));
 * ```
 */
export function isRawSideErrorCode(code: unknown): code is RawSideErrorCode {
  return typeof code === "string" && CODES.has(code);
}

/**
 * An error of the raw-data side with a stable `code`.
 *
 * @example
 * ```ts
 * import { RawSideError } from "./error.ts";
 * const e = new RawSideError("WRONG_MODE", "head() needs mode ushaped, this clinic runs vanilla");
 * console.assert(e.code === "WRONG_MODE" && e.name === "RawSideError");
 * ```
 */
export class RawSideError extends Error {
  /** Stable machine-readable reason. */
  readonly code: RawSideErrorCode;

  /**
   * @param code stable reason code
   * @param message what was wrong, naming the value and what was expected (never record data)
   * @param options standard `ErrorOptions`
   */
  constructor(code: RawSideErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RawSideError";
    this.code = code;
  }
}
