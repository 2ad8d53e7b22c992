/**
 * The greatest handshake timestamp accepted from each clinic key, so that a replayed Noise
 * IK message 1 (Noise rev 34 §7.7: the first IK message is replayable) is refused — also
 * after a restart. WireGuard's rule (WireGuard paper §5.1, "TAI64N timestamp"): a message 1
 * whose encrypted timestamp is not greater than the last accepted one from that static key
 * is refused.
 *
 * Kept in `<checkpointDir>/handshake_timestamps.json` (`{"version": 1, "clinics": {<public
 * key hex>: <TAI64N hex>}}`), written atomically (temp file + fsync + rename, as the
 * checkpoint) before the handshake is answered, so a message 1 answered once is never
 * answered again, whatever the server's restarts. Without a checkpoint directory the memory
 * lasts as long as the process.
 *
 * A clinic's clock may step back (NTP) by less than the time since its last handshake
 * without effect; a clinic whose clock went back further is refused (`STALE_HANDSHAKE`)
 * until its clock passes the last accepted timestamp again.
 *
 * @example
 * ```ts
 * import { HandshakeTimestamps } from "./handshake_timestamps.ts";
 * import { tai64nFromMs } from "../../crypto/channel/tai64n.ts";
 * const t = await HandshakeTimestamps.load(undefined);
 * const key = new Uint8Array(32).fill(7);
 * console.log(await t.accept(key, tai64nFromMs(2)), await t.accept(key, tai64nFromMs(2))); // true false
 * ```
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic_file.ts";
import { compareTai64n, TAI64N_BYTES } from "../../crypto/channel/tai64n.ts";

/** File name of the timestamps in the checkpoint directory. */
export const HANDSHAKE_TIMESTAMPS_FILE = "handshake_timestamps.json";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function unhex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/**
 * Last accepted handshake timestamp per clinic static key.
 *
 * @example
 * ```ts
 * import { HandshakeTimestamps } from "./handshake_timestamps.ts";
 * const t = await HandshakeTimestamps.load(await Deno.makeTempDir());
 * console.log(t.size); // 0
 * ```
 */
export class HandshakeTimestamps {
  readonly #dir: string | undefined;
  readonly #last: Map<string, Uint8Array>;
  #writes: Promise<void> = Promise.resolve();

  private constructor(dir: string | undefined, last: Map<string, Uint8Array>) {
    this.#dir = dir;
    this.#last = last;
  }

  /**
   * Loads the timestamps kept in `dir` (none yet, or no `dir`: empty).
   *
   * @throws {TypeError} for a file that is not a timestamps file (naming it and the entry).
   * @example
   * ```ts
   * import { HandshakeTimestamps } from "./handshake_timestamps.ts";
   * const t = await HandshakeTimestamps.load(undefined);
   * ```
   */
  static async load(dir: string | undefined): Promise<HandshakeTimestamps> {
    const last = new Map<string, Uint8Array>();
    if (dir === undefined) return new HandshakeTimestamps(dir, last);
    const path = join(dir, HANDSHAKE_TIMESTAMPS_FILE);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new HandshakeTimestamps(dir, last);
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new TypeError(`${path}: not JSON; expected {"version": 1, "clinics": {...}}`);
    }
    const clinics = (parsed as { version?: unknown; clinics?: unknown } | null)?.clinics;
    if (
      (parsed as { version?: unknown })?.version !== 1 || clinics === null ||
      typeof clinics !== "object"
    ) {
      throw new TypeError(`${path}: expected {"version": 1, "clinics": {...}}`);
    }
    for (const [key, ts] of Object.entries(clinics as Record<string, unknown>)) {
      if (
        !/^[0-9a-f]{64}$/.test(key) || typeof ts !== "string" ||
        !new RegExp(`^[0-9a-f]{${2 * TAI64N_BYTES}}$`).test(ts)
      ) {
        throw new TypeError(
          `${path}: entry ${
            JSON.stringify(key.slice(0, 80))
          }: expected a 32-byte key in hex → a 12-byte TAI64N label in hex`,
        );
      }
      last.set(key, unhex(ts));
    }
    return new HandshakeTimestamps(dir, last);
  }

  /** How many clinic keys have a timestamp. */
  get size(): number {
    return this.#last.size;
  }

  /** The last accepted timestamp of `publicKey`, if any. */
  last(publicKey: Uint8Array): Uint8Array | undefined {
    return this.#last.get(hex(publicKey));
  }

  /**
   * Accepts `timestamp` from `publicKey` when it is greater than the last accepted one
   * (and persists it before resolving); false for a replayed or stale one. The check and
   * the update happen together, before any await, so of two concurrent handshakes with the
   * same message 1 only one is accepted.
   *
   * @throws what writing the file throws (the timestamp stays accepted in memory, so a
   *   replay is refused all the same).
   */
  async accept(publicKey: Uint8Array, timestamp: Uint8Array): Promise<boolean> {
    const key = hex(publicKey);
    const prev = this.#last.get(key);
    if (prev !== undefined && compareTai64n(timestamp, prev) <= 0) return false;
    this.#last.set(key, timestamp.slice());
    await this.#persist();
    return true;
  }

  /** Writes the whole table (serialised: the last write holds every accepted timestamp). */
  #persist(): Promise<void> {
    const dir = this.#dir;
    if (dir === undefined) return Promise.resolve();
    const write = this.#writes.then(() => writeAtomically(dir, this.#json()));
    this.#writes = write.catch(() => {});
    return write;
  }

  #json(): string {
    const clinics: Record<string, string> = {};
    for (const [k, v] of this.#last) clinics[k] = hex(v);
    return JSON.stringify({ version: 1, clinics });
  }
}

/** Replaces the timestamps file atomically (`writeFileAtomic`: temp file, fsync, rename). */
async function writeAtomically(dir: string, text: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, HANDSHAKE_TIMESTAMPS_FILE), new TextEncoder().encode(text));
}
