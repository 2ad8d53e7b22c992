/**
 * Everything the server remembers between requests, and its checkpoint form: the server
 * segment ({@linkcode ServerModel}), the turn schedule, each clinic's bookkeeping (its last
 * applied step and cached reply, traffic), the relayed sealed weights and the step totals.
 *
 * `snapshot()` and `restore()` convert to and from {@linkcode CheckpointData}: a checkpoint
 * holds the model's tensors, each clinic's last cached reply (`reply/<clinic>`: a retried
 * request after a restart is answered, not applied twice) and the relayed blobs
 * (`relay/<clinic>`), with the rest in `meta`.
 *
 * @example
 * ```ts
 * import { ServerState } from "./server_state.ts";
 * // const state = new ServerState({ names, model, schedule, mode: "vanilla" });
 * // await writeCheckpoint(dir, state.snapshot());
 * ```
 * (tests/runtime/server/turns_test.ts, "checkpoint: written atomically after each turn,
 * resumed by a new server", serves as the running example.)
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import { type CheckpointData, writeCheckpoint } from "./checkpoint.ts";
import type { ServerModel } from "./server_model.ts";
import type { SplitMode } from "./split_model.ts";
import type { RoundSchedule } from "./round_schedule.ts";
import { RoundFronts } from "./round_fronts.ts";
import type { SecureFronts, SecureFrontsMeta } from "./secure_fronts.ts";
import type { SplitfedCopies } from "./splitfed_copies.ts";

/** Version of the checkpoint's `meta`; a server refuses another. */
export const CHECKPOINT_VERSION = 1;

/**
 * One clinic's bookkeeping.
 *
 * @example
 * ```ts
 * import type { ClinicRecord } from "./server_state.ts";
 * const c: ClinicRecord = { name: "a", lastKey: null, lastReply: null, progress: null, steps: 0, bytesIn: 0, bytesOut: 0, lastSeen: null };
 * ```
 */
export interface ClinicRecord {
  name: string;
  /** Dedupe key and encoded reply of the last state-changing request. */
  lastKey: string | null;
  lastReply: Uint8Array | null;
  /** Last completed training step id (any epoch). */
  progress: string | null;
  steps: number;
  bytesIn: number;
  bytesOut: number;
  lastSeen: number | null;
}

/**
 * The weights the last turn's clinic sealed to each other clinic.
 *
 * @example
 * ```ts
 * import type { Relay } from "./server_state.ts";
 * const r: Relay = { from: null, seq: 0, blobs: new Map() };
 * ```
 */
export interface Relay {
  from: string | null;
  seq: number;
  blobs: Map<string, Uint8Array>;
}

/** The checkpoint's `meta` as written. */
interface CheckpointMeta {
  version?: number;
  mode?: string;
  schedule?: { epoch: number; index: number };
  relay?: { from: string | null; seq: number };
  clinics?: Record<string, { lastKey: string | null; progress: string | null; steps: number }>;
  totalSteps?: number;
  /** Parallel schedules: the last ended round's fronts (`round_fronts.ts`). */
  fronts?: { epoch: number; clinics: string[]; samples: number[] } | null;
  /** `frontAggregation: "secagg"`: the round-number counter and the last round's aggregation. */
  secagg?: SecureFrontsMeta;
}

/** A copy of checkpoint data sharing no buffer with it (the model updates tensors in place). */
function deepCopy(ck: CheckpointData): CheckpointData {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of ck.tensors) tensors.set(k, { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() } as Tensor);
  return { meta: structuredClone(ck.meta), tensors };
}

/** How many recent steps the throughput of `GET /v1/status` is measured over. */
const RECENT_STEPS = 64;

/**
 * The server's state.
 *
 * @example
 * ```ts
 * import { ServerState } from "./server_state.ts";
 * function steps(s: ServerState) { return s.totalSteps; }
 * ```
 */
export class ServerState {
  readonly model: ServerModel;
  readonly schedule: RoundSchedule;
  readonly mode: SplitMode;
  /** Parallel schedules: the round's sample counts and sealed fronts. */
  readonly fronts: RoundFronts = new RoundFronts();
  /** `splitfed`: the per-clinic copies of the server segment. */
  readonly copies: SplitfedCopies | undefined;
  /** `frontAggregation: "secagg"`: the secure aggregation of the fronts (`secure_fronts.ts`). */
  secure: SecureFronts | undefined = undefined;
  /** Where checkpoints go; none: no checkpoints. */
  readonly checkpointDir: string | undefined;
  /** Every allowlisted clinic, in allowlist order. */
  readonly clinics: Map<string, ClinicRecord>;
  relay: Relay = { from: null, seq: 0, blobs: new Map() };
  /** Training steps applied, all clinics. */
  totalSteps = 0;
  /** The last steps' times and sample counts (for samples/s). */
  readonly #recent: { t: number; n: number }[] = [];
  /**
   * The state at the start of the current turn (a deep copy of the last checkpoint's data,
   * kept with or without a checkpoint directory): what `rollbackTurn` returns to.
   */
  #turnStart: CheckpointData | null = null;
  /** Runs after every checkpoint (the study's end writes its final files there); none: nothing. */
  afterCheckpoint: (() => Promise<void>) | undefined;
  /** Runs after each applied training step (a scale-out trainer's applied-step log); none: nothing. */
  afterStep: ((c: ClinicRecord, id: string) => void) | undefined;

  constructor(o: {
    names: readonly string[];
    model: ServerModel;
    schedule: RoundSchedule;
    mode: SplitMode;
    checkpointDir?: string;
    copies?: SplitfedCopies;
  }) {
    this.model = o.model;
    this.copies = o.copies;
    this.schedule = o.schedule;
    this.mode = o.mode;
    this.checkpointDir = o.checkpointDir;
    this.clinics = new Map(o.names.map((name) => [name, {
      name,
      lastKey: null,
      lastReply: null,
      progress: null,
      steps: 0,
      bytesIn: 0,
      bytesOut: 0,
      lastSeen: null,
    }]));
  }

