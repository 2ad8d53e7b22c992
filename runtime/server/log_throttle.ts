/**
 * A log that says the same kind of thing about the same source at most once per window:
 * a refused handshake is logged once per key or address per `windowMs` (default 10 s), and
 * the next line that gets through says how many were left out meanwhile. A client sending
 * 500 refused handshakes a second then costs one log line per 10 s, not 50 KB/s (docs/design/security_model.md).
 *
 * @example
 * ```ts
 * import { LogThrottle } from "./log_throttle.ts";
 * const lines: string[] = [];
 * const t = new LogThrottle((l) => lines.push(l), 10_000);
 * for (let ms = 0; ms <= 10_000; ms += 1000) t.log("addr 10.0.0.9", "handshake refused", ms);
 * console.log(lines); // ["handshake refused", "handshake refused (9 more like it in the last 10 s)"]
 * ```
 * @module
 */

interface Window {
  at: number;
  suppressed: number;
}

/**
 * The throttled log.
 *
 * @example
 * ```ts
 * import { LogThrottle } from "./log_throttle.ts";
 * const t = new LogThrottle(console.log);
 * t.log("k", "once", 0);
 * t.log("k", "not printed", 1);
 * ```
 */
export class LogThrottle {
  readonly #sink: (line: string) => void;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #windows = new Map<string, Window>();

  /**
   * @param sink where the lines that get through go
   * @param windowMs at most one line per key per this many ms (default 10,000)
   * @param maxKeys keys remembered at most (default 10,000; the oldest are forgotten)
   */
  constructor(sink: (line: string) => void, windowMs = 10_000, maxKeys = 10_000) {
    this.#sink = sink;
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  /** Logs `line` about `key` at `now` (ms), unless a line about `key` went out less than a window ago. */
  log(key: string, line: string, now: number): void {
    const w = this.#windows.get(key);
    if (w !== undefined && now - w.at < this.#windowMs) {
      w.suppressed++;
      return;
    }
    const more = w && w.suppressed > 0
      ? ` (${w.suppressed} more like it in the last ${Math.round((now - w.at) / 1000)} s)`
      : "";
    this.#windows.delete(key);
    if (this.#windows.size >= this.#maxKeys) {
      this.#windows.delete(this.#windows.keys().next().value!);
    }
    this.#windows.set(key, { at: now, suppressed: 0 });
    this.#sink(line + more);
  }
}
