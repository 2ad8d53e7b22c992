/**
 * One trainer replica of the scale-out, without its transport (docs/design/scale_out.md):
 * the server core (`runtime/server/server_core.ts`) over one replica of the server segment,
 * its round over the clinics assigned to it ({@linkcode TrainerRound}) and the rounds across
 * replicas through a round store ({@linkcode ReplicaRounds}). {@linkcode ReplicaTrainer.handle}
 * answers one bus request as the single server's session route would: the encoded reply, or
 * the HTTP status and `{code, message}` of the refusal (`runtime/server/http_error.ts`); a
 * request of a clinic this trainer does not serve is refused with 503 `NOT_OWNER` (the
 * clinic retries, and its next try reaches the owner). `trainer.ts` puts the membership, the
 * shard ring and a JetStream worker around it; the tests drive it directly.
 *
 * Replicas run `schedule: "splitfed"` only (relayed or private fronts; `secagg` refused): inside
 * a trainer its clinics step on its one replica (with `serverBatch: "merge"` their concurrent
 * steps share server batches), and the replicas are averaged at each round's end.
 *
 * Every applied step is logged in {@linkcode ReplicaTrainer.applied} (and, with `appliedLog`,
 * appended to that file as JSON lines `{"clinic","stepId","round","t"}`), so a test can check
 * that no (clinic, step id) is applied twice in the surviving lineage.
 *
 * @example
 * ```ts
 * import { ReplicaTrainer } from "./replica_trainer.ts";
 * import { MemoryRoundStore } from "./round_store.ts";
 * // const t = await ReplicaTrainer.create(config, deps, { id: "t1", store: new MemoryRoundStore(), local: ["a"] });
 * // const reply = await t.handle({ id: "x", clinic: "a", payload, redelivered: false });
 * ```
 * (tests/runtime/cluster/replica_trainer_test.ts serves as the running example.)
 * @module
 */
import type { ServerConfig, ServerDeps } from "../server/server_config.ts";
import { createServerCore, type ServerCore } from "../server/server_core.ts";
import { toHttpError } from "../server/http_error.ts";
import { MESSAGE_TYPES, parseStepId } from "../protocol/mod.ts";
import type { BusReply, BusRequest } from "./bus_wire.ts";
import { checkReplicaSchedule } from "./replica_schedule.ts";
import { ReplicaRounds } from "./replica_rounds.ts";
import type { RoundStore } from "./round_store.ts";
import { TrainerRound } from "./trainer_round.ts";


/**
 * The profile phase of a STEP's time at a trainer, from its arrival to its reply (waiting for
 * the clinic's earlier request and for the request lock included).
 *
 * @example
 * ```ts
 * import { HELD_STEP } from "./replica_trainer.ts";
 * console.log(HELD_STEP); // trainer STEP held (queues + handle)
 * ```
 */
export const HELD_STEP = "trainer STEP held (queues + handle)";

/**
 * Options of {@linkcode ReplicaTrainer.create}.
 *
 * @example
 * ```ts
 * import type { ReplicaTrainerOptions } from "./replica_trainer.ts";
 * import { MemoryRoundStore } from "./round_store.ts";
 * const o: ReplicaTrainerOptions = { id: "t1", store: new MemoryRoundStore(), local: ["a", "b"] };
 * ```
 */
export interface ReplicaTrainerOptions {
  /** The trainer's id (membership key, partial names). */
  id: string;
  /** Where the round partials go. */
  store: RoundStore;
  /** The clinics this trainer serves at start. */
  local: readonly string[];
  /** Milliseconds between looks at the store while waiting for the other partials (default 100). */
  pollMs?: number;
  /** A file to append each applied step to (JSON lines); none: kept in memory only. */
  appliedLog?: string;
}

/**
 * One applied training step.
 *
 * @example
 * ```ts
 * import type { AppliedStep } from "./replica_trainer.ts";
 * const s: AppliedStep = { clinic: "a", stepId: "0:3", round: 0, t: 0 };
 * ```
 */
export interface AppliedStep {
  clinic: string;
  stepId: string;
  round: number;
  /** When it was applied (ms, the trainer's clock). */
  t: number;
}


/**
 * A trainer replica.
 *
 * @example
 * ```ts
 * import { ReplicaTrainer } from "./replica_trainer.ts";
 * console.log(typeof ReplicaTrainer.create); // "function"
 * ```
 */
export class ReplicaTrainer {
  readonly id: string;
  readonly core: ServerCore;
  readonly round: TrainerRound;
  readonly rounds: ReplicaRounds;
  /** The steps applied on this replica, in order. */
  readonly applied: AppliedStep[] = [];
  /** The round restored from the store at start (null: a fresh study). */
  readonly resumedRound: number | null;
  readonly #appliedLog: Deno.FsFile | null;
  /** Each clinic's requests, one at a time (the single server's per-session queue). */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** The silence watch (`#watchSilence`). */
  readonly #watch: ReturnType<typeof setInterval>;

  private constructor(o: { id: string; core: ServerCore; round: TrainerRound; rounds: ReplicaRounds; resumedRound: number | null; appliedLog: Deno.FsFile | null }) {
    this.id = o.id;
    this.core = o.core;
    this.round = o.round;
    this.rounds = o.rounds;
    this.resumedRound = o.resumedRound;
    this.#appliedLog = o.appliedLog;
    this.#watch = setInterval(() => this.#watchSilence(), Math.max(100, Math.min(1000, o.round.timeoutMs / 4)));
    const enc = new TextEncoder();
    o.core.state.afterStep = (c, stepId) => {
      const s: AppliedStep = { clinic: c.name, stepId, round: parseStepId(stepId)?.epoch ?? -1, t: o.core.ctx.now() };
      this.applied.push(s);
      this.#appliedLog?.writeSync(enc.encode(JSON.stringify(s) + "\n"));
    };
  }

