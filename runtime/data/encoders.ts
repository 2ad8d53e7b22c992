/**
 * Feature encoders fitted on the training split only, so no statistic of the
 * validation or test rows leaks into training: a {@linkcode Vocabulary} for
 * categorical values and a {@linkcode StandardScaler} for numeric columns.
 *
 * @example
 * ```ts
 * import { StandardScaler, Vocabulary } from "./encoders.ts";
 * const v = Vocabulary.fit(["a", "b", "a"]);
 * v.index("a"); // 1 (0 is "unknown")
 * const s = StandardScaler.fit([[1], [3]]);
 * s.mean; // [2]
 * ```
 * @module
 */

/** Options of {@linkcode Vocabulary.fit}. */
export interface VocabularyOptions {
  /** Values seen fewer times than this map to the unknown index 0; default 1 (keep all). */
  minCount?: number;
  /** Values that always get their own index, whatever their count (e.g. `"?"`). */
  reserved?: readonly string[];
}

/**
 * A mapping from category strings to integer indices. Index 0 is "unknown":
 * values not seen in training, or seen fewer than `minCount` times (a rare
 * bucket). Known values follow from index 1, most frequent first (ties broken
 * by string order), so the mapping is deterministic.
 *
 * @example
 * ```ts
 * import { Vocabulary } from "./encoders.ts";
 * const v = Vocabulary.fit(["x", "y", "x", "?"], { reserved: ["?"] });
 * v.values; // ["?", "x", "y"]: reserved first, then by count
 * v.size; // 4
 * ```
 */
export class Vocabulary {
  /** The known values; value `values[i]` has index `i + 1`. */
  readonly values: readonly string[];
  #index: Map<string, number>;

  /**
   * @param values the known values, in index order from 1
   * @throws {RangeError} on duplicate values
   */
  constructor(values: readonly string[]) {
    this.values = [...values];
    this.#index = new Map(this.values.map((v, i) => [v, i + 1]));
    if (this.#index.size !== this.values.length) {
      throw new RangeError("vocabulary values must be distinct");
    }
  }

  /**
   * Builds a vocabulary from training values.
   *
   * @example
   * ```ts
   * import { Vocabulary } from "./encoders.ts";
   * Vocabulary.fit(["a", "b", "b"], { minCount: 2 }).values; // ["b"]
   * ```
   */
  static fit(values: Iterable<string>, options: VocabularyOptions = {}): Vocabulary {
    const minCount = options.minCount ?? 1;
    const counts = new Map<string, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    const reserved = [...new Set(options.reserved ?? [])];
    const kept = [...counts.entries()]
      .filter(([v, c]) => c >= minCount && !reserved.includes(v))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([v]) => v);
    return new Vocabulary([...reserved, ...kept]);
  }

  /** Number of indices, the unknown index 0 included. */
  get size(): number {
    return this.values.length + 1;
  }

  /**
   * The index of `value`; 0 when unknown.
   *
   * @example
   * ```ts
   * import { Vocabulary } from "./encoders.ts";
   * new Vocabulary(["a"]).index("zzz"); // 0
   * ```
   */
  index(value: string): number {
    return this.#index.get(value) ?? 0;
  }
}

/**
 * Per-column standardisation z = (x − mean) / std with the population standard
 * deviation of the training rows. A constant column gets std 1 (so it maps to
 * 0 instead of NaN).
 *
 * @example
 * ```ts
 * import { StandardScaler } from "./encoders.ts";
 * const s = StandardScaler.fit([[1, 10], [3, 10]]);
 * s.transform([2, 10]); // [0, 0]
 * ```
 */
export class StandardScaler {
  /** Training mean of each column. */
  readonly mean: readonly number[];
  /** Training standard deviation of each column (1 where it was 0). */
  readonly std: readonly number[];

  /**
   * @throws {RangeError} when the lengths differ or a std is not > 0
   */
  constructor(mean: readonly number[], std: readonly number[]) {
    if (mean.length !== std.length) {
      throw new RangeError(`scaler has ${mean.length} means but ${std.length} stds`);
    }
    if (std.some((s) => !(s > 0))) {
      throw new RangeError(`scaler stds must be > 0, got [${std.join(", ")}]`);
    }
    this.mean = [...mean];
    this.std = [...std];
  }

  /**
   * Fits on training rows; `NaN` entries (missing values) are left out of the
   * statistics of their column.
   *
   * @throws {RangeError} when the rows are empty or of different widths
   * @example
   * ```ts
   * import { StandardScaler } from "./encoders.ts";
   * StandardScaler.fit([[0], [2], [NaN]]).mean; // [1]
   * ```
   */
  static fit(rows: Iterable<ArrayLike<number>>): StandardScaler {
    let width = -1;
    let sum: Float64Array = new Float64Array(0), sumSq: Float64Array = new Float64Array(0);
    let n: Float64Array = new Float64Array(0);
    const all: ArrayLike<number>[] = [];
    for (const row of rows) {
      if (width < 0) {
        width = row.length;
        sum = new Float64Array(width);
        n = new Float64Array(width);
      } else if (row.length !== width) {
        throw new RangeError(`scaler rows must all have ${width} columns, got ${row.length}`);
      }
      for (let j = 0; j < width; j++) {
        if (!Number.isNaN(row[j])) {
          sum[j] += row[j];
          n[j]++;
        }
      }
      all.push(row);
    }
    if (width < 0) throw new RangeError("cannot fit a scaler on zero rows");
    const mean = Array.from(sum, (s, j) => (n[j] > 0 ? s / n[j] : 0));
    // Second pass over centred values: numerically stabler than E[x²] − E[x]².
    sumSq = new Float64Array(width);
    for (const row of all) {
      for (let j = 0; j < width; j++) {
        if (!Number.isNaN(row[j])) sumSq[j] += (row[j] - mean[j]) ** 2;
      }
    }
    const std = Array.from(sumSq, (s, j) => {
      const sd = n[j] > 0 ? Math.sqrt(s / n[j]) : 0;
      return sd > 0 ? sd : 1;
    });
    return new StandardScaler(mean, std);
  }

  /**
   * Standardises one row; a `NaN` (missing) becomes 0, the training mean.
   *
   * @example
   * ```ts
   * import { StandardScaler } from "./encoders.ts";
   * new StandardScaler([1], [2]).transform([NaN]); // [0]
   * ```
   */
  transform(
    row: ArrayLike<number>,
    out: number[] | Float32Array = new Array(row.length),
  ): typeof out {
    for (let j = 0; j < this.mean.length; j++) {
      out[j] = Number.isNaN(row[j]) ? 0 : (row[j] - this.mean[j]) / this.std[j];
    }
    return out;
  }
}
