/**
 * The clinic's side of a parallel round's end with `frontAggregation: "secagg"`
 * (docs/design/secure_aggregation.md#runtime, wiring step 4): instead of opening the fronts
 * the others sealed to it, the clinic takes part in the secure-aggregation round that the
 * server's `FRONTS` reply names, and its front becomes the round's sample-weighted average.
 * The courier only carries messages: the `SecAggClient`, the static key and the front stay in
 * the raw side (`raw_side/secure_front.ts`), reached through `RawSide.secureFront`.
 *
 * - A clinic through the round (listed in `FRONTS.clinics`) sums its front, weighted by the
 *   server's count of its samples in the round. Counts are scaled down alike at every clinic
 *   when the largest exceeds the fixed-point `maxSamples` (4096), so only their ratios matter.
 * - A clinic not through it (dropped from the round) adds nothing and waits for the average.
 * - A refused round (`BELOW_THRESHOLD`) is retried with the next round number the server
 *   gives: meanwhile the clinic keeps its own front and polls `FETCH_FRONTS`, stepping nothing.
 *   When the server gives up (`secaggRound` 0) every clinic goes on with its own front.
 *
 * @example
 * ```ts
 * import { secureWeight } from "./secure_front_average.ts";
 * console.log(secureWeight(3000, [3000, 9000])); // 1365
 * ```
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { DEFAULT_FIXED_POINT } from "../../crypto/secagg/fixed_point.ts";
import { SecAggError } from "../../crypto/secagg/secagg_error.ts";
import { decodeSecAggMessage, encodeSecAggMessage } from "../../crypto/secagg/secagg_messages.ts";
import type { FrontsMessage } from "../protocol/mod.ts";
import { decodeSecAggReply, encodeSecAggPoll } from "../protocol/secagg_payload.ts";
import type { FrontAverageOptions } from "./front_average.ts";
import { runSecAggClientRound, type SecAggStepper } from "./secagg_client_round.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The weight clinic `samples` sums with, when the round's counts are `all`: the count itself,
 * or scaled by `maxSamples / max(all)` (at least 1) when the largest count exceeds it.
 *
 * @example
 * ```ts
 * import { secureWeight } from "./secure_front_average.ts";
 * console.log(secureWeight(100, [100, 300])); // 100
 * ```
 */
export function secureWeight(
  samples: number,
  all: readonly number[],
  maxSamples = DEFAULT_FIXED_POINT.maxSamples,
): number {
  const top = Math.max(...all);
  return top <= maxSamples ? samples : Math.max(1, Math.round((samples * maxSamples) / top));
}

/** Sends one `SecAggPoll` through the channel and returns the server's `SecAggReply` bytes. */
function exchangeOf(o: FrontAverageOptions): (payload: Uint8Array) => Promise<Uint8Array> {
  return async (payload) => (await o.request({ type: "SECAGG", payload })).payload;
}

/** The raw side's half of round `round`, through `RawSide.secureFront`. */
function rawStepper(o: FrontAverageOptions, round: number, samples: number): SecAggStepper {
  return {
    start: async () => {
      const r = await o.side.secureFront({
        op: "start",
        study: bytesToHex(o.run),
        round,
        samples,
        peers: o.peers,
      });
      return decodeSecAggMessage(r.message!);
    },
    next: async (m) => {
      const r = await o.side.secureFront({ op: "next", message: encodeSecAggMessage(m) });
      return { out: r.message && decodeSecAggMessage(r.message), want: r.want! };
    },
  };
}

/** Waits for the average of round `round` without taking part (a clinic dropped from the round). */
async function awaitAverage(
  o: FrontAverageOptions,
  round: number,
  pollMs: number,
): Promise<Float32Array> {
  const exchange = exchangeOf(o);
  for (;;) {
    const r = decodeSecAggReply(await exchange(encodeSecAggPoll({ round, want: "done" })));
    if (r.status === "done") return r.average;
    if (r.status === "refused") {
      throw new SecAggError(
        r.code === "BELOW_THRESHOLD" ? "BELOW_THRESHOLD" : "OUT_OF_ORDER",
        `server refused secure aggregation round ${round}: ${r.text}`,
      );
    }
    await sleep(pollMs);
  }
}

/**
 * Replaces this clinic's front by the securely aggregated average of the fronts through round
 * `round`, given the server's `FRONTS` reply `f` (with its `secaggRound`). Returns the clinics
 * through the round (the sum holds those of them that completed the aggregation), or only
 * this clinic when the server gave up and the front stays its own.
 *
 * @throws {SecAggError} the clinic's own refusals (a forged or replayed share, a roster key
 *   not in its allowlist, …) and a timeout; `BELOW_THRESHOLD` only leads to a retry
 * @example
 * ```ts
 * import { secureAverageFronts } from "./secure_front_average.ts";
 * // const clinics = await secureAverageFronts(options, round - 1, frontsReply);
 * ```
 */
export async function secureAverageFronts(
  o: FrontAverageOptions,
  round: number,
  f: FrontsMessage,
  pollMs = 100,
): Promise<string[]> {
  let fronts = f;
  for (;;) {
    const n = fronts.secaggRound ?? 0;
    if (n === 0) return [o.me]; // the server gave up: every clinic keeps its own front
    try {
      const mine = fronts.clinics.indexOf(o.me);
      const average = mine < 0 ? await awaitAverage(o, n, pollMs) : (await runSecAggClientRound({
        exchange: exchangeOf(o),
        stepper: rawStepper(o, n, secureWeight(fronts.samples[mine], fronts.samples)),
        name: o.me,
        round: n,
        pollMs,
      })).average;
      await o.side.secureFront({ op: "apply", average });
      return [...fronts.clinics];
    } catch (e) {
      if (!(e instanceof SecAggError) || e.code !== "BELOW_THRESHOLD") throw e;
    }
    // Refused below the threshold: wait, front unchanged, for the server's next attempt.
    do {
      await sleep(pollMs);
      fronts = await o.request({ type: "FETCH_FRONTS", epoch: round });
    } while (fronts.secaggRound === n);
  }
}
