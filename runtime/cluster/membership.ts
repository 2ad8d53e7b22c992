/**
 * Which trainers of a study are alive: each re-puts its key in the KV bucket `<study>-members`
 * (TTL 5 s) every `heartbeatMs`, and the live trainers are the keys present
 * (docs/design/scale_out.md, "Subjects, buckets, names"). A trainer that leaves deletes its
 * key; one that dies stops re-putting and its key expires with the bucket's max age.
 *
 * nats-server 2.9 removes an expired KV entry without publishing a delete marker, so a KV watch
 * never sees the expiry (checked against Debian's 2.9.10: the key vanishes from `keys()` and
 * `get()` after the TTL, and the watch stays silent). The live list is therefore re-read with
 * `keys()` every heartbeat, and at once when the watch reports a put or a delete: a join or
 * leave is seen within a round trip, a death within TTL + one heartbeat (≤ 6 s by default).
 *
 * @example
 * ```ts ignore
 * import { Membership } from "./membership.ts";
 * const m = await Membership.join(link, names, "trainer-0");
 * m.onChange((live) => worker.setShards(shardsOf("trainer-0", live, names.shards)));
 * await m.leave();
 * ```
 * @module
 */
import type { KV, KvWatchEntry } from "@nats-io/kv";
import type { QueuedIterator } from "@nats-io/transport-node";
import { ClusterError } from "./cluster_error.ts";
import { MEMBERS_TTL_MS, type NatsLink } from "./nats_link.ts";
import type { StudyNames } from "./study_names.ts";

/** How often a member re-puts its key unless told (docs/design/scale_out.md: every second). */
export const DEFAULT_HEARTBEAT_MS = 1_000;

/** Trainer ids: usable as KV keys and stable pod names (`trainer-0`). */
/** How long a listing of the members may take before the heartbeats seen stand in for it. */
const LIST_TIMEOUT_MS = 2_000;

const MEMBER_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/**
 * This process's membership of a study's trainers, and its view of the others.
 *
 * @example
 * ```ts ignore
 * import { Membership } from "./membership.ts";
 * const m = await Membership.join(link, names, "trainer-1", { heartbeatMs: 500 });
 * console.log(m.live()); // [ "trainer-0", "trainer-1" ]
 * ```
 */
export class Membership {
  readonly #kv: KV;
  readonly #link: NatsLink;
  readonly #id: string;
  readonly #log: (line: string) => void;
  readonly #startedAt = new Date().toISOString();
  readonly #callbacks: ((live: string[]) => void)[] = [];
  #live: string[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #watch: QueuedIterator<KvWatchEntry> | null = null;
  #refreshing: Promise<void> = Promise.resolve();
  #again = false;
  #left = false;
  /** When the watch last saw each id's heartbeat (the fallback when a listing fails). */
  readonly #seen = new Map<string, number>();

  private constructor(link: NatsLink, kv: KV, id: string, log: (line: string) => void) {
    this.#link = link;
    this.#kv = kv;
    this.#id = id;
    this.#log = log;
  }

  /**
   * Puts `id` in the study's members bucket, keeps it there every `heartbeatMs` (default
   * 1000, below the bucket's 5 s TTL) and starts following the others. Resolves once the first
   * live list (which includes `id`) is read.
   *
   * @throws {ClusterError} `BAD_MEMBER_ID` for an id that cannot be a KV key.
   * @throws {RangeError} for a heartbeat that is not positive or not under the 5 s TTL.
   */
  static async join(
    link: NatsLink,
    n: StudyNames,
    id: string,
    o: { heartbeatMs?: number; log?: (line: string) => void } = {},
  ): Promise<Membership> {
    if (!MEMBER_ID.test(id)) {
      throw new ClusterError(
        "BAD_MEMBER_ID",
        `trainer id ${
          JSON.stringify(id)
        }: expected 1-128 characters of [A-Za-z0-9_.-], not starting with "."`,
      );
    }
    const heartbeatMs = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (!(heartbeatMs > 0 && heartbeatMs < MEMBERS_TTL_MS)) {
      throw new RangeError(
        `heartbeatMs ${heartbeatMs}: expected 0 < heartbeatMs < ${MEMBERS_TTL_MS} (the members TTL)`,
      );
    }
    const m = new Membership(
      link,
      await link.kvm.open(n.members),
      id,
      o.log ?? ((l) => console.error(l)),
    );
    await m.#refuseLiveTwin(heartbeatMs);
    await m.#beat();
    m.#watch = await m.#kv.watch({ include: "updates" });
    m.#follow(m.#watch);
    await m.#refresh();
    m.#timer = setInterval(() => void m.#beat().then(() => m.#refresh()), heartbeatMs);
    return m;
  }

