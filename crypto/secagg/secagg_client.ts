/**
 * The clinic side of one secure-aggregation round (Bonawitz et al., CCS 2017, Fig. 4, the
 * semi-honest variant without signatures or the consistency check: clinics authenticate each
 * other with their static keys instead). One object per round, used once, in this order:
 *
 * 1. `advertise()` → "advertise": this clinic's name and static key;
 * 2. `shareKeys(roster)`: checks the roster against this clinic's own allowlist, draws the
 *    self-mask seed b_u, derives s_{u,v} for every other clinic (`pairwise_seed.ts`), splits
 *    b_u and every s_{u,v} t-of-|U1| (`shamir.ts`) and seals each holder's shares to it
 *    (`share_envelope.ts`) → "shares";
 * 3. `maskedInput(relay, weights, samples)`: opens the relayed shares (refusing forged,
 *    replayed, misaddressed ones), encodes the weights (`fixed_point.ts`) and adds PRG(b_u)
 *    and ±PRG(s_{u,v}) for every v of U2 (`mask_prg.ts`) → "masked"; b_u and the seeds are
 *    wiped, only the others' shares remain;
 * 4. `unmask(request)`: reveals its shares of b_v for the survivors U3 and of s_{u,v} for the
 *    dropped U2 \ U3 (with v ∈ U3) only, and never both for one clinic → "reveal".
 *
 * Any error kills the object (`OUT_OF_ORDER` afterwards) and wipes its secrets: a round is
 * never resumed half-way; the caller starts a new round with a new round number.
 *
 * @example
 * ```ts
 * import { SecAggClient } from "./secagg_client.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const me = generateKeyPair();
 * const c = new SecAggClient({ name: "clinic-a", keyPair: me, peerKey: () => undefined, study: "s", round: 1 });
 * console.log(c.advertise().type); // advertise
 * ```
 * @module
 */
import { equalBytes } from "@noble/ciphers/utils.js";
import type { KeyPair } from "../noise/dh.ts";
import {
  checkFixedPoint,
  DEFAULT_FIXED_POINT,
  encodeWeighted,
  type FixedPointParams,
} from "./fixed_point.ts";
import { applyMask } from "./mask_prg.ts";
import { pairwiseSeed, SEED_LENGTH } from "./pairwise_seed.ts";
import { checkSortedNames, checkThreshold, maskSign } from "./secagg_roster.ts";
import { SecAggError, type SecAggErrorCode } from "./secagg_error.ts";
import type { RevealedShare, SecAggMessage, SecAggMessageOf } from "./secagg_messages.ts";
import { openShares, sealShares } from "./share_envelope.ts";
import { cryptoRandomBytes, type RandomBytes, splitSecret } from "./shamir.ts";

/**
 * What a {@link SecAggClient} needs.
 *
 * @example
 * ```ts
 * import type { SecAggClientOptions } from "./secagg_client.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const o: SecAggClientOptions = { name: "clinic-a", keyPair: generateKeyPair(), peerKey: () => undefined,
 *   study: "study-1", round: 0 };
 * ```
 */
export interface SecAggClientOptions {
  /** This clinic's key name (as in the allowlist). */
  name: string;
  /** This clinic's static key pair; the object keeps a reference, never a copy, and never wipes it. */
  keyPair: KeyPair;
  /** A clinic's static public key from this clinic's own allowlist (undefined: a stranger). */
  peerKey: (name: string) => Uint8Array | undefined;
  study: string;
  /** The aggregation round: a number never used before in this study (a retry takes a new one). */
  round: number;
  /** The fixed-point parameters this clinic accepts; a roster with others is refused. */
  params?: FixedPointParams;
  /** Randomness for b_u and the Shamir polynomials; the platform CSPRNG by default. */
  random?: RandomBytes;
}

type State = "new" | "advertised" | "shared" | "masked" | "done" | "dead";

/** My shares of one sender's secrets: of b_sender, and of s_{sender,v} per v. */
interface Held {
  b: Uint8Array;
  s: Map<string, Uint8Array>;
}

/**
 * One clinic's side of one round (see the module notes).
 *
 * @example
 * ```ts
 * import { SecAggClient } from "./secagg_client.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const c = new SecAggClient({ name: "a", keyPair: generateKeyPair(), peerKey: () => undefined, study: "s", round: 0 });
 * c.advertise();
 * try {
 *   c.advertise();
 * } catch (e) {
 *   console.log((e as { code: string }).code); // OUT_OF_ORDER
 * }
 * ```
 */
