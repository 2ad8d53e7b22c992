/**
 * The stderr lines of a clinic's two child processes as the operator sees them. Progress
 * lines are passed on (the raw side's prefixed with the clinic's name); the courier's result
 * line (`RESULT_PREFIX + JSON`) is taken as the result; and each process's fatal error line
 * (`courier [CODE]: …` from `courier_main.ts`, `raw side [CODE]: …` from `raw_side/main.ts`)
 * is held back, because the launcher reports it as the error it throws, which the entry
 * point prints: passed on as well, every error would reach the terminal twice.
 *
 * When the raw side fails on its own (a missing data file, a bad model, a key), the courier
 * only sees its pipe close: the raw side's line is the error, and the courier's `CLOSED` line,
 * a consequence, rides along as the thrown error's `cause` (shown with `SPLITGATE_DEBUG=1`).
 *
 * @example
 * ```ts
 * import { ChildLog } from "./child_log.ts";
 * const shown: string[] = [];
 * const log = new ChildLog("clinic-a", (l) => shown.push(l));
 * log.courierLine("[clinic-a] round 0: my turn");
 * log.courierLine("courier [CONFIG_MISMATCH]: the server trains with loss bce");
 * console.log(shown.length, log.failure(1, true).message); // 1 courier [CONFIG_MISMATCH]: the server trains with loss bce
 * ```
 * @module
 */
import { ClinicError } from "./clinic_error.ts";
import { RESULT_PREFIX } from "./courier_main.ts";

/** The raw-data process's fatal error line (`raw_side/main.ts`). */
const RAW_SIDE_FATAL = /^raw side( \[[A-Z_]+\])?: /;
/** The courier's fatal error line (`courier_main.ts`). */
const COURIER_FATAL = /^courier( \[|:)/;
/** ONNX Runtime's own warnings, which say nothing to an operator. */
const ORT_LOG = /\[[WE]:onnxruntime/;

/**
 * Sorts the two children's stderr lines into shown progress, the result, and held errors.
 *
 * @example
 * ```ts
 * import { ChildLog } from "./child_log.ts";
 * const log = new ChildLog("clinic-a", (l) => console.error(l));
 * log.rawSideLine("raw side [CONFIG_INVALID]: records.npz: file not found");
 * console.log(log.failure(1, false).code); // RAW_SIDE_FAILED
 * ```
 */
export class ChildLog {
  readonly #clinic: string;
  readonly #onLine: (line: string) => void;
  #result: unknown = undefined;
  #courierError = "";
  #rawError = "";

  /**
   * @param clinic the clinic's name (prefix of the raw side's lines and of its error)
   * @param onLine where shown lines go
   */
  constructor(clinic: string, onLine: (line: string) => void) {
    this.#clinic = clinic;
    this.#onLine = onLine;
  }

  /** The courier's result, once its result line arrived (undefined before). */
  get result(): unknown {
    return this.#result;
  }

  /** One stderr line of the raw-data process. */
  rawSideLine(l: string): void {
    if (ORT_LOG.test(l)) return;
    if (RAW_SIDE_FATAL.test(l)) {
      if (this.#rawError) this.#onLine(`[${this.#clinic} raw side] ${this.#rawError}`);
      this.#rawError = l;
      return;
    }
    if (l.trim()) this.#onLine(`[${this.#clinic} raw side] ${l}`);
  }

  /** One stderr line of the courier process. */
  courierLine(l: string): void {
    if (l.startsWith(RESULT_PREFIX)) {
      this.#result = JSON.parse(l.slice(RESULT_PREFIX.length));
      return;
    }
    if (COURIER_FATAL.test(l)) {
      if (this.#courierError) this.#onLine(this.#courierError);
      this.#courierError = l;
      return;
    }
    if (l.trim()) this.#onLine(l);
  }

  /**
   * The error of a failed run: the raw side's own error when it failed, else the courier's
   * (or its exit code when it printed none). The other held line is the error's `cause`.
   *
   * @example
   * ```ts
   * import { ChildLog } from "./child_log.ts";
   * console.log(new ChildLog("a", () => {}).failure(3, true).message); // clinic a: courier exited with code 3
   * ```
   */
  failure(courierCode: number, rawSideOk: boolean): ClinicError {
    if (!rawSideOk && this.#rawError) {
      const cause = this.#courierError ? { cause: new Error(this.#courierError) } : undefined;
      return new ClinicError("RAW_SIDE_FAILED", `clinic ${this.#clinic}: ${this.#rawError}`, cause);
    }
    const cause = this.#rawError ? { cause: new Error(this.#rawError) } : undefined;
    return new ClinicError(
      "COURIER_FAILED",
      this.#courierError || `clinic ${this.#clinic}: courier exited with code ${courierCode}`,
      cause,
    );
  }

  /** Passes on the held lines (a run that succeeded even so: nothing is lost). */
  flush(): void {
    if (this.#rawError) this.#onLine(`[${this.#clinic} raw side] ${this.#rawError}`);
    if (this.#courierError) this.#onLine(this.#courierError);
    this.#rawError = this.#courierError = "";
  }
}
