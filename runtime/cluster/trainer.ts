/**
 * A trainer process of the scale-out (docs/design/scale_out.md, "Assignment" and "Faults"):
 * it joins the study's membership (KV heartbeats), takes the shards the rendezvous ring gives
 * it among the live trainers, pulls their requests with a {@linkcode ShardWorker} and answers
 * them with its {@linkcode ReplicaTrainer} (the single server's handlers on one replica of the
 * server segment; rounds across replicas through the object store).
 *
 * Ownership follows the membership at once, both ways. A trainer that leaves (dies) loses
 * its clinics to the others mid-round; they redo the round there (`replica_rounds.ts`). A
 * trainer that joins takes its shards from the others at once; a trainer that hands over a
 * clinic which stepped in the current round returns its replica to the round's start (that
 * clinic's steps would otherwise count twice), and its own clinics redo the round with it —
 * so start the trainers together, before the clinics (they wait two heartbeats after joining
 * to see each other before taking shards). Shards taken are reclaimed (their consumers
 * re-created) so requests the previous owner's open pulls swallowed come at once.
 *
 * @example
 * ```ts
 * import { Trainer } from "./trainer.ts";
 * // const t = await Trainer.start(config, deps, { link, id: "trainer-0" });
 * // ... await t.stop();
 * ```
 * (tests/runtime/cluster/trainer_test.ts serves as the running example.)
 * @module
 */
import { count } from "./count_words.ts";
import type { ServerConfig, ServerDeps } from "../server/server_config.ts";
import { DEFAULT_HEARTBEAT_MS, Membership } from "./membership.ts";
import { ensureStudyResources, type NatsLink } from "./nats_link.ts";
import { ReplicaTrainer } from "./replica_trainer.ts";
import { objectRoundStore } from "./round_store.ts";
import { ShardWorker } from "./shard_worker.ts";
import { ownerOf, shardsOf } from "./shard_ring.ts";
import { shardOf, type StudyNames, studyNames } from "./study_names.ts";

/**
 * Options of {@linkcode Trainer.start}.
 *
 * @example
 * ```ts
 * import type { TrainerOptions } from "./trainer.ts";
 * // const o: TrainerOptions = { link, id: "trainer-0", study: "demo" };
 * ```
 */
export interface TrainerOptions {
  link: NatsLink;
  /** The trainer's id: its membership key and the name of its partials. */
  id: string;
  /** The study id naming the stream, buckets and subjects (default `config.study.id`, else "splitgate"). */
  study?: string;
  /** Shards of the study (default 16); every front and trainer must agree. */
  shards?: number;
  /** Milliseconds between heartbeats (default: the membership's, 1000). */
  heartbeatMs?: number;
  /** Milliseconds to wait after joining before taking shards, to see trainers starting at the same time (default two heartbeats). */
  settleMs?: number;
  /** Milliseconds between looks at the object store while waiting for the other partials (default 100). */
  pollMs?: number;
  /** A file to append each applied step to (JSON lines, `ReplicaTrainer`). */
  appliedLog?: string;
}

/** The study id of a config when none is given: the same rule as the fronts. */
export const DEFAULT_TRAINER_STUDY = "splitgate";

/**
 * The clinics of `order` that trainer `id` owns among `members`.
 *
 * @example
 * ```ts
 * import { clinicsOwned } from "./trainer.ts";
 * console.log(clinicsOwned("t1", ["t1"], ["a", "b"], 16)); // ["a", "b"]
 * ```
 */
export function clinicsOwned(id: string, members: readonly string[], order: readonly string[], shards: number): string[] {
  return order.filter((c) => ownerOf(shardOf(c, shards), members) === id);
}

/**
 * A running trainer.
 *
 * @example
 * ```ts
 * import { Trainer } from "./trainer.ts";
 * console.log(typeof Trainer.start); // "function"
 * ```
 */
export class Trainer {
  readonly id: string;
  readonly replica: ReplicaTrainer;
  readonly names: StudyNames;
  readonly #membership: Membership;
  readonly #worker: ShardWorker;
  readonly #log: (line: string) => void;
  /** The trainers the ring is computed over now. */
  #members: string[];
  /** Ring changes run one at a time. */
  #changes: Promise<void> = Promise.resolve();
  #stopped = false;

  private constructor(o: { id: string; replica: ReplicaTrainer; names: StudyNames; membership: Membership; worker: ShardWorker; members: string[]; log: (line: string) => void }) {
    this.id = o.id;
    this.replica = o.replica;
    this.names = o.names;
    this.#membership = o.membership;
    this.#worker = o.worker;
    this.#members = o.members;
    this.#log = o.log;
  }

