/**
 * The server side of one secure-aggregation round (Bonawitz et al., CCS 2017, Fig. 4,
 * semi-honest server): a relay and an adder that learns the weighted sum of the surviving
 * clinics' weights and their total sample count, and nothing about any one clinic.
 *
 * The caller feeds every arriving message to `receive()` and decides when a phase is over (a
 * deadline, or everyone answered), then closes it:
 *
 * 1. advertise → `closeAdvertise()` → the roster U1 (names sorted, keys from the server's own
 *    allowlist), the threshold t, vector length and fixed-point parameters, for every clinic;
 * 2. shares → `closeShares()` → per clinic of U2 (those who sent shares) a relay of the
 *    envelopes addressed to it;
 * 3. masked → `closeMasked()` → the unmask request: U3 (whose masked input arrived) and
 *    U2 \ U3 (dropped);
 * 4. reveal → `finish()` → rebuilds b_v (v ∈ U3) and s_{u,v} (u dropped, v ∈ U3) from t
 *    shares each, removes their masks from Σ_{v ∈ U3} y_v and decodes the weighted average.
 *
 * Every close refuses with `BELOW_THRESHOLD` when fewer than t clinics are left; the round is
 * then over (`OUT_OF_ORDER` afterwards) and never yields a sum: the caller retries with a new
 * round number. Up to n − t clinics may drop at any step, including after uploading their
 * masked input (their b shares come from the others).
 *
 * @example
 * ```ts
 * import { SecAggServer } from "./secagg_server.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const clinics = ["a", "b", "c"].map((name) => ({ name, publicKey: generateKeyPair().publicKey }));
 * const s = new SecAggServer({ study: "s", round: 1, clinics, vectorLength: 10 });
 * try {
 *   s.closeAdvertise();
 * } catch (e) {
 *   console.log((e as { code: string }).code); // BELOW_THRESHOLD
 * }
 * ```
 * @module
 */
import { equalBytes } from "@noble/ciphers/utils.js";
import {
  checkFixedPoint,
  decodeSum,
  DEFAULT_FIXED_POINT,
  type FixedPointParams,
} from "./fixed_point.ts";
import { applyMask } from "./mask_prg.ts";
import { SEED_LENGTH } from "./pairwise_seed.ts";
import { checkSortedNames, checkThreshold, defaultThreshold, maskSign } from "./secagg_roster.ts";
import { SecAggError } from "./secagg_error.ts";
import type { RosterEntry, SecAggMessage, SecAggMessageOf } from "./secagg_messages.ts";
import { combineShares, type Share } from "./shamir.ts";

/**
 * What a {@link SecAggServer} needs: the round, the invited clinics (names and static keys from
 * the server's allowlist), the vector length, and optionally the threshold (default
 * ⌊n/2⌋ + 1 of the invited n) and fixed-point parameters (default `DEFAULT_FIXED_POINT`).
 *
 * @example
 * ```ts
 * import type { SecAggServerOptions } from "./secagg_server.ts";
 * const o: SecAggServerOptions = { study: "s", round: 0, clinics: [], vectorLength: 4, threshold: 2 };
 * ```
 */
export interface SecAggServerOptions {
  study: string;
  round: number;
  clinics: readonly RosterEntry[];
  vectorLength: number;
  threshold?: number;
  params?: FixedPointParams;
}

/**
 * What a completed round gives: the weighted average of the survivors' weights, their total
 * sample count, and who was in and out.
 *
 * @example
 * ```ts
 * import type { SecAggResult } from "./secagg_server.ts";
 * const r: SecAggResult = { average: new Float32Array(2), totalSamples: 10, included: ["a", "b"], dropped: [] };
 * ```
 */
export interface SecAggResult {
  readonly average: Float32Array;
  readonly totalSamples: number;
  /** U3: the clinics whose input is in the average. */
  readonly included: readonly string[];
  /** Invited clinics whose input is not in the average, sorted. */
  readonly dropped: readonly string[];
}

