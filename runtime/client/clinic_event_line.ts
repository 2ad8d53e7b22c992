/**
 * A clinic's progress events as machine-readable lines: the courier writes each
 * {@linkcode ClinicEvent} (every step included) as `splitgate-event <JSON>` on its log
 * stream when asked to (`CourierConfig.events`), with the clinic's name, the time and its
 * traffic so far; the launcher hands them to `LaunchOptions.onEvent` instead of printing
 * them, and `deno task client --events json` prints each as one JSON line.
 *
 * An event carries step counts, losses, metrics and bytes: never a record or a tensor.
 *
 * @example
 * ```ts
 * import { eventLine, parseEventLine } from "./clinic_event_line.ts";
 * const line = eventLine({ clinic: "a", t: 0, bytesUp: 10, bytesDown: 20, kind: "finished", rounds: 3 });
 * console.log(parseEventLine(line)?.kind, parseEventLine("[a] waiting")); // finished null
 * ```
 * @module
 */
import type { ClinicEvent } from "./clinic.ts";

/** What starts an event line. */
export const EVENT_PREFIX = "splitgate-event ";

/**
 * An event with who, when and the traffic so far.
 *
 * @example
 * ```ts
 * import type { ClinicEventRecord } from "./clinic_event_line.ts";
 * const r: ClinicEventRecord = { clinic: "a", t: Date.now(), bytesUp: 0, bytesDown: 0, kind: "wait", holder: "b", round: 0 };
 * ```
 */
export type ClinicEventRecord = ClinicEvent & {
  clinic: string;
  /** When it happened (ms since the epoch). */
  t: number;
  /** Bytes the clinic has sent and received on the wire so far. */
  bytesUp: number;
  bytesDown: number;
};

/**
 * The line of an event.
 *
 * @example
 * ```ts
 * import { eventLine } from "./clinic_event_line.ts";
 * console.log(eventLine({ clinic: "a", t: 5, bytesUp: 1, bytesDown: 2, kind: "step", round: 0, step: 1, steps: 4, loss: 0.5 }));
 * // splitgate-event {"clinic":"a","t":5,"bytesUp":1,"bytesDown":2,"kind":"step","round":0,"step":1,"steps":4,"loss":0.5}
 * ```
 */
export function eventLine(r: ClinicEventRecord): string {
  return EVENT_PREFIX + JSON.stringify(r);
}

/**
 * The event of an event line; null for any other line (or a line that does not parse).
 *
 * @example
 * ```ts
 * import { parseEventLine } from "./clinic_event_line.ts";
 * console.log(parseEventLine('splitgate-event {"kind":"finished","rounds":2,"clinic":"a","t":0,"bytesUp":0,"bytesDown":0}')?.clinic); // a
 * ```
 */
export function parseEventLine(line: string): ClinicEventRecord | null {
  if (!line.startsWith(EVENT_PREFIX)) return null;
  try {
    const v = JSON.parse(line.slice(EVENT_PREFIX.length));
    return v && typeof v === "object" && typeof v.kind === "string" && typeof v.clinic === "string" ? v : null;
  } catch {
    return null;
  }
}
