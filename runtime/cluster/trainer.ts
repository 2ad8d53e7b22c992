/**
 * A trainer process of the scale-out (docs/design/scale_out.md, "Assignment" and "Faults"):
 * it joins the study's membership (KV heartbeats), takes the shards the rendezvous ring gives
 * it among the live trainers, pulls their requests with a {@linkcode ShardWorker} and answers
 * them with its {@linkcode ReplicaTrainer} (the single server's handlers on one replica of the
 * server segment; rounds across replicas through the object store).
 *
 * Ownership changes at once when a trainer disappears from the membership (failover: its
 * clinics move here mid-round and redo the round, `replica_rounds.ts`). A trainer that joins
 * a study past its first round serves nothing until the current round ends, and the others
 * hand it its shards then too: no clinic leaves a trainer that holds part of its round, and
 * no clinic is served by two. In a fresh study's first round (no round complete in the object
 * store) joins apply at once on every side, so trainers started together share the study from
 * the start (start them before the clinics: a clinic moved while stepping in round 0 redoes
 * the round on its new trainer). A trainer restarted before its heartbeat key expired (5 s)
 * never left, to the others: it takes its shards at once and its clinics redo the round.
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
import type { ServerConfig, ServerDeps } from "../server/server_config.ts";
import { Membership } from "./membership.ts";
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
  /** Milliseconds between heartbeats (default: the membership's). */
  heartbeatMs?: number;
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
  /** Joiners waiting for the round's end. */
  #pendingJoin = false;
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
    // A trainer restarted before its heartbeat key expired is still a member to the others.
    const wasMember = (await memberKeys(o.link, names)).includes(o.id);
    const membership = await Membership.join(o.link, names, o.id, { heartbeatMs: o.heartbeatMs, log });
    const live = withSelf(membership.live(), o.id);
    const order = config.order ?? deps.allowlist.entries.map((e) => e.name);
    let replica: ReplicaTrainer | undefined;
    try {
      const r = replica = await ReplicaTrainer.create(config, { ...deps, log }, { id: o.id, store, local: [], pollMs: o.pollMs, appliedLog: o.appliedLog });
      // Past the first round, with other trainers live, a joiner waits for the round's end
      // (the others decide the same from their round: `#fresh`).
      const members = r.round.epoch === 0 || live.length === 1 || wasMember ? live : live.filter((m) => m !== o.id);
      await r.rounds.takeOver(clinicsOwned(o.id, members, order, names.shards), { start: true });
      const worker = new ShardWorker(o.link, names, (req) => r.handle(req), { log });
      const t = new Trainer({ id: o.id, replica: r, names, membership, worker, members, log });
      t.#pendingJoin = !members.includes(o.id);
      worker.setShards(shardsOf(o.id, members, names.shards));
      r.rounds.onRoundEnd = () => t.#roundEnded();
      membership.onChange((l) => t.#membersChanged(l));
      log(
        `trainer ${o.id}: study ${names.study}, ${live.length} trainers live, serving ${r.local.length} clinics ` +
          `(${r.local.join(", ") || "none"}) on shards ${worker.shards.join(",") || "none"}` +
          (r.resumedRound === null ? "" : `; resumed at round ${r.resumedRound + 1}`) +
          (t.#pendingJoin ? "; joining at this round's end" : ""),
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
    const joined = next.filter((m) => !this.#members.includes(m) && m !== this.id);
    if (gone.length > 0) {
      this.#log(`trainer ${this.id}: ${gone.join(", ")} left the membership; taking over its shards`);
      // Joiners stay out until the round's end (they wait for it too).
      this.#apply(this.#members.filter((m) => next.includes(m)));
      if (joined.length > 0 && !this.#fresh()) this.#pendingJoin = true;
      else if (joined.length > 0) this.#apply(next);
    } else if (joined.length > 0 && this.#fresh()) {
      this.#apply(next);
    } else if (joined.length > 0) {
      this.#pendingJoin = true;
      this.#log(`trainer ${this.id}: ${joined.join(", ")} joined; its shards move at this round's end`);
    }
  }

  #roundEnded(): void {
    if (!this.#pendingJoin || this.#stopped) return;
    this.#pendingJoin = false;
    this.#apply(withSelf(this.#membership.live(), this.id));
  }

  /** Whether the study is in its first round (no round complete: joins apply at once). */
  #fresh(): boolean {
    return this.replica.round.epoch === 0;
  }

  /** Recomputes the ring over `members`: shards given up stop first, shards taken start last. */
  #apply(members: string[]): void {
    this.#changes = this.#changes.then(async () => {
      if (this.#stopped) return;
      this.#members = members;
      const order = this.replica.round.order;
      const local = clinicsOwned(this.id, members, order, this.names.shards);
      const shards = shardsOf(this.id, members, this.names.shards);
      const kept = this.#worker.shards.filter((k) => shards.includes(k));
      this.#worker.setShards(kept);
      await this.replica.setLocal(local);
      this.#worker.setShards(shards);
      this.#log(`trainer ${this.id}: ${members.length} trainers live; serving ${local.length} clinics on shards ${shards.join(",") || "none"}`);
    }).catch((e) => this.#log(`trainer ${this.id}: reassigning shards failed: ${(e as Error).message}`));
  }
}

/** The keys of the study's members bucket now (live trainers, and ones dead within the TTL). */
async function memberKeys(link: NatsLink, n: StudyNames): Promise<string[]> {
  const kv = await link.kvm.open(n.members);
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  return keys;
}

function withSelf(live: readonly string[], id: string): string[] {
  return [...new Set([...live, id])].sort();
}
