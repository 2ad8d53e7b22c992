/**
 * The clinic's batch order: which training rows make up batch `b` of epoch `e`. It is a pure
 * function of (seed, epoch, batch), so a restarted raw side re-creates exactly the batches of
 * the interrupted run, and a retried step sees the same rows — the property the fault test
 * (server killed mid-epoch, same final metrics) rests on.
 *
 * Epoch `e` shuffles the row indices with `Rng(mixSeed(seed, e))` (Fisher–Yates, see
 * `runtime/data/rng.ts`) and cuts them into consecutive batches (the last may be short). The
 * augmentation of a batch draws from its own `Rng(mixSeed(seed, e, b, 1))`, independent of the
 * order in which steps run.
 *
 * @example
 * ```ts
 * import { batchIndices, stepsPerEpoch } from "./batch_order.ts";
 * const n = 10, size = 4;
 * const all = Array.from({ length: stepsPerEpoch(n, size) }, (_, b) => [...batchIndices(7, 1, n, size, b)]);
 * console.log(all.flat().sort((a, b) => a - b)); // 0..9, each once
 * ```
 * @module
 */
import { Rng } from "../data/rng.ts";

/**
 * Mixes integers into one 32-bit seed (murmur3's fmix32 finaliser over a running hash), so
 * nearby (seed, epoch, batch) triples give unrelated generators.
 *
 * @example
 * ```ts
 * import { mixSeed } from "./batch_order.ts";
 * console.assert(mixSeed(1, 2) !== mixSeed(2, 1));
 * ```
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9 | 0;
  for (const p of parts) {
    if (!Number.isSafeInteger(p)) throw new TypeError(`seed parts must be safe integers, got ${p}`);
    // Fold the high bits in too, so seeds above 2^32 still matter.
    h = fmix32(h ^ (p | 0) ^ Math.imul(Math.floor(p / 2 ** 32) | 0, 0x85ebca6b));
  }
  return h;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Number of batches of an epoch over `n` rows.
 *
 * @example
 * ```ts
 * import { stepsPerEpoch } from "./batch_order.ts";
 * console.assert(stepsPerEpoch(10, 4) === 3);
 * ```
 */
export function stepsPerEpoch(n: number, batchSize: number): number {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
  }
  return Math.ceil(n / batchSize);
}

/**
 * The row order of epoch `epoch` (a permutation of 0..n-1).
 *
 * @example
 * ```ts
 * import { epochOrder } from "./batch_order.ts";
 * console.log(epochOrder(0, 1, 5)); // a permutation of [0, 1, 2, 3, 4]
 * ```
 */
export function epochOrder(seed: number, epoch: number, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return new Rng(mixSeed(seed, epoch)).shuffle(order);
}

/**
 * The rows of batch `batch` of epoch `epoch`.
 *
 * @throws {RangeError} for a batch index outside [0, stepsPerEpoch)
 * @example
 * ```ts
 * import { batchIndices } from "./batch_order.ts";
 * console.log(batchIndices(0, 1, 10, 4, 2).length); // 2 (the short last batch)
 * ```
 */
export function batchIndices(
  seed: number,
  epoch: number,
  n: number,
  batchSize: number,
  batch: number,
): Uint32Array {
  const steps = stepsPerEpoch(n, batchSize);
  if (!Number.isSafeInteger(batch) || batch < 0 || batch >= steps) {
    throw new RangeError(`batch ${batch} is out of range: epoch has batches 0..${steps - 1}`);
  }
  return epochOrder(seed, epoch, n).slice(batch * batchSize, Math.min(n, (batch + 1) * batchSize));
}

/**
 * The generator for augmenting batch `batch` of epoch `epoch`.
 *
 * @example
 * ```ts
 * import { augmentRng } from "./batch_order.ts";
 * console.assert(augmentRng(0, 1, 2).int(1000) === augmentRng(0, 1, 2).int(1000));
 * ```
 */
export function augmentRng(seed: number, epoch: number, batch: number): Rng {
  return new Rng(mixSeed(seed, epoch, batch, 1));
}
