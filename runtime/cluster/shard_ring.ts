/**
 * Which live trainer owns which shard: rendezvous hashing (highest random weight; Thaler &
 * Ravishankar, "Using name-based mappings to increase hit rates", IEEE/ACM ToN 6(1), 1998).
 * Shard `k` goes to the trainer with the greatest `sha256(k + ":" + trainerId)` (the 32
 * bytes compared as a big-endian number), as docs/design/scale_out.md ("Assignment") fixes.
 * A trainer that leaves moves only its own shards; a trainer that joins takes about 1/n.
 * Pure: every trainer and front computes the same owners from the same live list.
 *
 * @example
 * ```ts
 * import { ownerOf, shardsOf } from "./shard_ring.ts";
 * const live = ["t-0", "t-1"];
 * const mine = shardsOf("t-0", live, 16);
 * console.log(mine.every((k) => ownerOf(k, live) === "t-0")); // true
 * ```
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";

const utf8 = new TextEncoder();

function weight(shard: number, trainer: string): Uint8Array {
  return sha256(utf8.encode(`${shard}:${trainer}`));
}

/** -1, 0, 1 as `a` is below, equal to or above `b`, both read as big-endian numbers. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/**
 * The trainer among `trainers` that owns `shard`, or null when there is none. Duplicates in
 * `trainers` and its order do not matter; equal weights (a sha256 collision) go to the
 * smaller id, so the answer never depends on the order either.
 *
 * @example
 * ```ts
 * import { ownerOf } from "./shard_ring.ts";
 * console.log(ownerOf(3, []), ownerOf(3, ["only"])); // null only
 * ```
 */
export function ownerOf(shard: number, trainers: readonly string[]): string | null {
  let best: string | null = null;
  let bestWeight: Uint8Array | null = null;
  for (const t of trainers) {
    const w = weight(shard, t);
    const c = bestWeight === null ? 1 : compareBytes(w, bestWeight);
    if (c > 0 || (c === 0 && best !== null && t < best)) {
      best = t;
      bestWeight = w;
    }
  }
  return best;
}

/**
 * The shards `0..shards-1` that `trainer` owns among `trainers`, ascending; none when
 * `trainer` is not in `trainers`.
 *
 * @example
 * ```ts
 * import { shardsOf } from "./shard_ring.ts";
 * console.log(shardsOf("a", ["a"], 4), shardsOf("b", ["a"], 4)); // [ 0, 1, 2, 3 ] []
 * ```
 */
export function shardsOf(trainer: string, trainers: readonly string[], shards: number): number[] {
  if (!trainers.includes(trainer)) return [];
  const out: number[] = [];
  for (let k = 0; k < shards; k++) if (ownerOf(k, trainers) === trainer) out.push(k);
  return out;
}