  /**
   * Builds the replica (the server core without checkpoint directory: the round partials in
   * the store are the checkpoint) and restores it from the last complete round in the store.
   *
   * @throws {ClusterError} `BAD_SCHEDULE` for a schedule replicas cannot run; whatever
   *   `createServerCore` throws for a config that cannot work.
   */
  static async create(config: ServerConfig, deps: ServerDeps, o: ReplicaTrainerOptions): Promise<ReplicaTrainer> {
    checkReplicaSchedule(config);
    const log = deps.log ?? ((line: string) => console.log(line));
    let round: TrainerRound | undefined;
    // The core runs one shared segment for its clinics ("parallel" inside the trainer, which
    // also lets serverBatch "merge" batch them); the round says "splitfed" to the clinics.
    const core = await createServerCore({ ...config, schedule: "parallel", checkpointDir: undefined }, { ...deps, log }, {
      schedule: (order, so, now) => (round = new TrainerRound(order, so, now, [])),
    });
    const rounds = new ReplicaRounds(core, round!, o.store, { id: o.id, log, pollMs: o.pollMs });
    let resumedRound: number | null;
    try {
      resumedRound = await rounds.restore();
      // Its clinics join as newcomers do: a partial this trainer wrote before a restart
      // still covers them for the round.
      await rounds.takeOver(o.local, { start: true });
    } catch (e) {
      await core.close();
      throw e;
    }
    const appliedLog = o.appliedLog ? await Deno.open(o.appliedLog, { append: true, create: true }) : null;
    return new ReplicaTrainer({ id: o.id, core, round: round!, rounds, resumedRound, appliedLog });
  }

  /** The clinics this trainer serves now, in the study's order. */
  get local(): string[] {
    return this.round.local;
  }

  /** Serves `local` from now on (takeover or hand-over, `ReplicaRounds.takeOver`). */
  async setLocal(local: readonly string[]): Promise<void> {
    await this.rounds.takeOver(local);
  }

  /**
   * Answers bus request `r`: the encoded reply, or the refusal's status, code and message
   * (as the single server's HTTP route would send them); 503 `NOT_OWNER` for a clinic this
   * trainer does not serve. A clinic's requests are handled one at a time, in arrival order.
   */
  handle(r: BusRequest): Promise<BusReply> {
    // A clinic sends its next request only after the last reply, but the bus can hand over
    // a copy of one still in work (a front's retry after a bus timeout, a redelivery past the
    // ack wait): one at a time, the copy finds the first's cached reply (a merged STEP checks
    // its order outside the lock, so two copies at once would both pass).
    const prev = this.#queues.get(r.clinic) ?? Promise.resolve();
    const t0 = performance.now();
    const next = prev.then(() => this.#handle(r)).finally(() => {
      // From the request's arrival to its reply, queues included: what the front's round trip
      // less this is the messaging alone (bench:clinics --replicas).
      if (r.payload[0] === MESSAGE_TYPES.STEP) this.core.ctx.profile.add(HELD_STEP, performance.now() - t0);
    });
    const tail = next.catch(() => {});
    this.#queues.set(r.clinic, tail);
    void tail.then(() => this.#queues.get(r.clinic) === tail && this.#queues.delete(r.clinic));
    return next;
  }

  async #handle(r: BusRequest): Promise<BusReply> {
    if (!this.round.order.includes(r.clinic) || !this.round.local.includes(r.clinic)) {
      return { status: 503, error: { code: "NOT_OWNER", message: `trainer ${this.id} does not serve clinic ${r.clinic} (retry: its owner will answer)` } };
    }
    try {
      const payload = await this.core.answer(r.clinic, r.payload);
      // The deferred update runs once the reply is on its way (the worker replies on return).
      setTimeout(() => this.core.afterReply(), 0);
      return { status: 200, payload };
    } catch (e) {
      const h = toHttpError(e);
      if (h.status >= 500) this.core.ctx.log(`trainer ${this.id}: internal error on a request of ${r.clinic}: ${(e as Error)?.message ?? e}`);
      const body = await h.getResponse().json().catch(() => null) as { error?: { code: string; message: string } } | null;
      return { status: h.status, error: body?.error ?? { code: "INTERNAL", message: h.message } };
    } finally {
      this.rounds.check();
    }
  }

  /**
   * Drops this trainer's clinics that were silent past the turn timeout. On a single server
   * any clinic's `TURN_REQUEST` drops the silent ones; here only this trainer's own clinics
   * ask it, so when all of them are gone nobody would, and the other replicas would wait for
   * this trainer's partial forever.
   */
  #watchSilence(): void {
    const { ctx, lock } = this.core;
    void lock.run(() => {
      if (!this.round.local.some((c) => this.round.holds(c))) return Promise.resolve();
      const ev = this.round.poll("", ctx.now());
      for (const d of ev.skipped) ctx.log(`clinic ${d} offline, dropped from round ${this.round.epoch} (its front is not averaged; it rejoins next round)`);
      return Promise.resolve();
    }).then(() => this.rounds.check());
  }

  /** Stops waiting for rounds and releases the replica. */
  async stop(): Promise<void> {
    clearInterval(this.#watch);
    await this.rounds.stop();
    await this.core.close();
    this.#appliedLog?.close();
  }
}