type Phase = "advertise" | "shares" | "masked" | "unmask" | "done" | "refused";
const PHASE_OF: Readonly<Record<SecAggMessage["type"], Phase | null>> = {
  advertise: "advertise",
  shares: "shares",
  masked: "masked",
  reveal: "unmask",
  roster: null,
  relay: null,
  unmask: null,
};

/**
 * The server side of one round (see the module notes).
 *
 * @example
 * ```ts
 * import { SecAggServer } from "./secagg_server.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const clinics = ["a", "b"].map((name) => ({ name, publicKey: generateKeyPair().publicKey }));
 * const s = new SecAggServer({ study: "s", round: 0, clinics, vectorLength: 1 });
 * console.log(s.phase, s.threshold); // advertise 2
 * ```
 */
export class SecAggServer {
  readonly #o: SecAggServerOptions;
  readonly #params: FixedPointParams;
  readonly #keys: Map<string, Uint8Array>;
  readonly #threshold: number;
  #phase: Phase = "advertise";
  #u1: string[] = [];
  #u2: string[] = [];
  #u3: string[] = [];
  #advertised = new Set<string>();
  #shares = new Map<string, SecAggMessageOf<"shares">>();
  #masked = new Map<string, Uint32Array>();
  #reveals = new Map<string, SecAggMessageOf<"reveal">>();

  /**
   * @param options see {@link SecAggServerOptions}
   * @throws {SecAggError} `INVALID_PARAMS`, `OVERFLOW_RISK`, `MALFORMED_MESSAGE` (a name twice)
   */
  constructor(options: SecAggServerOptions) {
    this.#o = options;
    this.#params = options.params ?? DEFAULT_FIXED_POINT;
    this.#keys = new Map(options.clinics.map((c) => [c.name, c.publicKey]));
    if (this.#keys.size !== options.clinics.length) {
      throw new SecAggError("MALFORMED_MESSAGE", "a clinic is invited twice");
    }
    const n = options.clinics.length;
    this.#threshold = options.threshold ?? defaultThreshold(n);
    checkThreshold(this.#threshold, n);
    checkFixedPoint(this.#params, n);
    const len = options.vectorLength;
    if (!Number.isInteger(len) || len < 0 || len >= 2 ** 30) {
      throw new SecAggError(
        "INVALID_PARAMS",
        `vector length ${len} is not an integer in [0, 2^30)`,
      );
    }
  }

  /** The current phase: `advertise`, `shares`, `masked`, `unmask`, `done` or `refused`. */
  get phase(): Phase {
    return this.#phase;
  }

  /** The threshold t of this round. */
  get threshold(): number {
    return this.#threshold;
  }

  /**
   * Takes one clinic message of the current phase. Messages of another round or study, of a
   * phase already closed, from a clinic not (or no longer) in the round, or a second message
   * from one clinic are refused; the round goes on.
   *
   * @throws {SecAggError} `OUT_OF_ORDER`, `UNKNOWN_CLINIC`, `MALFORMED_MESSAGE`
   * @example
   * ```ts
   * // tests/crypto/secagg/secagg_protocol_test.ts runs whole rounds.
   * ```
   */
  receive(m: SecAggMessage): void {
    if (m.study !== this.#o.study || m.round !== this.#o.round) {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `message of study ${m.study} round ${m.round}; this is ${this.#o.study} round ${this.#o.round}`,
      );
    }
    if (PHASE_OF[m.type] !== this.#phase) {
      throw new SecAggError(
        "OUT_OF_ORDER",
        `${m.type} message while the round is in phase ${this.#phase}`,
      );
    }
    if (m.type === "advertise") return this.#onAdvertise(m);
    if (m.type === "shares") {
      return this.#take(this.#shares, this.#u1, m.from, m, () => this.#checkShares(m));
    }
    if (m.type === "masked") {
      return this.#take(this.#masked, this.#u2, m.from, m.masked, () => this.#checkMasked(m));
    }
    if (m.type === "reveal") {
      return this.#take(this.#reveals, this.#u3, m.from, m, () => this.#checkReveal(m));
    }
  }

  #take<T>(
    into: Map<string, T>,
    members: readonly string[],
    from: string,
    value: T,
    check: () => void,
  ): void {
    if (!members.includes(from)) {
      throw new SecAggError("UNKNOWN_CLINIC", `${from} is not in this phase of the round`);
    }
    if (into.has(from)) {
      throw new SecAggError("MALFORMED_MESSAGE", `a second message from ${from} in this phase`);
    }
    check();
    into.set(from, value);
  }