export class SecAggClient {
  readonly #o: SecAggClientOptions;
  readonly #params: FixedPointParams;
  readonly #random: RandomBytes;
  #state: State = "new";
  #roster: string[] = [];
  #threshold = 0;
  #vectorLength = 0;
  #u2: string[] = [];
  #selfSeed: Uint8Array | null = null;
  #seeds = new Map<string, Uint8Array>();
  #held = new Map<string, Held>();

  /** @param options see {@link SecAggClientOptions} */
  constructor(options: SecAggClientOptions) {
    this.#o = options;
    this.#params = options.params ?? DEFAULT_FIXED_POINT;
    this.#random = options.random ?? cryptoRandomBytes;
  }

  /** The state: `new`, `advertised`, `shared`, `masked`, `done` or `dead` (after an error). */
  get state(): State {
    return this.#state;
  }

  #step<T>(from: State, to: State, run: () => T): T {
    if (this.#state !== from) {
      throw new SecAggError(
        "OUT_OF_ORDER",
        `secagg client is ${this.#state}; this step needs ${from}`,
      );
    }
    try {
      const out = run();
      this.#state = to;
      return out;
    } catch (e) {
      this.#state = "dead";
      this.#wipe();
      throw e;
    }
  }

  #wipe(): void {
    this.#selfSeed?.fill(0);
    this.#selfSeed = null;
    for (const s of this.#seeds.values()) s.fill(0);
    this.#seeds.clear();
    for (const h of this.#held.values()) {
      h.b.fill(0);
      for (const s of h.s.values()) s.fill(0);
    }
    this.#held.clear();
  }

  #checkRef(m: SecAggMessage, type: SecAggMessage["type"]): void {
    if (m.type !== type || m.study !== this.#o.study || m.round !== this.#o.round) {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `expected ${type} of study ${this.#o.study} round ${this.#o.round}, got ${m.type} of ${m.study} round ${m.round}`,
      );
    }
  }

  /**
   * Step 1: announces this clinic for the round.
   *
   * @throws {SecAggError} `OUT_OF_ORDER`
   * @example
   * ```ts
   * import { SecAggClient } from "./secagg_client.ts";
   * import { generateKeyPair } from "../noise/dh.ts";
   * const c = new SecAggClient({ name: "a", keyPair: generateKeyPair(), peerKey: () => undefined, study: "s", round: 0 });
   * console.log(c.advertise().from); // a
   * ```
   */
  advertise(): SecAggMessageOf<"advertise"> {
    return this.#step("new", "advertised", () => ({
      type: "advertise",
      study: this.#o.study,
      round: this.#o.round,
      from: this.#o.name,
      publicKey: this.#o.keyPair.publicKey.slice(),
    }));
  }

  #checkRoster(m: SecAggMessageOf<"roster">): void {
    this.#checkRef(m, "roster");
    const names = m.clinics.map((c) => c.name);
    checkSortedNames(names, "roster");
    checkThreshold(m.threshold, names.length);
    if (!names.includes(this.#o.name)) {
      throw new SecAggError(
        "UNKNOWN_CLINIC",
        `roster of round ${m.round} does not list ${this.#o.name}`,
      );
    }
    for (const c of m.clinics) {
      const mine = c.name === this.#o.name ? this.#o.keyPair.publicKey : this.#o.peerKey(c.name);
      if (mine === undefined || !equalBytes(mine, c.publicKey)) {
        throw new SecAggError(
          "UNKNOWN_CLINIC",
          `roster key of ${c.name} is not the one in this clinic's allowlist`,
        );
      }
    }
    const p = m.params, q = this.#params;
    if (
      p.clipRange !== q.clipRange || p.scaleBits !== q.scaleBits || p.maxSamples !== q.maxSamples
    ) {
      throw new SecAggError(
        "INVALID_PARAMS",
        `roster params ${JSON.stringify(p)}; this clinic expects ${JSON.stringify(q)}`,
      );
    }
    checkFixedPoint(p, names.length);
    if (!Number.isInteger(m.vectorLength) || m.vectorLength < 0 || m.vectorLength >= 2 ** 30) {
      throw new SecAggError(
        "INVALID_PARAMS",
        `vector length ${m.vectorLength} is not an integer in [0, 2^30)`,
      );
    }
  }

  /**
   * Step 2: checks the roster, derives this round's seeds and seals one envelope of shares to
   * every other clinic of the roster.
   *
   * @throws {SecAggError} `OUT_OF_ORDER`, `MALFORMED_MESSAGE`, `UNKNOWN_CLINIC` (a name or key
   *   not in this clinic's allowlist), `INVALID_PARAMS`, `OVERFLOW_RISK`
   * @example
   * ```ts
   * // tests/crypto/secagg/secagg_protocol_test.ts runs whole rounds.
   * ```
   */
  shareKeys(roster: SecAggMessageOf<"roster">): SecAggMessageOf<"shares"> {
    return this.#step("advertised", "shared", () => {
      this.#checkRoster(roster);
      const o = this.#o, names = roster.clinics.map((c) => c.name);
      this.#roster = names,
        this.#threshold = roster.threshold,
        this.#vectorLength = roster.vectorLength;
      this.#selfSeed = this.#random(SEED_LENGTH).slice();
      const others = names.filter((n) => n !== o.name);
      for (const v of others) {
        this.#seeds.set(
          v,
          pairwiseSeed({
            own: o.keyPair,
            ownName: o.name,
            peerName: v,
            peerKey: o.peerKey(v)!,
            study: o.study,
            round: o.round,
          }),
        );
      }
      const secrets = [this.#selfSeed, ...others.map((v) => this.#seeds.get(v)!)];
      const indices = names.map((_, i) => i + 1);
      const split = secrets.map((s) => splitSecret(s, roster.threshold, indices, this.#random));
      const envelopes: { to: string; blob: Uint8Array }[] = [];
      names.forEach((w, k) => {
        const plaintext = new Uint8Array(SEED_LENGTH * secrets.length);
        split.forEach((shares, j) => plaintext.set(shares[k].value, SEED_LENGTH * j));
        if (w === o.name) this.#hold(o.name, plaintext);
        else {envelopes.push({
            to: w,
            blob: sealShares({
              sender: o.keyPair,
              from: o.name,
              to: w,
              recipientKey: o.peerKey(w)!,
              study: o.study,
              round: o.round,
              plaintext,
            }),
          });}
        plaintext.fill(0);
      });
      for (const shares of split) for (const s of shares) s.value.fill(0);
      return { type: "shares", study: o.study, round: o.round, from: o.name, envelopes };
    });
  }

  /** Keeps my shares of `sender`'s secrets, parsed from its plaintext (b share, then s shares in roster order). */
  #hold(sender: string, plaintext: Uint8Array): void {
    const others = this.#roster.filter((n) => n !== sender);
    const s = new Map<string, Uint8Array>();
    others.forEach((v, j) =>
      s.set(v, plaintext.slice(SEED_LENGTH * (j + 1), SEED_LENGTH * (j + 2)))
    );
    this.#held.set(sender, { b: plaintext.slice(0, SEED_LENGTH), s });
  }

  #openRelay(m: SecAggMessageOf<"relay">): void {
    this.#checkRef(m, "relay");
    const o = this.#o;
    if (m.to !== o.name) {
      throw new SecAggError("SHARE_MISADDRESSED", `relay is addressed to ${m.to}, not ${o.name}`);
    }
    checkSortedNames(m.senders, "relay senders");
    for (const s of m.senders) {
      if (!this.#roster.includes(s)) {
        throw new SecAggError("UNKNOWN_CLINIC", `relay sender ${s} is not in the roster`);
      }
    }
    if (!m.senders.includes(o.name)) {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `relay senders omit ${o.name}, which sent its shares`,
      );
    }
    this.#needThreshold(m.senders.length, "clinics sent shares");
    const want = m.senders.filter((s) => s !== o.name);
    const got = m.envelopes.map((e) => e.from);
    if (got.length !== want.length || got.some((f, i) => f !== want[i])) {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `relay carries envelopes from [${got}]; its senders imply [${want}]`,
      );
    }
    const expectedLength = SEED_LENGTH * this.#roster.length;
    for (const e of m.envelopes) {
      const plaintext = openShares({
        recipient: o.keyPair,
        to: o.name,
        study: o.study,
        round: o.round,
        from: e.from,
        senderKey: o.peerKey,
        blob: e.blob,
        expectedLength,
      });
      this.#hold(e.from, plaintext);
      plaintext.fill(0);
    }
    this.#u2 = [...m.senders];
  }

  #needThreshold(count: number, what: string, code: SecAggErrorCode = "BELOW_THRESHOLD"): void {
    if (count < this.#threshold) {
      throw new SecAggError(
        code,
        `${count} ${what}; the threshold is ${this.#threshold}: retry with a new round number`,
      );
    }
  }

  /**
   * Step 3: opens the relayed shares, then masks this clinic's weights (weighed by `samples`):
   * y_u = enc(x_u, m_u) + PRG(b_u) + Σ_{v ∈ U2, v ≠ u} Δ_{u,v} PRG(s_{u,v}) in Z_2^32.
   *
   * @throws {SecAggError} `SHARE_FORGED`, `SHARE_REPLAYED`, `SHARE_MISADDRESSED`,
   *   `SHARE_WRONG_STUDY`, `SHARE_MALFORMED`, `UNKNOWN_CLINIC`, `BELOW_THRESHOLD`,
   *   `MALFORMED_MESSAGE`, `INVALID_PARAMS` (weights of another length), `NON_FINITE`,
   *   `TOO_MANY_SAMPLES`, `OUT_OF_ORDER`
   * @example
   * ```ts
   * // tests/crypto/secagg/secagg_protocol_test.ts runs whole rounds.
   * ```
   */
  maskedInput(
    relay: SecAggMessageOf<"relay">,
    weights: Float32Array,
    samples: number,
  ): SecAggMessageOf<"masked"> {
    return this.#step("shared", "masked", () => {
      this.#openRelay(relay);
      if (weights.length !== this.#vectorLength) {
        throw new SecAggError(
          "INVALID_PARAMS",
          `weights have ${weights.length} values; the roster says ${this.#vectorLength}`,
        );
      }
      const o = this.#o;
      const y = encodeWeighted(weights, samples, this.#params, this.#roster.length);
      applyMask(y, this.#selfSeed!, 1);
      for (const v of this.#u2) {
        if (v !== o.name) applyMask(y, this.#seeds.get(v)!, maskSign(o.name, v));
      }
      this.#selfSeed!.fill(0);
      this.#selfSeed = null;
      for (const s of this.#seeds.values()) s.fill(0);
      this.#seeds.clear();
      return { type: "masked", study: o.study, round: o.round, from: o.name, masked: y };
    });
  }

  #checkUnmask(m: SecAggMessageOf<"unmask">): void {
    this.#checkRef(m, "unmask");
    checkSortedNames(m.survivors, "survivors");
    checkSortedNames(m.dropped, "dropped");
    const all = [...m.survivors, ...m.dropped].sort();
    if (all.length !== this.#u2.length || all.some((n, i) => n !== this.#u2[i])) {
      throw new SecAggError(
        "UNSAFE_REQUEST",
        `survivors and dropped must split the ${this.#u2.length} clinics that sent shares exactly once each`,
      );
    }
    if (!m.survivors.includes(this.#o.name)) {
      throw new SecAggError(
        "UNSAFE_REQUEST",
        `unmask request lists ${this.#o.name}, which uploaded its input, as dropped`,
      );
    }
    this.#needThreshold(m.survivors.length, "clinics survived");
  }

  /**
   * Step 4: reveals this clinic's shares of b_v for every survivor v and of s_{u,v} for every
   * dropped u and surviving v. Refuses a request whose two lists do not split U2 exactly (which
   * would reveal both masks of a clinic) or that leaves fewer than t survivors.
   *
   * @throws {SecAggError} `UNSAFE_REQUEST`, `BELOW_THRESHOLD`, `MALFORMED_MESSAGE`, `OUT_OF_ORDER`
   * @example
   * ```ts
   * // tests/crypto/secagg/secagg_protocol_test.ts runs whole rounds.
   * ```
   */
  unmask(request: SecAggMessageOf<"unmask">): SecAggMessageOf<"reveal"> {
    return this.#step("masked", "done", () => {
      this.#checkUnmask(request);
      const shares: RevealedShare[] = [];
      for (const v of request.survivors) {
        shares.push({ of: v, share: this.#held.get(v)!.b.slice() });
      }
      for (const u of request.dropped) {
        const held = this.#held.get(u)!;
        for (const v of request.survivors) {
          shares.push({ of: u, peer: v, share: held.s.get(v)!.slice() });
        }
      }
      this.#wipe();
      const o = this.#o;
      return { type: "reveal", study: o.study, round: o.round, from: o.name, shares };
    });
  }
}
