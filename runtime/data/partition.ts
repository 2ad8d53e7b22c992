/**
 * Partitioning sample indices into K clinics, the federated-learning way, plus a
 * shuffling mini-batch iterator.
 *
 * Three schemes, all seeded and reproducible, each placing every sample in
 * exactly one clinic and leaving no clinic empty:
 * - `iid`: a uniform shuffle cut into K near-equal parts;
 * - `label-dirichlet` (label skew): for every class c, the share of its samples
 *   going to each clinic is drawn from Dir(α·1_K), as in Hsu, Qi & Brown,
 *   "Measuring the Effects of Non-Identical Data Distribution for Federated
 *   Visual Classification" (arXiv:1909.06335, 2019) and the per-class form of
 *   Li et al., "Federated Learning on Non-IID Data Silos" (NIID-Bench,
 *   arXiv:2102.02079, §4.1); draws leaving a clinic under `minSize` are redrawn.
 *   Small α (0.1) gives clinics dominated by one class, large α approaches IID;
 * - `size-dirichlet` (quantity skew, NIID-Bench §4.3): clinic sizes are
 *   proportional to q ~ Dir(α·1_K) after every clinic got `minSize` samples;
 *   the samples themselves are IID.
 *
 * @example
 * ```ts
 * import { partition } from "./partition.ts";
 * const clinics = partition({ scheme: "iid", count: 10, clinics: 3, seed: 1 });
 * console.log(clinics.map((c) => c.length)); // [4, 3, 3]
 * ```
 * @module
 */

import { Rng } from "./rng.ts";

/** How samples are spread over clinics; see the module documentation. */
export type PartitionScheme = "iid" | "label-dirichlet" | "size-dirichlet";

/** Options of {@linkcode partition}. */
export interface PartitionOptions {
  /** The partition scheme. */
  scheme: PartitionScheme;
  /** Number of clinics K (>= 1). */
  clinics: number;
  /** Seed of the {@linkcode Rng}; the same seed gives the same partition. */
  seed: number;
  /** Number of samples; indices 0..count-1 are partitioned. Taken from `labels` when omitted. */
  count?: number;
  /** Class of each sample (needed by `label-dirichlet`); any integers or strings. */
  labels?: ArrayLike<number | string | bigint>;
  /** Dirichlet concentration α > 0 for the Dirichlet schemes; default 0.5. */
  alpha?: number;
  /** Least number of samples per clinic; default 1. */
  minSize?: number;
  /** `label-dirichlet` redraws at most this often before giving up; default 1000. */
  maxDraws?: number;
}

/**
 * Partitions sample indices 0..count-1 into `clinics` disjoint, non-empty
 * groups that together cover every index once. Each group is sorted ascending.
 *
 * @throws {RangeError} on invalid options, when there are fewer samples than
 *   `clinics · minSize`, or when `label-dirichlet` finds no draw meeting
 *   `minSize` within `maxDraws` draws (raise α or lower `minSize`)
 *
 * @example
 * ```ts
 * import { partition } from "./partition.ts";
 * const labels = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0];
 * const parts = partition({ scheme: "label-dirichlet", labels, clinics: 2, alpha: 0.1, seed: 7 });
 * ```
 */
export function partition(options: PartitionOptions): Uint32Array[] {
  const k = options.clinics;
  if (!Number.isSafeInteger(k) || k < 1) {
    throw new RangeError(`clinics must be an integer >= 1, got ${k}`);
  }
  const n = options.count ?? options.labels?.length;
  if (n === undefined || !Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`count must be an integer >= 0 (or give labels), got ${n}`);
  }
  if (options.labels && options.labels.length !== n) {
    throw new RangeError(`labels has ${options.labels.length} entries but count is ${n}`);
  }
  const minSize = options.minSize ?? 1;
  if (!Number.isSafeInteger(minSize) || minSize < 0) {
    throw new RangeError(`minSize must be an integer >= 0, got ${minSize}`);
  }
  if (n < k * minSize) {
    throw new RangeError(
      `cannot give ${k} clinics at least ${minSize} sample(s) each from ${n} samples`,
    );
  }
  const alpha = options.alpha ?? 0.5;
  if (options.scheme !== "iid" && !(alpha > 0 && Number.isFinite(alpha))) {
    throw new RangeError(`alpha must be a finite number > 0, got ${alpha}`);
  }
  const rng = new Rng(options.seed);
  switch (options.scheme) {
    case "iid": {
      const order = rng.shuffle(range(n));
      return cut(order, equalSizes(n, k));
    }
    case "size-dirichlet": {
      const order = rng.shuffle(range(n));
      return cut(order, dirichletSizes(n, k, minSize, rng.dirichlet(new Array(k).fill(alpha))));
    }
    case "label-dirichlet": {
      if (!options.labels) throw new RangeError("scheme 'label-dirichlet' needs labels");
      return labelDirichlet(options.labels, k, alpha, minSize, options.maxDraws ?? 1000, rng);
    }
    default:
      throw new RangeError(
        `unknown partition scheme ${
          JSON.stringify(options.scheme)
        }: expected iid, label-dirichlet or size-dirichlet`,
      );
  }
}

