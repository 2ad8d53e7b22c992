/**
 * The raw side's bookkeeping of training steps by `stepId`: forward passes waiting for their
 * backward (`pending`), steps already applied (`done`), and the forward replies of the last
 * few applied steps. It is what makes a retried call safe: a repeated `forward` returns the
 * tensors it returned the first time (the front never runs twice, so BatchNorm statistics
 * move once), and a repeated `head` or `backward` of an applied step returns its first result
 * without stepping an optimizer again — the raw side's "cannot encrypt twice".
 *
 * Every table is bounded, oldest first out: a courier that never sends a backward cannot grow
 * the raw side's memory.
 *
 * @example
 * ```ts
 * import { StepLedger } from "./step_ledger.ts";
 * import { tensor } from "../../../models/tensor.ts";
 * const t = tensor("float32", [1, 1], new Float32Array([0]));
 * const ledger = new StepLedger();
 * ledger.addPending("1:0", { epoch: 1, batch: 0, saved: {}, target: t, activation: t, reply: { activation: t } });
 * ledger.markDone("1:0");
 * console.log(ledger.get("1:0")?.state); // "done"
 * ```
 * @module
 */
import type { Tensor } from "../../../models/tensor.ts";

/**
 * What a forward pass returns: the (possibly noised) cut activation, and in vanilla mode the
 * labels.
 *
 * @example
 * ```ts
 * import type { StepReply } from "./step_ledger.ts";
 * import { tensor } from "../../../models/tensor.ts";
 * const r: StepReply = { activation: tensor("float32", [1, 2], new Float32Array(2)) };
 * ```
 */
export interface StepReply {
  activation: Tensor;
  labels?: Tensor;
}

/**
 * What the U-shape head step returns: the loss and the gradient at the head's input.
 *
 * @example
 * ```ts
 * import type { HeadResult } from "./step_ledger.ts";
 * import { tensor } from "../../../models/tensor.ts";
 * const h: HeadResult = { loss: 0.69, gradHeadInput: tensor("float32", [1, 2], new Float32Array(2)) };
 * ```
 */
export interface HeadResult {
  loss: number;
  gradHeadInput: Tensor;
}

/**
 * A forward pass waiting for its backward: what the backward needs, and what was sent.
 *
 * @example
 * ```ts
 * import type { PendingStep } from "./step_ledger.ts";
 * function rows(p: PendingStep): number { return p.activation.dims[0]; }
 * ```
 */
export interface PendingStep {
  state: "pending";
  epoch: number;
  batch: number;
  /** The front's saved tensors for its backward graph. */
  saved: Record<string, Tensor>;
  target: Tensor;
  /** The clean activation (before the noise defence): NoPeek's Z, and the gradient's shape. */
  activation: Tensor;
  /** NoPeek's X (the raw batch), kept only when NoPeek is on. */
  x?: Tensor;
  reply: StepReply;
  /** The head step's result, once `head` ran (U-shape). */
  head?: HeadResult;
  /** A hijack-guard decoy (`hijack_watch.ts`): its gradient is scored, never applied. */
  decoy?: true;
}

/**
 * An applied step: enough to recognise a retry and answer it with the first result.
 *
 * @example
 * ```ts
 * import type { DoneStep } from "./step_ledger.ts";
 * const d: DoneStep = { state: "done", epoch: 1, batch: 0 };
 * ```
 */
export interface DoneStep {
  state: "done";
  epoch: number;
  batch: number;
  head?: HeadResult;
  decoy?: true;
}

/**
 * A step the ledger knows, tagged by its state.
 *
 * @example
 * ```ts
 * import type { StepRecord } from "./step_ledger.ts";
 * function applied(s: StepRecord): boolean { return s.state === "done"; }
 * ```
 */
export type StepRecord = PendingStep | DoneStep;

/**
 * How many entries each table keeps.
 *
 * @example
 * ```ts
 * import { StepLedger, type StepLedgerLimits } from "./step_ledger.ts";
 * const limits: StepLedgerLimits = { pending: 2, done: 8, replies: 1 };
 * new StepLedger(limits);
 * ```
 */
