/**
 * The rounds of `splitfed` across trainer replicas (docs/design/scale_out.md, "Rounds across
 * replicas", the SFLV1 rule of Thapa et al., AAAI 2022, Algorithm 1: the server-side models
 * are replaced by their sample-weighted average at each round's end). Each trainer's clinics
 * step on its one replica; when they are all through (or dropped), the trainer writes its
 * round partial (`round_partial.ts`) to the store, waits — outside the request lock, its
 * clinics being told to wait — until the partials of the round cover every clinic of the
 * study, and then, under the lock, every trainer computes the same average of the same
 * partials (sorted by name, so the replicas hold identical weights), takes every clinic's
 * record and front from them, publishes the round's fronts and opens the next round.
 *
 * The partials are the checkpoint: {@linkcode ReplicaRounds.restore} finds the last round
 * whose partials cover every clinic and starts after it.
 *
 * Takeover ({@linkcode ReplicaRounds.takeOver}): clinics that move to this trainer mid-round
 * (their trainer died) hold here the records of the last complete round (every trainer takes
 * every clinic's record at each round end), so they redo the round from its start (their
 * next step is refused as out of step and they resync), unless a partial of the dead trainer
 * already covers them. When this trainer already wrote its partial, its replica returns to
 * the round's base state for them and they go into a second partial.
 *
 * @example
 * ```ts
 * import { ReplicaRounds } from "./replica_rounds.ts";
 * // const rounds = new ReplicaRounds(core, round, store, { id: "t1", log: console.log });
 * // await rounds.restore(); ... after each answered request: rounds.check();
 * ```
 * (tests/runtime/cluster/replica_rounds_test.ts serves as the running example.)
 * @module
 */
import { count } from "./count_words.ts";
import type { Tensor } from "../../models/tensor.ts";
import type { ServerCore } from "../server/server_core.ts";
import { averageStates } from "../train/state_average.ts";
import {
  decodePartial,
  encodePartial,
  partialName,
  type PartialRecord,
  partialWeight,
  roundOfName,
  roundPrefix,
  type RoundPartial,
} from "./round_partial.ts";
import type { RoundStore } from "./round_store.ts";
import type { TrainerRound } from "./trainer_round.ts";

/**
 * Options of {@linkcode ReplicaRounds}.
 *
 * @example
 * ```ts
 * import type { ReplicaRoundsOptions } from "./replica_rounds.ts";
 * const o: ReplicaRoundsOptions = { id: "trainer-0", log: console.log, pollMs: 100 };
 * ```
 */
export interface ReplicaRoundsOptions {
  /** This trainer's id (the partials' names). */
  id: string;
  log: (line: string) => void;
  /** Milliseconds between looks at the store while waiting for the other partials (default 100). */
  pollMs?: number;
}

/**
 * One trainer's side of the rounds across replicas.
 *
 * @example
 * ```ts
 * import { ReplicaRounds } from "./replica_rounds.ts";
 * console.log(typeof ReplicaRounds.prototype.check); // "function"
 * ```
 */
export class ReplicaRounds {
  readonly #core: ServerCore;
  readonly #round: TrainerRound;
  readonly #store: RoundStore;
  readonly #o: Required<ReplicaRoundsOptions>;
  /** Partials this trainer wrote in the current round. */
  #written = 0;
  /** Local clinics already in one of this trainer's partials of the current round. */
  readonly #covered = new Set<string>();
  /** The replica's state at the current round's start (the last round's average). */
  #base: Map<string, Tensor>;
  /** Every clinic's record at the current round's start (what a clinic redoing the round returns to). */
  #startRecords = new Map<string, PartialRecord>();
  /** Decoded partials by name (they never change). */
  readonly #cache = new Map<string, RoundPartial>();
  #running: Promise<void> | null = null;
  #stopped = false;
  /** Runs after each round's end across replicas (the trainer moves shards to a joiner then). */
  onRoundEnd: ((round: number) => void) | undefined;

