/**
 * The handshake replay guard of `runtime/server/handshake_timestamps.ts` shared by every front
 * of a study through the KV bucket `<study>-handshakes` (docs/design/scale_out.md, "Requests"):
 * the greatest TAI64N timestamp accepted per clinic static key (WireGuard paper §5.1; Noise
 * rev 34 §7.7: the first IK message is replayable). A timestamp is accepted by a
 * compare-and-set on the key's KV revision (`create` for a new key, `update` with the last
 * revision read), retried on a conflict, so of two fronts handed the same message 1 at once
 * exactly one accepts it.
 *
 * Keys are the public key in hex, values the 12-byte TAI64N label. `last()` answers from a
 * local copy kept current by a watch of the bucket (a quick pre-check); `accept()` always asks
 * NATS.
 *
 * @example
 * ```ts ignore
 * import { KvHandshakeTimestamps } from "./kv_handshake_timestamps.ts";
 * const t = await KvHandshakeTimestamps.open(link, names);
 * console.log(await t.accept(clinicKey, tai64nFromMs(Date.now()))); // true
 * ```
 * @module
 */
import type { KV, KvWatchEntry } from "@nats-io/kv";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { QueuedIterator } from "@nats-io/transport-node";
import { compareTai64n, TAI64N_BYTES } from "../../crypto/channel/tai64n.ts";
import type { NatsLink } from "./nats_link.ts";
import type { StudyNames } from "./study_names.ts";

/** Compare-and-set attempts before `accept` gives up (each conflict means another front won a race). */
const MAX_CAS_ATTEMPTS = 16;
/** The longest `open` waits for the bucket's current values before answering from a partial copy. */
const LOAD_WAIT_MS = 2_000;

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Whether `e` is JetStream refusing a write because the key's revision moved on. */
function isConflict(e: unknown): boolean {
  return e instanceof JetStreamApiError &&
    (e.code === JetStreamApiCodes.StreamWrongLastSequence ||
      e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/**
 * Last accepted handshake timestamp per clinic key, shared through NATS KV.
 *
 * @example
 * ```ts ignore
 * import { KvHandshakeTimestamps } from "./kv_handshake_timestamps.ts";
 * const t = await KvHandshakeTimestamps.open(link, names);
 * t.last(clinicKey); // undefined before its first handshake
 * ```
 */
export class KvHandshakeTimestamps {
  readonly #kv: KV;
  readonly #last = new Map<string, { ts: Uint8Array; revision: number }>();
  #watch: QueuedIterator<KvWatchEntry> | null = null;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  /** Opens the study's handshakes bucket (made by `ensureStudyResources`) and loads it. */
  static async open(link: NatsLink, n: StudyNames): Promise<KvHandshakeTimestamps> {
    const t = new KvHandshakeTimestamps(await link.kvm.open(n.handshakes));
    // The watch first delivers every key's last value, then the updates of the other fronts.
    t.#watch = await t.#kv.watch();
    const loaded = Promise.withResolvers<void>();
    (async () => {
      for await (const e of t.#watch!) {
        if (e.operation === "PUT" && e.value.length === TAI64N_BYTES) {
          t.#remember(e.key, e.value, e.revision);
        }
        if (e.delta === 0) loaded.resolve();
      }
    })().catch(() => {}).finally(() => loaded.resolve());
    const status = await t.#kv.status();
    if (status.values === 0) loaded.resolve();
    // last() is only a pre-check (accept() asks NATS), so a slow load must not block a front.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([loaded.promise, new Promise((r) => timer = setTimeout(r, LOAD_WAIT_MS))]);
    clearTimeout(timer);
    return t;
  }

  /** How many clinic keys have a timestamp known here. */
  get size(): number {
    return this.#last.size;
  }

  /** The last accepted timestamp of `publicKey` known here (other fronts' within a round trip). */
  last(publicKey: Uint8Array): Uint8Array | undefined {
    return this.#last.get(hex(publicKey))?.ts.slice();
  }

  /**
   * Accepts `timestamp` from `publicKey` when it is greater than the last accepted one, by
   * compare-and-set on the KV revision; false for a replayed or stale one (also when another
   * front accepted the same timestamp a moment before).
   *
   * @throws what NATS throws (unreachable, no bucket), and an `Error` after 16 lost races in a
   *   row (a storm of handshakes from one key).
   */
  async accept(publicKey: Uint8Array, timestamp: Uint8Array): Promise<boolean> {
    const key = hex(publicKey);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const entry = await this.#kv.get(key);
      const live = entry !== null && entry.operation === "PUT";
      if (live) {
        this.#remember(key, entry.value, entry.revision);
        if (compareTai64n(timestamp, entry.value) <= 0) return false;
      }
      try {
        const revision = live
          ? await this.#kv.update(key, timestamp, entry.revision)
          : await this.#kv.create(key, timestamp);
        this.#remember(key, timestamp, revision);
        return true;
      } catch (e) {
        if (!isConflict(e)) throw e; // another front wrote first: read again
      }
    }
    throw new Error(
      `handshake timestamp of key ${
        key.slice(0, 16)
      }…: ${MAX_CAS_ATTEMPTS} compare-and-set conflicts in a row`,
    );
  }

  /** Stops following the bucket. */
  close(): void {
    this.#watch?.stop();
  }

  #remember(key: string, ts: Uint8Array, revision: number): void {
    const known = this.#last.get(key);
    if (known === undefined || revision > known.revision) {
      this.#last.set(key, { ts: Uint8Array.from(ts), revision });
    }
  }
}
