/**
 * Secure aggregation at a round's end, server side: runs one `SecAggServer` round
 * (crypto/secagg/) over the clinics' polls, which arrive inside the encrypted channel as
 * {@linkcode SecAggPoll} payloads (runtime/protocol/secagg_payload.ts). The server never
 * connects to a clinic; each phase ends when every clinic expected in it has answered, or after
 * `phaseTimeoutMs` (those missing are dropped, within the threshold).
 *
 * Wiring (docs/design/secure_aggregation.md#runtime): one `SecAggRound` per server; the
 * schedule calls `aggregate(round, clinicIds, vectorLength)` at a round's end where it would
 * average the fronts in the clear, and the channel's request handler passes each clinic's
 * payload to `handle(clinic, payload)` and returns its answer.
 *
 * @example
 * ```ts
 * import { SecAggRound } from "./secagg_round.ts";
 * const agg = new SecAggRound({ study: "study-1", clinicKey: () => undefined, phaseTimeoutMs: 10 });
 * try {
 *   await agg.aggregate(1, ["a", "b"], 4);
 * } catch (e) {
 *   console.log((e as { code: string }).code); // UNKNOWN_CLINIC
 * }
 * ```
 * @module
 */
import { equalBytes } from "@noble/ciphers/utils.js";
import type { FixedPointParams } from "../../crypto/secagg/fixed_point.ts";
import { SecAggError } from "../../crypto/secagg/secagg_error.ts";
import { encodeSecAggMessage, type SecAggMessage } from "../../crypto/secagg/secagg_messages.ts";
import { defaultThreshold } from "../../crypto/secagg/secagg_roster.ts";
import { type SecAggResult, SecAggServer } from "../../crypto/secagg/secagg_server.ts";
import {
  decodeSecAggPoll,
  encodeSecAggReply,
  type SecAggPoll,
  type SecAggReply,
  type SecAggWant,
} from "../protocol/secagg_payload.ts";

/**
 * What a {@link SecAggRound} needs.
 *
 * @example
 * ```ts
 * import type { SecAggRoundOptions } from "./secagg_round.ts";
 * const o: SecAggRoundOptions = { study: "study-1", clinicKey: () => undefined };
 * ```
 */
export interface SecAggRoundOptions {
  /** The study id every clinic's secagg client was configured with. */
  study: string;
  /** A clinic's static public key from the server's allowlist. */
  clinicKey: (name: string) => Uint8Array | undefined;
  /** Fixed-point parameters (default `DEFAULT_FIXED_POINT`: R 4, 2^11, 4096 samples). */
  params?: FixedPointParams;
  /** The threshold for n invited clinics (default ⌊n/2⌋ + 1). */
  threshold?: (n: number) => number;
  /** How long one phase waits for missing clinics, in ms (default 30 000). */
  phaseTimeoutMs?: number;
}

const PHASE_INDEX: Readonly<Record<SecAggMessage["type"], number>> = {
  advertise: 0,
  shares: 1,
  masked: 2,
  reveal: 3,
  roster: -1,
  relay: -1,
  unmask: -1,
};
const SERVER_PHASE_INDEX: Readonly<Record<string, number>> = {
  advertise: 0,
  shares: 1,
  masked: 2,
  unmask: 3,
};
const WANT_TYPE: Readonly<Record<SecAggWant, SecAggMessage["type"] | null>> = {
  roster: "roster",
  relay: "relay",
  unmask: "unmask",
  done: null,
};

interface Active {
  round: number;
  server: SecAggServer;
  expected: readonly string[];
  received: Set<string>;
  last: Map<string, Uint8Array>;
  outbox: Map<string, SecAggMessage>;
  wake: () => void;
}

/**
 * One server's secure aggregation, one round at a time (see the module notes).
 *
 * @example
 * ```ts
 * import { SecAggRound } from "./secagg_round.ts";
 * const agg = new SecAggRound({ study: "s", clinicKey: () => undefined });
 * console.log(agg.busy); // false
 * ```
 */
export class SecAggRound {
  readonly #o: SecAggRoundOptions;
  #active: Active | null = null;
  #finished: { round: number; included: readonly string[]; average: Float32Array } | null = null;
  #refused: { round: number; code: string; text: string } | null = null;

  /** @param options see {@link SecAggRoundOptions} */
  constructor(options: SecAggRoundOptions) {
    this.#o = options;
  }

  /** Whether a round is running. */
  get busy(): boolean {
    return this.#active !== null;
  }

  /**
   * Runs round `round` among `clinicIds` over vectors of `vectorLength` weights and returns
   * the sample-weighted average of the clinics that completed it.
   *
   * @throws {SecAggError} `BELOW_THRESHOLD` (the caller retries with a new round number),
   *   `UNKNOWN_CLINIC` (a clinic without a key), `INVALID_PARAMS`, `OVERFLOW_RISK`, `OUT_OF_ORDER`
   *   (a round already running)
   * @example
   * ```ts
   * // tests/runtime/server/secagg_round_test.ts runs rounds with clinics in one process.
   * ```
   */
  async aggregate(
    round: number,
    clinicIds: readonly string[],
    vectorLength: number,
  ): Promise<Float32Array> {
    return (await this.aggregateWithReport(round, clinicIds, vectorLength)).average;
  }