  constructor(core: ServerCore, round: TrainerRound, store: RoundStore, o: ReplicaRoundsOptions) {
    this.#core = core;
    this.#round = round;
    this.#store = store;
    this.#o = { pollMs: 100, ...o };
    this.#base = core.model.exportState();
    this.#markStart();
  }

  /** Takes the clinics' records as those of the round's start. */
  #markStart(): void {
    this.#startRecords = new Map([...this.#core.state.clinics.values()].map((c) => [c.name, {
      lastKey: c.lastKey,
      lastReply: c.lastReply,
      progress: c.progress,
      steps: c.steps,
    }]));
  }

  /**
   * Starts after the last round whose partials cover every clinic, if any: the replica holds
   * their average, every clinic its record, the fronts of that round are published. Returns
   * that round, or null (a fresh study).
   */
  async restore(): Promise<number | null> {
    const rounds = new Set<number>();
    for (const name of await this.#store.list("round/")) {
      const r = roundOfName(name);
      if (r !== null) rounds.add(r);
    }
    for (const r of [...rounds].sort((a, b) => b - a)) {
      const parts = await this.#partials(r);
      if (!covers(parts, this.#round.order)) continue;
      await this.#core.lock.run(() => this.#apply(r, parts));
      this.#o.log(`resumed from the object store: round ${r} (${parts.length} partials)`);
      return r;
    }
    return null;
  }

  /**
   * Looks whether the local round is complete (call after each answered request); if so,
   * writes this trainer's partial and waits for the round's end, in the background.
   */
  check(): void {
    if (this.#running || this.#stopped || !this.#round.localComplete) return;
    const r = this.#round.epoch;
    this.#running = this.#closeRound(r)
      .catch(async (e) => {
        this.#o.log(`round ${r}: closing across replicas failed: ${(e as Error).message}; trying again in 1 s`);
        await new Promise((res) => setTimeout(res, 1_000)); // the store may be back by then
      })
      .finally(() => {
        this.#running = null;
        this.check(); // the next round may be complete already (all local clinics dropped)
      });
  }

  /**
   * Serves `local` from now on (the shard ring changed; `start`: the trainer's first set).
   * Under the lock: clinics new here
   * that a partial of the current round already covers take their records from it and are
   * through; the others step from the round's start (from its base state when this trainer
   * already wrote its partial).
   */
  async takeOver(local: readonly string[], o: { start?: boolean } = {}): Promise<void> {
    await this.#core.lock.run(async () => {
      const before = new Set(this.#round.local);
      const newcomers = local.filter((c) => !before.has(c));
      const r = this.#round.epoch;
      const parts = newcomers.length > 0 ? await this.#partials(r) : [];
      const covered = new Set<string>();
      for (const p of parts) {
        for (const c of [...p.clinics, ...p.dropped]) {
          if (newcomers.includes(c) && !covered.has(c)) {
            covered.add(c);
            this.#setRecord(c, p);
          }
        }
      }
      const fresh = newcomers.filter((c) => !covered.has(c));
      const { fronts } = this.#core.state;
      const stepped = (c: string) => (fronts.samples.get(c) ?? 0) > 0 && !this.#covered.has(c);
      // A clinic handed over mid-round leaves its steps in this replica: they would count
      // twice once it redoes the round on its new trainer.
      const tainted = [...before].filter((c) => !local.includes(c) && stepped(c));
      let redo: string[] = [];
      if (tainted.length > 0 || (fresh.length > 0 && this.#written > 0)) {
        // Back to the round's base state (what this trainer's partials already hold stays
        // there): newcomers start from it, and the clinics whose steps it undoes redo the round.
        await this.#core.model.settle().catch(() => {});
        this.#core.model.loadState(this.#base);
        this.#core.model.clearPending();
        redo = local.filter((c) => before.has(c) && stepped(c));
        for (const c of [...redo, ...tainted]) {
          fronts.samples.delete(c);
          fronts.completed.delete(c);
          const rec = this.#startRecords.get(c);
          if (rec) this.#setRecordFrom(c, rec);
        }
        this.#round.restart(redo, this.#core.ctx.now());
      }
      this.#round.setLocal(local, covered, this.#core.ctx.now());
      for (const c of covered) this.#covered.add(c);
      if (o.start) {
        if (covered.size > 0) this.#o.log(`round ${r}: ${[...covered].join(", ")} already covered by a partial of this round`);
      } else if (newcomers.length > 0 || before.size !== local.length) {
        this.#o.log(
          `round ${r}: now serving ${count(local.length, "clinic")}` +
            (newcomers.length > 0 ? ` (took over ${newcomers.join(", ")}; ${covered.size} already covered by a partial)` : "") +
            (tainted.length > 0 ? `; handed over ${tainted.join(", ")} mid-round: the replica is back at the round's start` : "") +
            (redo.length > 0 ? `; ${redo.join(", ")} will redo the round` : ""),
        );
      }
    });
    this.check();
  }

  /** The replica's state at the current round's start (the last round's average). */
  get baseState(): ReadonlyMap<string, Tensor> {
    return this.#base;
  }

  /** Stops waiting for rounds (the trainer is stopping); resolves once the wait has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  /** Writes partials while the local round is complete, until the partials cover the study. */
  async #closeRound(r: number): Promise<void> {
    while (!this.#stopped && this.#round.epoch === r) {
      await this.#core.lock.run(() => this.#writeFresh(r));
      const parts = await this.#partials(r);
      if (covers(parts, this.#round.order)) {
        await this.#core.lock.run(async () => {
          if (this.#round.epoch !== r) return;
          await this.#apply(r, parts);
          await this.#core.state.checkpoint(); // the turn start and the study's end files
        });
        this.onRoundEnd?.(r);
        await this.#prune(r).catch((e) => this.#o.log(`round ${r}: pruning old partials failed: ${(e as Error).message}`));
        return;
      }
      await new Promise((res) => setTimeout(res, this.#o.pollMs));
    }
  }

  /** Under the lock: writes a partial of the local clinics through round `r` and not yet in one. */
  async #writeFresh(r: number): Promise<void> {
    const round = this.#round;
    if (round.epoch !== r || !round.localComplete) return;
    const fresh = round.local.filter((c) => !this.#covered.has(c));
    if (fresh.length === 0) return;
    const { state, model } = this.#core;
    await model.settle();
    const through = round.completed.filter((c) => fresh.includes(c));
    const p: RoundPartial = {
      round: r,
      trainer: this.#o.id,
      n: this.#written,
      clinics: through,
      dropped: round.dropped.filter((c) => fresh.includes(c)),
      samples: Object.fromEntries(through.map((c) => [c, state.fronts.samples.get(c) ?? 0])),
      state: model.exportState(),
      records: Object.fromEntries(fresh.map((c) => {
        const rec = state.clinic(c);
        return [c, { lastKey: rec.lastKey, lastReply: rec.lastReply, progress: rec.progress, steps: rec.steps }];
      })),
      fronts: Object.fromEntries(through.map((c) => [c, Object.fromEntries(state.fronts.completed.get(c) ?? new Map())])),
    };
    p.n = await this.#nextN(r);
    const name = partialName(r, this.#o.id, p.n);
    await this.#store.put(name, encodePartial(p));
    this.#written++;
    for (const c of fresh) this.#covered.add(c);
    this.#o.log(
      `round ${r}: partial ${name} written (${through.length} clinics through, ${p.dropped.length} dropped, ${partialWeight(p)} samples); waiting for the other replicas`,
    );
  }

  /**
   * Under the lock: ends round `r` from its partials — the replica holds their sample-weighted
   * average (the round's base state when no clinic trained), every clinic covered its record,
   * the round's fronts are published, and the next round opens.
   */
  async #apply(r: number, all: RoundPartial[]): Promise<void> {
    const { state, model, ctx } = this.#core;
    const parts = firstCover(all);
    const weighted = parts.map((p) => ({ state: p.state, weight: partialWeight(p) })).filter((w) => w.weight > 0);
    await model.settle().catch(() => {}); // superseded by the average
    model.loadState(weighted.length > 0 ? averageStates(weighted) : this.#base);
    model.clearPending();
    state.fronts.samples.clear();
    state.fronts.completed.clear();
    for (const p of parts) {
      for (const c of [...p.clinics, ...p.dropped]) this.#setRecord(c, p);
      for (const c of p.clinics) {
        state.fronts.addSamples(c, p.samples[c] ?? 0);
        state.fronts.complete(c, p.fronts[c] ?? {});
      }
    }
    const published = state.fronts.publish(r, this.#round.order);
    this.#round.restore({ epoch: r + 1, index: 0 }, ctx.now());
    this.#base = model.exportState();
    this.#written = 0;
    this.#covered.clear();
    this.#markStart();
    ctx.log(
      `round ${r} ended across replicas: ${parts.map((p) => `${p.trainer}-${p.n}`).join(", ")} averaged ` +
        `(${published.clinics.length}/${this.#round.order.length} clinics through, ${
          weighted.reduce((a, w) => a + w.weight, 0)
        } samples)`,
    );
  }

  /**
   * The number of this trainer's next partial of round `r`: one past those in the store (a
   * restarted trainer must not write over a partial the others may already have averaged).
   */
  async #nextN(r: number): Promise<number> {
    const mine = roundPrefix(r) + `${this.#o.id}-`;
    let n = 0;
    for (const name of await this.#store.list(mine)) {
      const rest = name.slice(mine.length);
      if (/^\d+$/.test(rest)) n = Math.max(n, Number(rest) + 1);
    }
    return n;
  }

  /** Deletes this trainer's partials of rounds before `r - 1` (none is read again: every live trainer has ended them). */
  async #prune(r: number): Promise<void> {
    if (!this.#store.delete) return;
    for (const name of await this.#store.list("round/")) {
      const k = roundOfName(name);
      if (k !== null && k < r - 1 && name.startsWith(roundPrefix(k) + `${this.#o.id}-`)) await this.#store.delete(name);
    }
  }

  /** Clinic `c`'s record as partial `p` holds it. */
  #setRecord(c: string, p: RoundPartial): void {
    const rec = p.records[c];
    if (rec) this.#setRecordFrom(c, rec);
  }

  /** Clinic `c`'s record set to `rec`. */
  #setRecordFrom(c: string, rec: PartialRecord): void {
    const st = this.#core.state.clinic(c);
    st.lastKey = rec.lastKey;
    st.lastReply = rec.lastReply;
    st.progress = rec.progress;
    st.steps = rec.steps;
  }

  /** The partials of round `r` in the store, sorted by name. */
  async #partials(r: number): Promise<RoundPartial[]> {
    const out: RoundPartial[] = [];
    for (const name of await this.#store.list(roundPrefix(r))) {
      let p = this.#cache.get(name);
      if (!p) {
        const bytes = await this.#store.get(name);
        if (!bytes) continue;
        p = decodePartial(bytes, name);
        this.#cache.set(name, p);
      }
      out.push(p);
    }
    return out;
  }
}

/** Whether `parts` cover every clinic of `order` (through or dropped). */
function covers(parts: readonly RoundPartial[], order: readonly string[]): boolean {
  const seen = new Set<string>();
  for (const p of parts) for (const c of [...p.clinics, ...p.dropped]) seen.add(c);
  return order.every((c) => seen.has(c));
}

/**
 * The partials that count, in name order: each clinic is taken from the first partial that
 * covers it, and a partial covering only clinics already taken is left out (a partial of a
 * trainer presumed dead that did write it, for instance).
 */
function firstCover(parts: readonly RoundPartial[]): RoundPartial[] {
  const seen = new Set<string>();
  const out: RoundPartial[] = [];
  for (const p of parts) {
    const own = [...p.clinics, ...p.dropped].filter((c) => !seen.has(c));
    if (own.length === 0) continue;
    for (const c of own) seen.add(c);
    out.push(p);
  }
  return out;
}
