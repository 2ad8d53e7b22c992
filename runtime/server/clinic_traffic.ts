/**
 * A clinic's traffic counters as the routes keep them (bytes in and out, last seen), apart
 * from the training state that holds them on the single server ({@linkcode ServerState}'s
 * clinic records have these fields): a scale-out front (`runtime/cluster/front_app.ts`)
 * terminates the channel without any training state and counts in a
 * {@linkcode TrafficCounters} of its own (docs/design/scale_out.md).
 *
 * @example
 * ```ts
 * import { TrafficCounters } from "./clinic_traffic.ts";
 * const t = new TrafficCounters();
 * t.clinic("a").bytesIn += 10;
 * console.log(t.clinic("a").bytesIn); // 10
 * ```
 * @module
 */

/**
 * One clinic's counters.
 *
 * @example
 * ```ts
 * import type { ClinicTraffic } from "./clinic_traffic.ts";
 * const c: ClinicTraffic = { bytesIn: 0, bytesOut: 0, lastSeen: null };
 * ```
 */
export interface ClinicTraffic {
  /** Bytes the clinic sent (handshakes and request bodies). */
  bytesIn: number;
  /** Bytes sent to the clinic (handshake replies and reply frames). */
  bytesOut: number;
  /** Milliseconds (the server's clock) of its last handshake or request; null: never. */
  lastSeen: number | null;
}

/**
 * Where the routes find a clinic's counters (`ServerState` on the single server).
 *
 * @example
 * ```ts
 * import type { TrafficBook } from "./clinic_traffic.ts";
 * function seen(b: TrafficBook, name: string) { return b.clinic(name).lastSeen; }
 * ```
 */
export interface TrafficBook {
  clinic(name: string): ClinicTraffic;
}

/**
 * Counters per clinic in memory, created on first use.
 *
 * @example
 * ```ts
 * import { TrafficCounters } from "./clinic_traffic.ts";
 * const t = new TrafficCounters();
 * t.clinic("b").bytesOut += 3;
 * console.log([...t.names()]); // ["b"]
 * ```
 */
export class TrafficCounters implements TrafficBook {
  readonly #byName = new Map<string, ClinicTraffic>();

  /** The counters of clinic `name` (zero on first use). */
  clinic(name: string): ClinicTraffic {
    let c = this.#byName.get(name);
    if (!c) this.#byName.set(name, c = { bytesIn: 0, bytesOut: 0, lastSeen: null });
    return c;
  }

  /** The clinics counted so far. */
  names(): IterableIterator<string> {
    return this.#byName.keys();
  }
}
