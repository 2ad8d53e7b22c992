/**
 * How an error crosses the raw-side pipe: the serving side turns it into an error frame's
 * header (class name, stable code, message), the parent's stub turns the header back into the
 * same class with the same code (`RawSideError`, `NoiseError`, `TypeError`, `RangeError`), so
 * callers on either side of the pipe branch on `code` alike. Anything else arrives as
 * `RawSideError` `REMOTE` with its message.
 *
 * @example
 * ```ts
 * import { errorFromHeader, errorHeader } from "./error_header.ts";
 * import { RawSideError } from "./error.ts";
 * const back = errorFromHeader(errorHeader(new RawSideError("UNKNOWN_STEP", "no step 1:0")));
 * console.log((back as RawSideError).code); // UNKNOWN_STEP
 * ```
 * @module
 */
import { isNoiseError, NoiseError, type NoiseErrorCode } from "../../../crypto/errors.ts";
import { isRawSideErrorCode, RawSideError } from "./error.ts";

/**
 * What an error frame's header holds.
 *
 * @example
 * ```ts
 * import type { ErrorHeader } from "./error_header.ts";
 * const h: ErrorHeader = { name: "RawSideError", code: "UNKNOWN_STEP", message: "no forward pass is waiting" };
 * ```
 */
export interface ErrorHeader {
  /** The error class name (`RawSideError`, `NoiseError`, `TypeError`, ...). */
  name: string;
  /** Its stable code, when it has one. */
  code?: string;
  message: string;
}

/**
 * The header of the error frame that answers a failed call.
 *
 * @example
 * ```ts
 * import { errorHeader } from "./error_header.ts";
 * console.log(errorHeader(new Error("boom")).code); // REMOTE
 * ```
 */
export function errorHeader(e: unknown): ErrorHeader {
  if (e instanceof RawSideError || isNoiseError(e)) {
    return { name: e.name, code: e.code, message: e.message };
  }
  if (e instanceof TypeError || e instanceof RangeError) {
    return { name: e.name, message: e.message };
  }
  return { name: "Error", code: "REMOTE", message: e instanceof Error ? e.message : String(e) };
}

/**
 * The error an error frame's header stands for.
 *
 * @example
 * ```ts
 * import { errorFromHeader } from "./error_header.ts";
 * console.log(errorFromHeader({ name: "RangeError", message: "batch 9" }).name); // RangeError
 * ```
 */
export function errorFromHeader(h: ErrorHeader): Error {
  const msg = String(h?.message ?? "unknown error");
  if (h?.name === "NoiseError" && typeof h.code === "string") {
    return new NoiseError(h.code as NoiseErrorCode, msg);
  }
  if (h?.name === "RawSideError" && isRawSideErrorCode(h.code)) {
    return new RawSideError(h.code, msg);
  }
  if (h?.name === "TypeError") return new TypeError(msg);
  if (h?.name === "RangeError") return new RangeError(msg);
  return new RawSideError("REMOTE", `raw side: ${msg}`);
}