  /**
   * Starts the trainer: the study's stream, consumers and buckets (idempotent), the replica
   * restored from the object store, the membership, and the worker on its shards.
   *
   * @throws {ClusterError} `BAD_SCHEDULE` for a schedule replicas cannot run, `BAD_STUDY_NAME`,
   *   or the NATS failures of `ensureStudyResources` / `Membership.join`.
   */
  static async start(config: ServerConfig, deps: ServerDeps, o: TrainerOptions): Promise<Trainer> {
    const log = deps.log ?? ((line: string) => console.log(line));
    const names = studyNames(o.study ?? config.study?.id ?? DEFAULT_TRAINER_STUDY, o.shards);
    await ensureStudyResources(o.link, names);
    const store = objectRoundStore(await o.link.objm.open(names.rounds));
    const membership = await Membership.join(o.link, names, o.id, { heartbeatMs: o.heartbeatMs, log });
    // Trainers started together see each other within a heartbeat or two: waiting that long
    // before taking shards spares a ring change right away, whose shards given up would
    // swallow requests for up to the pull's expiry (their pending pulls stay open on the server).
    await new Promise((r) => setTimeout(r, o.settleMs ?? 2 * (o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS)));
    const live = withSelf(membership.live(), o.id);
    const order = config.order ?? deps.allowlist.entries.map((e) => e.name);
    let replica: ReplicaTrainer | undefined;
    try {
      const r = replica = await ReplicaTrainer.create(config, { ...deps, log }, { id: o.id, store, local: [], pollMs: o.pollMs, appliedLog: o.appliedLog });
      const members = live;
      await r.rounds.takeOver(clinicsOwned(o.id, members, order, names.shards), { start: true });
      const worker = new ShardWorker(o.link, names, (req) => r.handle(req), { log });
      const t = new Trainer({ id: o.id, replica: r, names, membership, worker, members, log });
      worker.setShards(shardsOf(o.id, members, names.shards));
      // Shards held before this start (a previous process of this id, a trainer gone, or one
      // that ran alone until now) may have pulls left open: reclaim them, at once when no
      // other trainer is live to hand them over.
      t.reclaimLater(worker.shards, live.length === 1 ? 0 : HANDOVER_MS);
      membership.onChange((l) => t.#membersChanged(l));
      log(
        `trainer ${o.id}: study ${names.study}, ${count(live.length, "trainer")} live, serving ${count(r.local.length, "clinic")} ` +
          `(${r.local.join(", ") || "none"}) on shards ${worker.shards.join(",") || "none"}` +
          (r.resumedRound === null ? "" : `; resumed at round ${r.resumedRound + 1}`),
      );
      return t;
    } catch (e) {
      await membership.leave().catch(() => {});
      await replica?.stop().catch(() => {});
      throw e;
    }
  }

  /** The trainers the ring is computed over now (this one included). */
  get members(): string[] {
    return [...this.#members];
  }

  /** The shards this trainer pulls now. */
  get shards(): number[] {
    return this.#worker.shards;
  }

  /** Stops pulling (answering what was pulled), leaves the membership, releases the replica. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#changes;
    await this.#worker.stop();
    await this.#membership.leave().catch((e) => this.#log(`trainer ${this.id}: leaving the membership failed: ${(e as Error).message}`));
    await this.replica.stop();
  }

  #membersChanged(live: string[]): void {
    if (this.#stopped) return;
    const next = withSelf(live, this.id);
    const gone = this.#members.filter((m) => !next.includes(m));
    const joined = next.filter((m) => !this.#members.includes(m));
    if (gone.length === 0 && joined.length === 0) return;
    if (gone.length > 0) this.#log(`trainer ${this.id}: ${gone.join(", ")} left the membership; taking over its shards`);
    if (joined.length > 0) this.#log(`trainer ${this.id}: ${joined.join(", ")} joined; handing over its shards`);
    // Shards of a trainer gone are reclaimed at once; a live one hands over as it sees the join.
    this.#apply(next, gone.length > 0 ? 0 : HANDOVER_MS);
  }

  /**
   * Recomputes the ring over `members`: shards given up stop first, shards taken start last,
   * and are reclaimed `reclaimMs` later ({@linkcode Trainer.reclaimLater}).
   */
  #apply(members: string[], reclaimMs = HANDOVER_MS): void {
    this.#changes = this.#changes.then(async () => {
      if (this.#stopped) return;
      this.#members = members;
      const order = this.replica.round.order;
      const local = clinicsOwned(this.id, members, order, this.names.shards);
      const shards = shardsOf(this.id, members, this.names.shards);
      const before = this.#worker.shards;
      this.#worker.setShards(before.filter((k) => shards.includes(k)));
      await this.replica.setLocal(local);
      this.#worker.setShards(shards);
      this.reclaimLater(shards.filter((k) => !before.includes(k)), reclaimMs);
      this.#log(`trainer ${this.id}: ${count(members.length, "trainer")} live; serving ${count(local.length, "clinic")} on shards ${shards.join(",") || "none"}`);
    }).catch((e) => this.#log(`trainer ${this.id}: reassigning shards failed: ${(e as Error).message}`));
  }

  /**
   * Re-creates the durable consumers of `shards` (`ShardWorker.reclaim`) after `ms`, if this
   * trainer still owns them. A trainer that stopped pulling a shard (it died, or handed the
   * shard over) leaves its pull requests open on the server until they expire (30 s), and the
   * requests delivered into them are lost until `ack_wait` (30 s) redelivers them; a new
   * consumer drops those pulls and delivers every unacked request at once. For a hand-over
   * the wait lets the previous owner stop pulling first (it does at the same round end), so
   * its consume loop does not pull from the new consumer.
   */
  reclaimLater(shards: readonly number[], ms: number): void {
    if (shards.length === 0) return;
    const run = async () => {
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      if (this.#stopped) return;
      const still = shards.filter((k) => this.#worker.shards.includes(k));
      if (still.length > 0) await this.#worker.reclaim(still);
    };
    this.#changes = this.#changes.then(run).catch((e) => this.#log(`trainer ${this.id}: reclaiming shards ${shards.join(",")} failed: ${(e as Error).message}`));
  }
}

/** Milliseconds a trainer taking a shard from a live one waits before re-creating its consumer. */
const HANDOVER_MS = 1_500;

function withSelf(live: readonly string[], id: string): string[] {
  return [...new Set([...live, id])].sort();
}