function range(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

function equalSizes(n: number, k: number): number[] {
  return Array.from({ length: k }, (_, c) => Math.floor(n / k) + (c < n % k ? 1 : 0));
}

/** `minSize` each, the rest split by `shares` with largest-remainder rounding. */
function dirichletSizes(n: number, k: number, minSize: number, shares: number[]): number[] {
  const rest = n - k * minSize;
  const exact = shares.map((q) => q * rest);
  const sizes = exact.map((x) => Math.floor(x));
  let left = rest - sizes.reduce((s, x) => s + x, 0);
  const byRemainder = exact.map((x, c) => [x - Math.floor(x), c]).sort((a, b) =>
    b[0] - a[0] || a[1] - b[1]
  );
  for (let r = 0; left > 0; r++, left--) sizes[byRemainder[r % k][1]]++;
  return sizes.map((s) => s + minSize);
}

function cut(order: Uint32Array, sizes: number[]): Uint32Array[] {
  const out: Uint32Array[] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(order.slice(at, at + s).sort());
    at += s;
  }
  return out;
}

function labelDirichlet(
  labels: ArrayLike<number | string | bigint>,
  k: number,
  alpha: number,
  minSize: number,
  maxDraws: number,
  rng: Rng,
): Uint32Array[] {
  const byClass = new Map<string, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const key = String(labels[i]);
    let list = byClass.get(key);
    if (!list) byClass.set(key, list = []);
    list.push(i);
  }
  // A deterministic class order, independent of Map insertion quirks.
  const classes = [...byClass.keys()].sort();
  for (let draw = 0; draw < maxDraws; draw++) {
    const parts: number[][] = Array.from({ length: k }, () => []);
    for (const c of classes) {
      const members = rng.shuffle(byClass.get(c)!.slice());
      const shares = rng.dirichlet(new Array(k).fill(alpha));
      // Cut points at the cumulative shares (NIID-Bench's np.split of cumsum).
      let acc = 0, start = 0;
      for (let j = 0; j < k; j++) {
        acc += shares[j];
        const end = j === k - 1
          ? members.length
          : Math.min(members.length, Math.round(acc * members.length));
        for (let m = start; m < end; m++) parts[j].push(members[m]);
        start = Math.max(start, end);
      }
    }
    if (parts.every((p) => p.length >= Math.max(1, minSize))) {
      return parts.map((p) => Uint32Array.from(p).sort());
    }
  }
  throw new RangeError(
    `label-dirichlet: no draw in ${maxDraws} gave every one of ${k} clinics at least ` +
      `${Math.max(1, minSize)} sample(s) at alpha ${alpha}; raise alpha or lower minSize`,
  );
}

/** Options of {@linkcode batches}. */
export interface BatchOptions {
  /** Drop a last batch smaller than `batchSize`; default false. */
  dropLast?: boolean;
  /** Shuffle before batching; default true. */
  shuffle?: boolean;
}

/**
 * Yields mini-batches of `indices` (a shuffled copy; the input is not changed)
 * of `batchSize` elements, the last one possibly smaller unless `dropLast`.
 * Call it once per epoch with the same `rng` for a new order each epoch.
 *
 * @throws {RangeError} when `batchSize` is not an integer >= 1
 * @example
 * ```ts
 * import { batches } from "./partition.ts";
 * import { Rng } from "./rng.ts";
 * for (const b of batches(Uint32Array.from([0, 1, 2, 3, 4]), 2, new Rng(1))) console.log(b.length); // 2 2 1
 * ```
 */
export function batches(
  indices: ArrayLike<number>,
  batchSize: number,
  rng: Rng,
  options: BatchOptions = {},
): Generator<Uint32Array> {
  // Validate and shuffle eagerly, so errors surface at the call, not at the first next().
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
  }
  const order = Uint32Array.from(indices);
  if (options.shuffle ?? true) rng.shuffle(order);
  return batchesOf(order, batchSize, options.dropLast ?? false);
}

function* batchesOf(
  order: Uint32Array,
  batchSize: number,
  dropLast: boolean,
): Generator<Uint32Array> {
  for (let at = 0; at < order.length; at += batchSize) {
    const b = order.subarray(at, at + batchSize);
    if (b.length < batchSize && dropLast) return;
    yield b.slice();
  }
}
