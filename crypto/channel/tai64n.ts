/**
 * TAI64N timestamps for handshake message 1, WireGuard's defence against replayed first
 * messages (Donenfeld, "WireGuard: Next Generation Kernel Network Tunnel", §5.1 and
 * §5.4.2: "TAI64N timestamp"): the initiator puts a 12-byte timestamp in the encrypted
 * payload of message 1, and the responder remembers, per initiator static key, the greatest
 * one it accepted and refuses any message 1 whose timestamp is not greater.
 *
 * Layout (D. J. Bernstein, "TAI64, TAI64N"): 8 bytes big-endian TAI64 seconds label
 * (2^62 + 10 + Unix seconds, as WireGuard writes it) then 4 bytes big-endian nanoseconds.
 * Byte order makes comparison a plain lexicographic one. splitgate writes millisecond
 * resolution (the nanoseconds are a whole number of ms), and {@linkcode Tai64nClock} never
 * issues the same value twice, so two handshakes in one millisecond still increase.
 *
 * @example
 * ```ts
 * import { compareTai64n, tai64nFromMs, tai64nToMs } from "./tai64n.ts";
 * const a = tai64nFromMs(1_700_000_000_123), b = tai64nFromMs(1_700_000_000_124);
 * console.log(a.length, compareTai64n(a, b), tai64nToMs(a)); // 12 -1 1700000000123
 * ```
 * @module
 */

/** Bytes of a TAI64N label. */
export const TAI64N_BYTES = 12;

/** 2^62 + 10: the TAI64 label of the Unix epoch as WireGuard writes it. */
const TAI64_BASE = (1n << 62n) + 10n;

/**
 * The TAI64N label of Unix time `ms` (milliseconds).
 *
 * @throws {RangeError} for `ms` that is not a non-negative safe integer.
 * @example
 * ```ts
 * import { tai64nFromMs } from "./tai64n.ts";
 * console.log(tai64nFromMs(0)); // Uint8Array(12) [64, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0]
 * ```
 */
export function tai64nFromMs(ms: number): Uint8Array {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(`timestamp ${ms}: expected a non-negative integer number of milliseconds`);
  }
  const out = new Uint8Array(TAI64N_BYTES);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, TAI64_BASE + BigInt(Math.floor(ms / 1000)));
  v.setUint32(8, (ms % 1000) * 1_000_000);
  return out;
}

/**
 * Unix milliseconds of a TAI64N label (for log lines and "retry after" hints).
 *
 * @throws {RangeError} for a label that is not 12 bytes, or lies before the Unix epoch.
 * @example
 * ```ts
 * import { tai64nFromMs, tai64nToMs } from "./tai64n.ts";
 * console.log(tai64nToMs(tai64nFromMs(1234))); // 1234
 * ```
 */
export function tai64nToMs(label: Uint8Array): number {
  if (label.length !== TAI64N_BYTES) {
    throw new RangeError(`TAI64N label of ${label.length} bytes: expected ${TAI64N_BYTES}`);
  }
  const v = new DataView(label.buffer, label.byteOffset, label.byteLength);
  const secs = v.getBigUint64(0) - TAI64_BASE;
  if (secs < 0n) throw new RangeError("TAI64N label lies before the Unix epoch");
  return Number(secs) * 1000 + Math.floor(v.getUint32(8) / 1_000_000);
}

/**
 * Orders two TAI64N labels: -1, 0 or 1 (lexicographic over the big-endian bytes).
 *
 * @example
 * ```ts
 * import { compareTai64n, tai64nFromMs } from "./tai64n.ts";
 * console.log(compareTai64n(tai64nFromMs(5), tai64nFromMs(5))); // 0
 * ```
 */
export function compareTai64n(a: Uint8Array, b: Uint8Array): -1 | 0 | 1 {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * A clock of strictly increasing TAI64N labels: `max(now(), last + 1 ms)`. A clinic whose
 * wall clock steps back keeps increasing within one process; across restarts the server's
 * memory of the last label refuses handshakes until the clock passes it again.
 *
 * @example
 * ```ts
 * import { compareTai64n, Tai64nClock } from "./tai64n.ts";
 * const clock = new Tai64nClock(() => 1000);
 * console.log(compareTai64n(clock.next(), clock.next())); // -1
 * ```
 */
export class Tai64nClock {
  readonly #now: () => number;
  #last = -1;

  /** @param now Unix time in ms (default `Date.now`). */
  constructor(now: () => number = () => Date.now()) {
    this.#now = now;
  }

  /** The next label: the current time, or 1 ms after the last one issued if that is later. */
  next(): Uint8Array {
    this.#last = Math.max(Math.floor(this.#now()), this.#last + 1);
    return tai64nFromMs(this.#last);
  }
}
