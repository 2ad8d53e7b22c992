/**
 * The clinic's raw-data side: the only code that touches patient records, and the sandboxed
 * process it runs in. One concept per file:
 *
 * - `api.ts` — {@linkcode RawSide}, the API between the raw side and the courier.
 * - `local_raw_side.ts` — {@linkcode LocalRawSide}, the in-process implementation (a facade):
 *   `step_ledger.ts` (retried steps never step an optimizer twice), `defences.ts` (noise,
 *   NoPeek, label protection), `clinic_checkpoint.ts`, `weight_relay.ts` (weights sealed to
 *   the next clinic), `model_export.ts`, `input_checks.ts`.
 * - `config.ts`, `load_raw_side.ts`, `predict_input.ts` — the process's configuration and
 *   what it loads from files.
 * - `flags.ts` (its Deno permissions), `main.ts` (its entry point), `process.ts` (spawning
 *   it), `wire.ts` (pipe frames), `service.ts` (the serving loop), `stub.ts` (the parent's
 *   end), `error_header.ts` (errors across the pipe), `error.ts` ({@linkcode RawSideError}).
 *
 * @example
 * ```ts
 * import { RAW_SIDE_ERROR_CODES, RawSideError } from "./mod.ts";
 * const e = new RawSideError("UNKNOWN_STEP", "no forward pass is waiting for step 1:0");
 * console.log(RAW_SIDE_ERROR_CODES.includes(e.code)); // true
 * ```
 * @module
 */
export type { RawSide, RawSideInfo, RawSideMode, WeightsRecipient } from "./api.ts";
export { LocalRawSide, type LocalRawSideConfig } from "./local_raw_side.ts";
export { isRawSideErrorCode, RAW_SIDE_ERROR_CODES, RawSideError, type RawSideErrorCode } from "./error.ts";
export { type RawSideProcessConfig, type RowSelection, validateRawSideConfig } from "./config.ts";
export { loadRawSide } from "./load_raw_side.ts";
export { loadPredictInput } from "./predict_input.ts";
export { defaultWasmFile, rawSideFlags } from "./flags.ts";
export { rawSideCommandArgs, RawSideProcess, type RawSideProcessOptions } from "./process.ts";
export { RawSideStub, type RawSideStubOptions } from "./stub.ts";
export { serveRawSide } from "./service.ts";
export { runRawSideMain } from "./main.ts";