export interface StepLedgerLimits {
  /** Forward passes kept while waiting for their backward: more are evicted, oldest first. */
  pending: number;
  /** Applied step ids remembered for idempotence. */
  done: number;
  /** Applied steps whose forward reply is still kept (a courier that retries a whole step). */
  replies: number;
}

const DEFAULT_LIMITS: StepLedgerLimits = { pending: 16, done: 4096, replies: 4 };

/** Sets `key` and drops the oldest entries beyond `max` (Map iterates in insertion order). */
function setBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value!);
}

/**
 * The step tables of one raw side.
 *
 * @example
 * ```ts
 * import { StepLedger } from "./step_ledger.ts";
 * const ledger = new StepLedger({ pending: 16, done: 4096, replies: 4 });
 * console.log(ledger.get("3:1")); // undefined: never seen
 * ```
 */
export class StepLedger {
  readonly #limits: StepLedgerLimits;
  readonly #pending = new Map<string, PendingStep>();
  readonly #done = new Map<string, DoneStep>();
  readonly #replies = new Map<string, StepReply>();

  /** @param limits table sizes (default: 16 pending, 4096 done, 4 replies) */
  constructor(limits: StepLedgerLimits = DEFAULT_LIMITS) {
    this.#limits = limits;
  }

  /**
   * The step `stepId`, pending or applied.
   *
   * @example
   * ```ts
   * import { StepLedger } from "./step_ledger.ts";
   * console.log(new StepLedger().get("1:0")); // undefined
   * ```
   */
  get(stepId: string): StepRecord | undefined {
    return this.#pending.get(stepId) ?? this.#done.get(stepId);
  }

  /**
   * The forward reply to repeat for a known step: a pending step's own, or an applied step's
   * while it is among the last few applied; undefined when no longer kept.
   *
   * @example
   * ```ts
   * import { StepLedger } from "./step_ledger.ts";
   * console.log(new StepLedger().replyOf("1:0")); // undefined
   * ```
   */
  replyOf(stepId: string): StepReply | undefined {
    return this.#pending.get(stepId)?.reply ?? this.#replies.get(stepId);
  }

  /**
   * Records a forward pass waiting for its backward (the oldest beyond the limit is evicted).
   *
   * @example
   * ```ts
   * import { StepLedger } from "./step_ledger.ts";
   * import { tensor } from "../../../models/tensor.ts";
   * const t = tensor("float32", [1], new Float32Array(1));
   * new StepLedger().addPending("1:0", { epoch: 1, batch: 0, saved: {}, target: t, activation: t, reply: { activation: t } });
   * ```
   */
  addPending(stepId: string, step: Omit<PendingStep, "state">): void {
    setBounded(this.#pending, stepId, { state: "pending", ...step }, this.#limits.pending);
  }

  /**
   * Moves a pending step to the applied ones, keeping its forward reply among the last few.
   *
   * @throws {RangeError} when `stepId` is not pending
   * @example
   * ```ts
   * import { StepLedger } from "./step_ledger.ts";
   * try {
   *   new StepLedger().markDone("1:0");
   * } catch (e) {
   *   console.log((e as Error).name); // RangeError
   * }
   * ```
   */
  markDone(stepId: string): void {
    const p = this.#pending.get(stepId);
    if (!p) throw new RangeError(`step ${JSON.stringify(stepId)} is not pending; expected a step after its forward`);
    this.#pending.delete(stepId);
    setBounded(this.#done, stepId, { state: "done", epoch: p.epoch, batch: p.batch, head: p.head, ...(p.decoy ? { decoy: true as const } : {}) }, this.#limits.done);
    setBounded(this.#replies, stepId, p.reply, this.#limits.replies);
  }

  /** Forgets every step (after a restore, and on close). */
  clear(): void {
    this.#pending.clear();
    this.#done.clear();
    this.#replies.clear();
  }
}
