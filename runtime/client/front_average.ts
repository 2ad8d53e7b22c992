/**
 * The clinic's side of a parallel round's end (docs/design/parallel_schedules.md): the
 * weighted average of the fronts of every clinic through the round, computed inside this
 * clinic's raw side, so neither the courier nor the server ever holds a front in readable
 * form. This is the one place the schedules average fronts: secure aggregation
 * (`crypto/secagg/`) replaces its body, leaving its callers as they are.
 *
 * The server's `FRONTS` reply lists the clinics through round r, their sample counts n_i, and
 * the blobs each sealed to this clinic (`crypto/seal/sealed_envelope.ts`, opened and checked
 * by the raw side: sender, recipient, run, newer than the last from that sender). Starting
 * from its own front with weight n_me (0 when it was dropped from the round), the raw side
 * folds in each other front with `mix` = n_j / (n_me + Σ n so far): after the last one it
 * holds Σ n_i·w_i / Σ n_i, FedAvg's weighted average (McMahan et al. 2017), computed in
 * float64 per fold (`runtime/train/state_average.ts`). Every clinic folds in the same order
 * (the server's list, its own front first), so they start the next round from the same
 * average up to float32 rounding of the folds.
 *
 * @example
 * ```ts
 * import { averageFronts, foldWeights } from "./front_average.ts";
 * console.log(foldWeights("b", ["a", "b", "c"], [100, 300, 100])); // [{ from: "a", mix: 0.25 }, { from: "c", mix: 0.2 }]
 * ```
 * @module
 */
import type { RequestMessage } from "../protocol/mod.ts";
import type { RawSide } from "./raw_side/api.ts";
import type { ReplyFor } from "./server_connection.ts";
import { ClinicError } from "./clinic_error.ts";
import { secureAverageFronts } from "./secure_front_average.ts";

/**
 * The running-average folds for clinic `me`: which front to fold in, with which weight.
 * Senders with no samples are left out.
 *
 * @throws {ClinicError} `FRONTS_INCOMPLETE` when `clinics` and `samples` differ in length
 * @example
 * ```ts
 * import { foldWeights } from "./front_average.ts";
 * console.log(foldWeights("x", ["a", "b"], [1, 1])); // [{ from: "a", mix: 1 }, { from: "b", mix: 0.5 }]
 * ```
 */
export function foldWeights(
  me: string,
  clinics: readonly string[],
  samples: readonly number[],
): { from: string; mix: number }[] {
  if (clinics.length !== samples.length) {
    throw new ClinicError(
      "FRONTS_INCOMPLETE",
      `FRONTS lists ${clinics.length} clinics but ${samples.length} sample counts`,
    );
  }
  const mine = clinics.indexOf(me);
  let cum = mine >= 0 ? samples[mine] : 0;
  const out: { from: string; mix: number }[] = [];
  clinics.forEach((from, i) => {
    if (from === me || samples[i] === 0) return;
    cum += samples[i];
    out.push({ from, mix: samples[i] / cum });
  });
  return out;
}

/**
 * What {@linkcode averageFronts} needs.
 *
 * @example
 * ```ts
 * import type { FrontAverageOptions } from "./front_average.ts";
 * function opts(o: FrontAverageOptions) { return o.me; }
 * ```
 */
export interface FrontAverageOptions {
  me: string;
  side: RawSide;
  /** Sends a request to the server (the clinic's retrying `ask`). */
  request: <M extends RequestMessage>(m: M) => Promise<ReplyFor<M>>;
  run: Uint8Array;
  peers: ReadonlyMap<string, Uint8Array>;
}

/**
 * Replaces this clinic's front by the weighted average of the fronts through round `round`.
 * Returns the clinics averaged in (this one included when it was through the round).
 *
 * @throws {ClinicError} `FRONTS_INCOMPLETE` when the reply lacks a listed clinic's front
 * @throws {RawSideError} / {NoiseError} from the raw side for a blob that does not open
 * @example
 * ```ts
 * import { averageFronts, type FrontAverageOptions } from "./front_average.ts";
 * async function roundStart(o: FrontAverageOptions, round: number) {
 *   if (round > 0) await averageFronts(o, round - 1);
 * }
 * ```
 */
export async function averageFronts(o: FrontAverageOptions, round: number): Promise<string[]> {
  const f = await o.request({ type: "FETCH_FRONTS", epoch: round });
  if (f.epoch !== round) {
    throw new ClinicError(
      "FRONTS_INCOMPLETE",
      `asked for the fronts of round ${round}, the server sent round ${f.epoch}`,
    );
  }
  // frontAggregation "secagg": no sealed fronts, a secure-aggregation round instead.
  if (f.secaggRound !== undefined) return await secureAverageFronts(o, round, f);
  const folds = foldWeights(o.me, f.clinics, f.samples);
  for (const { from, mix } of folds) {
    const blob = f.sealedWeights[from];
    if (!blob) {
      throw new ClinicError(
        "FRONTS_INCOMPLETE",
        `round ${round}: the server lists ${from} as through the round but sent no front of it`,
      );
    }
    const got = await o.side.importWeights(blob, { run: o.run, peers: o.peers, mix });
    if (got.sender !== from) {
      throw new ClinicError(
        "FRONTS_INCOMPLETE",
        `round ${round}: the front listed as ${from}'s was sealed by ${got.sender}`,
      );
    }
  }
  return f.clinics.filter((c) => c === o.me || folds.some((x) => x.from === c));
}
