/**
 * Seeded train / validation / test splits grouped by an id (a patient number):
 * all rows of one group land in the same split, so no patient is seen in
 * training and again in testing (the leak the Diabetes 130 data invites, since
 * `patient_nbr` repeats across encounters).
 *
 * @example
 * ```ts
 * import { groupSplit } from "./group_split.ts";
 * const s = groupSplit(["p1", "p1", "p2", "p3", "p4"], { seed: 1 });
 * console.log(s.train.length + s.val.length + s.test.length); // 5
 * ```
 * @module
 */

import { Rng } from "./rng.ts";

/** Fractions of groups for train, validation and test; they must sum to 1. */
export type SplitFractions = readonly [train: number, val: number, test: number];

/** Options of {@linkcode groupSplit}. */
export interface GroupSplitOptions {
  /** Seed of the shuffle of groups. */
  seed: number;
  /** Share of groups per split; default 70 / 10 / 20. */
  fractions?: SplitFractions;
}

/** Row indices (ascending) of each split. */
export interface RowSplit {
  /** Training rows. */
  train: Uint32Array;
  /** Validation rows. */
  val: Uint32Array;
  /** Test rows. */
  test: Uint32Array;
}

/**
 * Splits rows by group: the distinct groups are shuffled with a seeded
 * {@linkcode Rng} and cut by `fractions` (of groups, not of rows), and each row
 * follows its group.
 *
 * @param groups the group id of each row
 * @throws {RangeError} when the fractions are negative or do not sum to 1
 * @example
 * ```ts
 * import { groupSplit } from "./group_split.ts";
 * const patientIds = ["17", "17", "23", "42", "42", "42", "99"];
 * const { train, val, test } = groupSplit(patientIds, { seed: 42, fractions: [0.7, 0.1, 0.2] });
 * ```
 */
export function groupSplit(groups: ArrayLike<string>, options: GroupSplitOptions): RowSplit {
  const fractions = options.fractions ?? [0.7, 0.1, 0.2];
  if (
    fractions.length !== 3 || fractions.some((f) => !(f >= 0)) ||
    Math.abs(fractions[0] + fractions[1] + fractions[2] - 1) > 1e-9
  ) {
    throw new RangeError(
      `split fractions must be three numbers >= 0 summing to 1, got [${fractions.join(", ")}]`,
    );
  }
  // Groups in order of first appearance, so the result depends on the data
  // order and the seed only (not on Map/Set hashing).
  const groupOf = new Map<string, number>();
  const rowGroup = new Uint32Array(groups.length);
  for (let r = 0; r < groups.length; r++) {
    let g = groupOf.get(groups[r]);
    if (g === undefined) groupOf.set(groups[r], g = groupOf.size);
    rowGroup[r] = g;
  }
  const count = groupOf.size;
  const order = new Rng(options.seed).shuffle(Uint32Array.from({ length: count }, (_, i) => i));
  const nTrain = Math.round(fractions[0] * count);
  const nVal = Math.min(count - nTrain, Math.round(fractions[1] * count));
  const which = new Uint8Array(count); // 0 train, 1 val, 2 test
  for (let i = 0; i < count; i++) which[order[i]] = i < nTrain ? 0 : i < nTrain + nVal ? 1 : 2;
  const parts: number[][] = [[], [], []];
  for (let r = 0; r < groups.length; r++) parts[which[rowGroup[r]]].push(r);
  return {
    train: Uint32Array.from(parts[0]),
    val: Uint32Array.from(parts[1]),
    test: Uint32Array.from(parts[2]),
  };
}