  /**
   * As {@link aggregate}, with the total sample count and who was in and out.
   *
   * @throws {SecAggError} as {@link aggregate}
   * @example
   * ```ts
   * // tests/runtime/server/secagg_round_test.ts runs rounds with clinics in one process.
   * ```
   */
  async aggregateWithReport(
    round: number,
    clinicIds: readonly string[],
    vectorLength: number,
  ): Promise<SecAggResult> {
    if (this.#active !== null) {
      throw new SecAggError(
        "OUT_OF_ORDER",
        `secure aggregation round ${this.#active.round} is still running`,
      );
    }
    const clinics = [...clinicIds].sort().map((name) => {
      const publicKey = this.#o.clinicKey(name);
      if (publicKey === undefined) {
        throw new SecAggError("UNKNOWN_CLINIC", `clinic ${name} has no key in the allowlist`);
      }
      return { name, publicKey };
    });
    const threshold = (this.#o.threshold ?? defaultThreshold)(clinics.length);
    const server = new SecAggServer({
      study: this.#o.study,
      round,
      clinics,
      vectorLength,
      threshold,
      params: this.#o.params,
    });
    const a: Active = {
      round,
      server,
      expected: clinics.map((c) => c.name),
      received: new Set(),
      last: new Map(),
      outbox: new Map(),
      wake: () => {},
    };
    this.#active = a;
    try {
      await this.#collect(a);
      const roster = server.closeAdvertise();
      this.#post(a, roster.clinics.map((c) => c.name), () => roster);
      await this.#collect(a);
      const relays = server.closeShares();
      this.#post(a, [...relays.keys()], (c) => relays.get(c)!);
      await this.#collect(a);
      const request = server.closeMasked();
      this.#post(a, [...request.survivors, ...request.dropped], () => request, request.survivors);
      await this.#collect(a);
      const result = server.finish();
      this.#finished = { round, included: result.included, average: result.average };
      return result;
    } catch (e) {
      if (e instanceof SecAggError) this.#refused = { round, code: e.code, text: e.message };
      throw e;
    } finally {
      this.#active = null;
    }
  }

  #post(
    a: Active,
    to: readonly string[],
    message: (c: string) => SecAggMessage,
    expected = to,
  ): void {
    for (const c of to) a.outbox.set(c, message(c));
    a.expected = expected;
  }

  /** Waits until every expected clinic answered in this phase, or the phase timeout. */
  async #collect(a: Active): Promise<void> {
    const deadline = Date.now() + (this.#o.phaseTimeoutMs ?? 30_000);
    while (!a.expected.every((c) => a.received.has(c)) && Date.now() < deadline) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        a.wake = resolve;
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      });
      clearTimeout(timer);
    }
    a.received.clear();
  }

  /**
   * Answers one clinic's poll (the bytes of a {@linkcode SecAggPoll}) with the bytes of a
   * {@linkcode SecAggReply}. `clinic` is the name the encrypted channel authenticated; a
   * message naming another sender is refused. Never throws.
   *
   * @example
   * ```ts
   * import { SecAggRound } from "./secagg_round.ts";
   * import { decodeSecAggReply, encodeSecAggPoll } from "../protocol/secagg_payload.ts";
   * const agg = new SecAggRound({ study: "s", clinicKey: () => undefined });
   * console.log(decodeSecAggReply(agg.handle("a", encodeSecAggPoll({ round: 1, want: "roster" }))).status); // early
   * ```
   */
  handle(clinic: string, payload: Uint8Array): Uint8Array {
    let poll: SecAggPoll;
    try {
      poll = decodeSecAggPoll(payload);
    } catch (e) {
      return encodeSecAggReply({
        round: 0,
        status: "refused",
        code: "MALFORMED_MESSAGE",
        text: (e as Error).message,
      });
    }
    return encodeSecAggReply(this.#answer(clinic, poll));
  }

  #answer(clinic: string, poll: SecAggPoll): SecAggReply {
    const { round } = poll, a = this.#active;
    if (a !== null && a.round === round) {
      if (poll.message !== undefined) {
        const refusal = this.#take(a, clinic, poll.message);
        if (refusal !== null) return refusal;
      }
      const m = a.outbox.get(clinic);
      if (m !== undefined && m.type === WANT_TYPE[poll.want]) {
        return { round, status: "message", message: m };
      }
      return { round, status: "wait" };
    }
    if (this.#finished?.round === round) {
      const f = this.#finished;
      return poll.want === "done"
        ? { round, status: "done", included: f.included, average: f.average }
        : { round, status: "late" };
    }
    if (this.#refused?.round === round) {
      return { round, status: "refused", code: this.#refused.code, text: this.#refused.text };
    }
    if (a === null || round > a.round) return { round, status: "early" };
    return {
      round,
      status: "refused",
      code: "OUT_OF_ORDER",
      text: `round ${round} is over; round ${a.round} is running`,
    };
  }

  /** Feeds one clinic message to the round; returns a reply only when the clinic must hear something else than its poll's answer. */
  #take(a: Active, clinic: string, m: SecAggMessage): SecAggReply | null {
    const round = a.round;
    if (!("from" in m) || m.from !== clinic) {
      return {
        round,
        status: "refused",
        code: "UNKNOWN_CLINIC",
        text: `a ${m.type} message from ${clinic} must name it as sender`,
      };
    }
    const bytes = encodeSecAggMessage(m);
    const prev = a.last.get(clinic);
    if (prev !== undefined && equalBytes(prev, bytes)) return null; // a repeat: taken once
    const phase = SERVER_PHASE_INDEX[a.server.phase] ?? -1;
    if (PHASE_INDEX[m.type] < phase) return { round, status: "late" };
    try {
      a.server.receive(m);
    } catch (e) {
      if (!(e instanceof SecAggError)) throw e;
      return { round, status: "refused", code: e.code, text: e.message };
    }
    a.last.set(clinic, bytes);
    a.received.add(clinic);
    if (a.expected.every((c) => a.received.has(c))) a.wake();
    return null;
  }
}