  /** The record of an allowlisted clinic. */
  clinic(name: string): ClinicRecord {
    const c = this.clinics.get(name);
    if (!c) throw new RangeError(`clinic ${JSON.stringify(name)}: expected a clinic of the allowlist`);
    return c;
  }

  /** Caches `reply` as the answer to a repeat of the request with dedupe key `key`. */
  remember(c: ClinicRecord, key: string, reply: Uint8Array): void {
    c.lastKey = key;
    c.lastReply = reply;
  }

  /** Counts an applied training step `id` of `samples` samples at time `now`. */
  countStep(c: ClinicRecord, id: string, samples: number, now: number): void {
    c.progress = id;
    c.steps++;
    this.totalSteps++;
    this.fronts.addSamples(c.name, samples);
    this.#recent.push({ t: now, n: samples });
    if (this.#recent.length > RECENT_STEPS) this.#recent.shift();
    this.afterStep?.(c, id);
  }

  /** Samples per second over the recent steps (0 before two steps). */
  samplesPerSec(): number {
    const recent = this.#recent;
    if (recent.length < 2) return 0;
    const span = (recent[recent.length - 1].t - recent[0].t) / 1000;
    const n = recent.slice(1).reduce((a, r) => a + r.n, 0);
    return span > 0 ? n / span : 0;
  }

  /** The state as checkpoint data (the model must be settled: `model.settle()`). */
  snapshot(): CheckpointData {
    const tensors = this.model.exportState();
    const clinicMeta: Record<string, unknown> = {};
    for (const c of this.clinics.values()) {
      clinicMeta[c.name] = { lastKey: c.lastKey, progress: c.progress, steps: c.steps };
      if (c.lastReply) tensors.set(`reply/${c.name}`, tensor("uint8", [c.lastReply.length], c.lastReply));
    }
    for (const [who, blob] of this.relay.blobs) tensors.set(`relay/${who}`, tensor("uint8", [blob.length], blob));
    const meta = {
      version: CHECKPOINT_VERSION,
      mode: this.mode,
      schedule: this.schedule.state,
      relay: { from: this.relay.from, seq: this.relay.seq },
      clinics: clinicMeta,
      totalSteps: this.totalSteps,
      ...(this.schedule.kind === "sequential" ? {} : { fronts: this.fronts.snapshot(tensors) }),
      ...(this.secure ? { secagg: this.secure.snapshot() } : {}),
    };
    return { meta, tensors };
  }

  /**
   * Takes over the state of checkpoint `ck` (read from `where`); the turn holder's silence
   * is counted from `now`. Clinics since removed from the allowlist are dropped.
   *
   * @throws {TypeError} for a checkpoint of another version or mode, or of another model.
   */
  restore(ck: CheckpointData, now: number, where: string): void {
    const m = ck.meta as CheckpointMeta;
    if (m.version !== CHECKPOINT_VERSION || m.mode !== this.mode || !m.schedule || !m.relay || !m.clinics) {
      throw new TypeError(`checkpoint in ${where} is not a version ${CHECKPOINT_VERSION} ${this.mode} server checkpoint`);
    }
    this.model.loadState(ck.tensors);
    this.schedule.restore(m.schedule, now);
    const blobs = new Map<string, Uint8Array>();
    for (const [k, t] of ck.tensors) if (k.startsWith("relay/")) blobs.set(k.slice(6), t.data as Uint8Array);
    this.relay = { from: m.relay.from, seq: m.relay.seq, blobs };
    for (const [name, c] of Object.entries(m.clinics)) {
      const st = this.clinics.get(name);
      if (!st) continue; // a clinic since removed from the allowlist
      st.lastKey = c.lastKey;
      st.progress = c.progress;
      st.steps = c.steps;
      const r = ck.tensors.get(`reply/${name}`);
      st.lastReply = r ? (r.data as Uint8Array) : null;
    }
    this.totalSteps = m.totalSteps ?? 0;
    this.fronts.restore(m.fronts, ck.tensors);
    this.secure?.restore(m.secagg);
    this.copies?.clear();
  }

  /**
   * Settles the model's pending update and writes a checkpoint (when configured). Every
   * schedule change checkpoints, so the state written is that of the next turn's start,
   * and is kept in memory as the point {@linkcode ServerState.rollbackTurn} returns to.
   */
  async checkpoint(): Promise<void> {
    await this.model.settle();
    const snap = this.snapshot();
    if (this.checkpointDir) await writeCheckpoint(this.checkpointDir, snap);
    this.#turnStart = deepCopy(snap);
    await this.afterCheckpoint?.();
  }

  /** Marks the present state (just built or restored, nothing applied since) as the turn's start. */
  markTurnStart(): void {
    this.#turnStart = deepCopy(this.snapshot());
  }

  /**
   * Returns the model, the totals and every clinic's step bookkeeping to the start of the
   * current turn (the schedule and the relay have not changed since: changing them
   * checkpoints). For a turn holder that restarted from its own turn-start checkpoint.
   *
   * @throws {Error} when no turn start was recorded (`markTurnStart` or `checkpoint` first)
   */
  async rollbackTurn(now: number): Promise<void> {
    if (!this.#turnStart) throw new Error("rollbackTurn: no turn start recorded");
    // The deferred update of the turn's last step, if any, is superseded by the state loaded;
    // one that failed is too (loadState clears the failure).
    await this.model.settle().catch(() => {});
    this.restore(deepCopy(this.#turnStart), now, "memory (turn start)");
  }
}
