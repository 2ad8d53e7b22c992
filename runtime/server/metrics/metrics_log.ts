/**
 * The study's metrics as JSON Lines (jsonlines.org: one JSON value per line, UTF-8, `\n`)
 * in `metrics.jsonl` beside the server's checkpoint: a `{"kind":"study",…}` line when the
 * server starts (again after each restart, so a resumed study's file holds several), then a
 * `{"kind":"step",…}` line per applied step ({@linkcode StepPoint}). `deno task report <dir>`
 * renders the file. Appended as steps happen, so a study that ends (or a server that dies)
 * leaves its metrics up to its last step.
 *
 * @example
 * ```ts
 * import { MetricsLog, METRICS_FILE } from "./metrics_log.ts";
 * const dir = await Deno.makeTempDir();
 * const log = MetricsLog.open(dir);
 * log.append({ kind: "step", t: 0, clinic: "a", epoch: 0, step: 1, loss: 0.7, serverSeconds: 0.01, outsideSeconds: null, samples: 8 });
 * log.close();
 * console.log((await Deno.readTextFile(`${dir}/${METRICS_FILE}`)).split("\n").length); // 2
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { StudyInfo } from "./study_info.ts";
import type { StepPoint } from "./study_metrics.ts";

/** The file's name inside the checkpoint directory. */
export const METRICS_FILE = "metrics.jsonl";

/**
 * The line written when a server starts.
 *
 * @example
 * ```ts
 * import type { StudyLine } from "./metrics_log.ts";
 * function started(l: StudyLine) { return new Date(l.t); }
 * ```
 */
export interface StudyLine {
  kind: "study";
  /** When the server started (ms since the epoch). */
  t: number;
  study: StudyInfo;
  /** The allowlisted clinics. */
  clinics: string[];
}

/** A line of the file. */
export type MetricsLine = StudyLine | StepPoint;

/**
 * An open log (appends synchronously: a line is a few hundred bytes, and a step's order in
 * the file is then its order in time).
 *
 * @example
 * ```ts
 * import { MetricsLog } from "./metrics_log.ts";
 * function record(log: MetricsLog) { log.append({ kind: "study", t: Date.now(), study: {} as never, clinics: [] }); }
 * ```
 */
export class MetricsLog {
  #file: Deno.FsFile | null;
  readonly path: string;
  #onError: (e: Error) => void;

  private constructor(path: string, file: Deno.FsFile, onError: (e: Error) => void) {
    this.path = path;
    this.#file = file;
    this.#onError = onError;
  }

  /**
   * Opens (creating) `dir/metrics.jsonl` for appending.
   *
   * @param onError told once if a later write fails (the log then stops; training goes on).
   */
  static open(dir: string, onError: (e: Error) => void = () => {}): MetricsLog {
    Deno.mkdirSync(dir, { recursive: true });
    const path = `${dir}/${METRICS_FILE}`;
    return new MetricsLog(path, Deno.openSync(path, { append: true, create: true }), onError);
  }

  /** Appends one line. */
  append(line: MetricsLine): void {
    if (!this.#file) return;
    try {
      const bytes = new TextEncoder().encode(JSON.stringify(line) + "\n");
      for (let off = 0; off < bytes.length;) off += this.#file.writeSync(bytes.subarray(off));
    } catch (e) {
      this.close();
      this.#onError(e as Error);
    }
  }

  /** Closes the file (appends after this are dropped). */
  close(): void {
    try {
      this.#file?.close();
    } catch { /* already closed */ }
    this.#file = null;
  }
}

/**
 * Parses the file's text; a torn last line (a server killed mid-write) is skipped.
 *
 * @throws {SyntaxError} naming the line for a bad line before the last.
 * @example
 * ```ts
 * import { parseMetricsLines } from "./metrics_log.ts";
 * console.log(parseMetricsLines('{"kind":"step","t":1}\n{"kind":"st').length); // 1
 * ```
 */
export function parseMetricsLines(text: string): MetricsLine[] {
  const lines = text.split("\n");
  const out: MetricsLine[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === "") return;
    try {
      out.push(JSON.parse(l));
    } catch (e) {
      if (i === lines.length - 1) return;
      throw new SyntaxError(`${METRICS_FILE} line ${i + 1}: expected one JSON value per line (${(e as Error).message})`);
    }
  });
  return out;
}
