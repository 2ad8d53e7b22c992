/**
 * Where the hijack guard's decoys go in a clinic gateway's training, as a pure function of
 * (seed, epoch, batch), so that the courier (which numbers the steps it sends) and the raw side
 * (which builds and scores the decoys) agree without talking, and a turn redone after a restart
 * sends the very same steps (docs/design/faults_and_resume.md: "the batch order is a pure
 * function of (seed, epoch, batch)").
 *
 * A *decoy* is SplitGuard's fake batch (Erdoğan et al. 2022; `split_guard.ts`): the batch of a
 * regular step sent once more as an ordinary `STEP`, right after it, with `flips` of its labels
 * flipped. The epoch's batches are cut into blocks of `every`; in each block, one batch chosen
 * by a hash of (seed, epoch, block) is followed by its decoy, and the flipped rows are chosen by
 * a hash of (seed, epoch, batch). A block cut short by the epoch's end has a decoy only if its
 * chosen batch exists.
 *
 * @example
 * ```ts
 * import { decoyFollows, turnPlan } from "./decoy_schedule.ts";
 * const plan = turnPlan({ seed: 1, every: 4 }, 0, 0, 8);
 * plan.length; // 10: 8 regular steps and 2 decoys
 * plan.filter((s) => s.decoy).every((s) => decoyFollows({ seed: 1, every: 4 }, 0, s.batch)); // true
 * ```
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";

/** What fixes the schedule: the clinic's seed and the guard's block length. */
export interface DecoySchedule {
  /** The clinic's seed (that of its batch order). */
  seed: number;
  /** Block length: one decoy per `every` regular steps. */
  every: number;
}

/** One step a turn sends: batch `batch`, regular or its decoy. */
export interface PlannedStep {
  /** The batch of the epoch. */
  batch: number;
  /** Whether this step is that batch's decoy. */
  decoy: boolean;
}

const utf8 = new TextEncoder();

/**
 * A uniform 32-bit draw from SHA-256 of `what` (a label that names purpose, seed and position).
 *
 * @example
 * ```ts
 * import { hashU32 } from "./decoy_schedule.ts";
 * hashU32("a") === hashU32("a"); // true
 * ```
 */
export function hashU32(what: string): number {
  const h = sha256(utf8.encode(`splitgate/hijack-guard/v1/${what}`));
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0);
}

/**
 * Whether batch `batch` of `epoch` is followed by a decoy.
 *
 * @example
 * ```ts
 * import { decoyFollows } from "./decoy_schedule.ts";
 * [0, 1, 2, 3].filter((b) => decoyFollows({ seed: 7, every: 4 }, 0, b)).length; // 1
 * ```
 */
export function decoyFollows(s: DecoySchedule, epoch: number, batch: number): boolean {
  const block = Math.floor(batch / s.every);
  return batch % s.every === hashU32(`at/${s.seed}/${epoch}/${block}`) % s.every;
}

/**
 * The steps of a turn over batches `[first, end)` of `epoch`, in sending order (each decoy right
 * after its regular step); with no schedule, the regular steps only.
 *
 * @example
 * ```ts
 * import { turnPlan } from "./decoy_schedule.ts";
 * turnPlan(undefined, 0, 2, 4); // [{ batch: 2, decoy: false }, { batch: 3, decoy: false }]
 * ```
 */
export function turnPlan(
  s: DecoySchedule | undefined,
  epoch: number,
  first: number,
  end: number,
): PlannedStep[] {
  const out: PlannedStep[] = [];
  for (let b = first; b < end; b++) {
    out.push({ batch: b, decoy: false });
    if (s && decoyFollows(s, epoch, b)) out.push({ batch: b, decoy: true });
  }
  return out;
}

/**
 * The rows whose labels a decoy of batch `batch` flips: `flips` of its `rows` (all when fewer),
 * ascending, from a hash-driven shuffle.
 *
 * @example
 * ```ts
 * import { flippedRows } from "./decoy_schedule.ts";
 * flippedRows({ seed: 1, every: 4 }, 0, 2, 8, 3).length; // 3
 * ```
 */
export function flippedRows(
  s: DecoySchedule,
  epoch: number,
  batch: number,
  rows: number,
  flips: number,
): number[] {
  const order = Array.from({ length: rows }, (_, i) => i);
  for (let i = rows - 1; i > 0; i--) {
    const j = hashU32(`flip/${s.seed}/${epoch}/${batch}/${i}`) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, Math.min(flips, rows)).sort((a, b) => a - b);
}
