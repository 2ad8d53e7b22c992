/**
 * How the server names a round of its turn order in its log. The schedule counts rounds
 * (each clinic holds the turn once per round; the protocol's `epoch` fields carry the
 * round), while an operator configures data epochs: with `turnsPerEpoch` = T a clinic's
 * pass over its data is cut into T turns, so round r (0-based, as in step ids and the
 * clinics' own log) is part `r % T + 1` of data epoch `floor(r / T) + 1` — the same
 * arithmetic as the clinic's driver (`runtime/client/clinic.ts`, "Turns and rounds").
 *
 * @example
 * ```ts
 * import { roundEndLine, roundLabel } from "./round_label.ts";
 * const demo = { turnsPerEpoch: 4, epochs: 3 };
 * console.log(roundLabel(11, demo)); // round 11 (epoch 3/3, part 4/4)
 * console.log(roundEndLine(10, demo)); // round 10 (epoch 3/3, part 3/4) done
 * console.log(roundEndLine(11, demo)); // epoch 3/3 done (round 11)
 * console.log(roundEndLine(2, { turnsPerEpoch: 1, epochs: 3 })); // epoch 3/3 done
 * ```
 * @module
 */

/**
 * How rounds map to data epochs.
 *
 * @example
 * ```ts
 * import type { RoundNaming } from "./round_label.ts";
 * const open: RoundNaming = { turnsPerEpoch: 1 }; // no epoch limit
 * ```
 */
export interface RoundNaming {
  /** Turns of each clinic per data epoch (rounds per epoch), an integer >= 1. */
  turnsPerEpoch: number;
  /** Data epochs configured; none: the server trains until stopped. */
  epochs?: number;
}

/** `epoch e` or `epoch e/E`, 1-based. */
function epochOf(round: number, n: RoundNaming): string {
  const e = Math.floor(round / n.turnsPerEpoch) + 1;
  return n.epochs === undefined ? `epoch ${e}` : `epoch ${e}/${n.epochs}`;
}

/**
 * Round `round` (0-based) named for the log: `epoch 2/3` when every round is an epoch,
 * otherwise `round 5 (epoch 2/3, part 2/4)`.
 *
 * @example
 * ```ts
 * import { roundLabel } from "./round_label.ts";
 * console.log(roundLabel(0, { turnsPerEpoch: 1 })); // epoch 1
 * ```
 */
export function roundLabel(round: number, n: RoundNaming): string {
  if (n.turnsPerEpoch === 1) return epochOf(round, n);
  return `round ${round} (${epochOf(round, n)}, part ${(round % n.turnsPerEpoch) + 1}/${n.turnsPerEpoch})`;
}

/**
 * The log line of the end of round `round`: the data epoch when the round was its last
 * part (with the round when epochs have several), otherwise the round and its part.
 *
 * @example
 * ```ts
 * import { roundEndLine } from "./round_label.ts";
 * console.log(roundEndLine(0, { turnsPerEpoch: 2 })); // round 0 (epoch 1, part 1/2) done
 * ```
 */
export function roundEndLine(round: number, n: RoundNaming): string {
  if ((round + 1) % n.turnsPerEpoch !== 0) return `${roundLabel(round, n)} done`;
  return n.turnsPerEpoch === 1 ? `${epochOf(round, n)} done` : `${epochOf(round, n)} done (round ${round})`;
}

/**
 * Data epochs completed after `rounds` rounds.
 *
 * @example
 * ```ts
 * import { epochsDone } from "./round_label.ts";
 * console.log(epochsDone(12, { turnsPerEpoch: 4 })); // 3
 * ```
 */
export function epochsDone(rounds: number, n: RoundNaming): number {
  return Math.floor(rounds / n.turnsPerEpoch);
}