  /** The live trainer ids, sorted. */
  live(): string[] {
    return [...this.#live];
  }

  /** Calls `cb` with the sorted live ids each time they change (not for the current list). */
  onChange(cb: (live: string[]) => void): void {
    this.#callbacks.push(cb);
  }

  /** Stops the heartbeat and removes `id` at once, so the others take its shards now. */
  async leave(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    clearInterval(this.#timer);
    this.#watch?.stop();
    await this.#refreshing;
    await this.#kv.delete(this.#id).catch((e) =>
      this.#log(`members: delete ${this.#id}: ${(e as Error).message}`)
    );
  }

  /**
   * Refuses to join under an id another live process holds: two trainers with one id would
   * serve the same shards and split their clinics' requests. An entry left by a process that
   * died (a restart within the TTL) stops changing; a live one is re-put within a heartbeat, so
   * an entry that changes over 1.5 heartbeats is taken.
   *
   * @throws {ClusterError} `BAD_MEMBER_ID` naming the id
   */
  async #refuseLiveTwin(heartbeatMs: number): Promise<void> {
    const first = await this.#kv.get(this.#id);
    if (!first || first.operation !== "PUT") return;
    // The holder's own heartbeat may be the default one, slower than ours.
    await new Promise((r) => setTimeout(r, Math.ceil(Math.max(heartbeatMs, DEFAULT_HEARTBEAT_MS) * 1.5)));
    const second = await this.#kv.get(this.#id);
    if (second && second.operation === "PUT" && second.revision !== first.revision) {
      throw new ClusterError(
        "BAD_MEMBER_ID",
        `trainer id ${JSON.stringify(this.#id)} is held by a live trainer (its heartbeat goes on): give each trainer its own --trainer-id`,
      );
    }
  }

  async #beat(): Promise<void> {
    if (this.#left) return;
    if (this.#link.nc.isClosed()) {
      // The process is going away without leave(): stop, and let the key expire.
      this.#log(`members: the NATS connection of ${this.#id} is closed; heartbeat stopped`);
      this.#left = true;
      clearInterval(this.#timer);
      this.#watch?.stop();
      return;
    }
    const value = JSON.stringify({ id: this.#id, startedAt: this.#startedAt, at: Date.now() });
    await this.#kv.put(this.#id, value).catch((e) =>
      this.#log(`members: heartbeat of ${this.#id} failed: ${(e as Error).message}`)
    );
  }

  #follow(watch: QueuedIterator<KvWatchEntry>): void {
    (async () => {
      for await (const e of watch) {
        if (e.operation === "PUT") this.#seen.set(e.key, Date.now());
        else this.#seen.delete(e.key);
        void this.#refresh();
      }
    })().catch((e) => this.#log(`members: watch ended: ${(e as Error).message}`));
  }

  /**
   * The keys of the bucket, or, when listing them fails or does not finish within
   * `LIST_TIMEOUT_MS`, the ids whose last heartbeat the watch saw within the TTL: a listing
   * that hangs (its ordered consumer stalled) must not freeze the live list, or a dead
   * trainer's clinics would never move.
   */
  async #keys(): Promise<string[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const list = (async () => {
        const keys: string[] = [];
        for await (const k of await this.#kv.keys()) keys.push(k);
        return keys;
      })();
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no key listing within ${LIST_TIMEOUT_MS} ms`)), LIST_TIMEOUT_MS);
      });
      return await Promise.race([list, late]);
    } catch (e) {
      this.#log(`members: listing failed (${(e as Error).message}); using the heartbeats seen`);
      const now = Date.now();
      this.#seen.set(this.#id, now); // this process is alive whatever the listing says
      return [...this.#seen].filter(([, at]) => now - at < MEMBERS_TTL_MS).map(([k]) => k);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Re-reads the keys; concurrent calls collapse into one more read after the current one. */
  #refresh(): Promise<void> {
    if (this.#left) return this.#refreshing;
    if (this.#again) return this.#refreshing;
    this.#again = true;
    // Chained on a settled promise either way: one failed refresh must not stop every later one.
    this.#refreshing = this.#refreshing.catch(() => {}).then(async () => {
      this.#again = false;
      if (this.#left) return;
      this.#set((await this.#keys()).sort());
    });
    return this.#refreshing;
  }

  #set(live: string[]): void {
    if (live.join("\n") === this.#live.join("\n")) return;
    this.#live = live;
    for (const cb of this.#callbacks) {
      try {
        cb([...live]);
      } catch (e) {
        this.#log(`members: a listener of [${live.join(", ")}] failed: ${(e as Error).message}`);
      }
    }
  }
}