  #onAdvertise(m: SecAggMessageOf<"advertise">): void {
    const key = this.#keys.get(m.from);
    if (key === undefined || !equalBytes(key, m.publicKey)) {
      throw new SecAggError(
        "UNKNOWN_CLINIC",
        `${m.from} is not invited, or its key is not the allowlist's`,
      );
    }
    if (this.#advertised.has(m.from)) {
      throw new SecAggError("MALFORMED_MESSAGE", `a second advertise from ${m.from}`);
    }
    this.#advertised.add(m.from);
  }

  #checkShares(m: SecAggMessageOf<"shares">): void {
    const want = this.#u1.filter((n) => n !== m.from);
    const got = m.envelopes.map((e) => e.to);
    if (got.length !== want.length || got.some((t, i) => t !== want[i])) {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `shares from ${m.from} go to [${got}]; the roster implies [${want}]`,
      );
    }
  }

  #checkMasked(m: SecAggMessageOf<"masked">): void {
    if (m.masked.length !== this.#o.vectorLength + 1) {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `masked input of ${m.from} has ${m.masked.length} words; expected ${
          this.#o.vectorLength + 1
        }`,
      );
    }
  }

  #checkReveal(m: SecAggMessageOf<"reveal">): void {
    for (const s of m.shares) {
      if (s.share.length !== SEED_LENGTH) {
        throw new SecAggError(
          "MALFORMED_MESSAGE",
          `a share revealed by ${m.from} is ${s.share.length} bytes; expected ${SEED_LENGTH}`,
        );
      }
    }
  }

  #close(from: Phase, to: Phase, left: number, what: string): void {
    if (this.#phase !== from) {
      throw new SecAggError(
        "OUT_OF_ORDER",
        `cannot close ${from}: the round is in phase ${this.#phase}`,
      );
    }
    if (left < this.#threshold) {
      this.#phase = "refused";
      this.#masked.clear(); // nothing of a refused round is kept
      throw new SecAggError(
        "BELOW_THRESHOLD",
        `${left} ${what}; the threshold is ${this.#threshold}: the round is refused, retry with a new round number`,
      );
    }
    this.#phase = to;
  }

  /**
   * Ends the advertise phase: U1 = the clinics that advertised.
   *
   * @throws {SecAggError} `BELOW_THRESHOLD`, `OUT_OF_ORDER`
   * @example
   * ```ts
   * // tests/crypto/secagg/secagg_protocol_test.ts runs whole rounds.
   * ```
   */
  closeAdvertise(): SecAggMessageOf<"roster"> {
    this.#close("advertise", "shares", this.#advertised.size, "clinics advertised");
    this.#u1 = [...this.#advertised].sort();
    const o = this.#o;
    return {
      type: "roster",
      study: o.study,
      round: o.round,
      threshold: this.#threshold,
      vectorLength: o.vectorLength,
      params: this.#params,
      clinics: this.#u1.map((name) => ({ name, publicKey: this.#keys.get(name)! })),
    };
  }

  /**
   * Ends the share phase: U2 = the clinics that sent shares; returns each one's relay.
   *
   * @throws {SecAggError} `BELOW_THRESHOLD`, `OUT_OF_ORDER`
   * @example
   * ```ts
   * // tests/crypto/secagg/secagg_protocol_test.ts runs whole rounds.
   * ```
   */
  closeShares(): Map<string, SecAggMessageOf<"relay">> {
    this.#close("shares", "masked", this.#shares.size, "clinics sent shares");
    this.#u2 = [...this.#shares.keys()].sort();
    const o = this.#o, relays = new Map<string, SecAggMessageOf<"relay">>();
    for (const to of this.#u2) {
      const envelopes = this.#u2.filter((u) => u !== to).map((from) => ({
        from,
        blob: this.#shares.get(from)!.envelopes.find((e) => e.to === to)!.blob,
      }));
      relays.set(to, {
        type: "relay",
        study: o.study,
        round: o.round,
        to,
        senders: this.#u2,
        envelopes,
      });
    }
    this.#shares.clear();
    return relays;
  }

  /**
   * Ends the masked-input phase: U3 = the clinics whose masked input arrived.
   *
   * @throws {SecAggError} `BELOW_THRESHOLD`, `OUT_OF_ORDER`
   * @example
   * ```ts
   * // tests/crypto/secagg/secagg_protocol_test.ts runs whole rounds.
   * ```
   */
  closeMasked(): SecAggMessageOf<"unmask"> {
    this.#close("masked", "unmask", this.#masked.size, "masked inputs arrived");
    this.#u3 = [...this.#masked.keys()].sort();
    const dropped = this.#u2.filter((n) => !this.#masked.has(n));
    return {
      type: "unmask",
      study: this.#o.study,
      round: this.#o.round,
      survivors: this.#u3,
      dropped,
    };
  }

  /** The shares revealed of one secret (b_of, or s_{of,peer}), as Shamir shares at the revealers' indices. */
  #sharesOf(of: string, peer: string | undefined): Share[] {
    const out: Share[] = [];
    for (const [from, m] of this.#reveals) {
      const s = m.shares.find((x) => x.of === of && x.peer === peer);
      if (s !== undefined) out.push({ index: this.#u1.indexOf(from) + 1, value: s.share });
    }
    return out;
  }

  /**
   * Ends the round: removes every survivor's self mask and every dropped clinic's pairwise
   * masks from the sum of the masked inputs, and decodes the weighted average.
   *
   * @throws {SecAggError} `BELOW_THRESHOLD` (fewer than t reveals, or fewer than t shares of a
   *   needed secret), `OUT_OF_ORDER`, `MALFORMED_MESSAGE` (a sum that does not decode)
   * @example
   * ```ts
   * // tests/crypto/secagg/secagg_protocol_test.ts runs whole rounds.
   * ```
   */
  finish(): SecAggResult {
    this.#close("unmask", "done", this.#reveals.size, "clinics revealed shares");
    const t = this.#threshold, sum = new Uint32Array(this.#o.vectorLength + 1);
    const need = (of: string, peer?: string) => {
      const shares = this.#sharesOf(of, peer);
      if (shares.length < t) {
        this.#phase = "refused";
        throw new SecAggError(
          "BELOW_THRESHOLD",
          `${shares.length} shares of a mask seed of ${of}; the threshold is ${t}: the round is refused`,
        );
      }
      return combineShares(shares, t);
    };
    for (const y of this.#masked.values()) {
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] + y[i]) >>> 0;
    }
    for (const v of this.#u3) {
      const b = need(v);
      applyMask(sum, b, -1);
      b.fill(0);
    }
    const dropped = this.#u2.filter((n) => !this.#masked.has(n));
    for (const u of dropped) {
      for (const v of this.#u3) {
        const s = need(u, v);
        applyMask(sum, s, maskSign(v, u) === 1 ? -1 : 1); // v added Δ_{v,u}·PRG(s_uv): take it out
        s.fill(0);
      }
    }
    this.#masked.clear(), this.#reveals.clear();
    const { average, totalSamples } = decodeSum(sum, this.#params, this.#u1.length);
    const notIn = [...this.#keys.keys()].filter((n) => !this.#u3.includes(n)).sort();
    checkSortedNames(this.#u3, "survivors");
    return { average, totalSamples, included: this.#u3, dropped: notIn };
  }
}
