/**
 * Secure aggregation of the parallel schedules' fronts (`frontAggregation: "secagg"`,
 * docs/design/secure_aggregation.md#runtime), server side: which secure-aggregation round
 * averages the fronts of which ended round, and the number that round gets.
 *
 * - Every clinic through a round says, in its `TURN_DONE`, how many weights its front has
 *   (`frontLength`); all must agree, since the sum is taken word by word.
 * - When a round ends, a block of {@linkcode SECAGG_ATTEMPTS} fresh round numbers is reserved
 *   for averaging its fronts, from a counter that only grows and goes into the round-end
 *   checkpoint, so it is on disk *before* the first of them is used: no number is ever reused
 *   within a study, even across server restarts (a reused number would reuse the pairwise
 *   seeds, and a seed revealed for a clinic dropped in one attempt would unmask it in the
 *   next; secure_aggregation.md "What a dropout costs"). A restarted server treats the block
 *   it read back as spent (`"stale"`) and reserves a new one, checkpointed before use.
 * - The first `FETCH_FRONTS` for the last ended round starts its aggregation.
 * - The aggregation runs detached: the request that started it returns at once, so the
 *   server's request lock is never held while it waits for the clinics' `SECAGG` polls.
 * - A refused attempt (`BELOW_THRESHOLD`: fewer than t clinics at some step) is retried with
 *   the next number of the block; after the last, or when fewer than two clinics are through
 *   the round (a "sum" of one front is that front), the server gives up on that round: its
 *   `FRONTS` say `secaggRound: 0` and every clinic keeps its own front.
 *
 * @example
 * ```ts
 * import { SecureFronts } from "./secure_fronts.ts";
 * import { SecAggRound } from "./secagg_round.ts";
 * const s = new SecureFronts(new SecAggRound({ study: "s", clinicKey: () => undefined }), () => {});
 * s.noteLength("a", 10);
 * console.log(s.snapshot()); // { next: 1, lengths: { a: 10 }, published: null }
 * s.publish(0);
 * console.log(s.startable(0)); // ready
 * ```
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Allowlist } from "../../crypto/keys/allowlist.ts";
import { runId } from "../../crypto/seal/sealed_envelope.ts";
import { SecAggError } from "../../crypto/secagg/secagg_error.ts";
import { ProtocolError } from "../protocol/mod.ts";
import { SecAggRound } from "./secagg_round.ts";

/** Round numbers reserved per ended round: the first attempt and its retries. */
export const SECAGG_ATTEMPTS = 3;

/**
 * Where the last ended round's aggregation stands.
 *
 * @example
 * ```ts
 * import type { AggregationState } from "./secure_fronts.ts";
 * const s: AggregationState = "gaveUp";
 * ```
 */
export type AggregationState = "idle" | "stale" | "running" | "done" | "gaveUp";

/**
 * What the checkpoint keeps: the next unused round number, the current round's front lengths,
 * and the last ended round's aggregation: its length, the round number of its (first or latest)
 * attempt and where it stands (read back as `"stale"` unless the server gave up: the process
 * that ran it is gone, and a new attempt block starts).
 *
 * @example
 * ```ts
 * import type { SecureFrontsMeta } from "./secure_fronts.ts";
 * const m: SecureFrontsMeta = { next: 4, lengths: {}, published: { epoch: 0, length: 10, round: 1, state: "done" } };
 * ```
 */
export interface SecureFrontsMeta {
  next: number;
  lengths: Record<string, number>;
  published: { epoch: number; length: number; round: number; state: AggregationState } | null;
}

/**
 * The aggregation state of one server (see the module notes).
 *
 * @example
 * ```ts
 * import { SecureFronts } from "./secure_fronts.ts";
 * import { SecAggRound } from "./secagg_round.ts";
 * const s = new SecureFronts(new SecAggRound({ study: "s", clinicKey: () => undefined }), () => {});
 * console.log(s.roundFor(0)); // null
 * ```
 */
export class SecureFronts {
  readonly #agg: SecAggRound;
  readonly #log: (line: string) => void;
  #next = 1;
  readonly #lengths = new Map<string, number>();
  #published: SecureFrontsMeta["published"] = null;

  /**
   * @param agg the server's secure-aggregation rounds (whose `handle` answers `SECAGG`)
   * @param log the server's log
   */
  constructor(agg: SecAggRound, log: (line: string) => void) {
    this.#agg = agg;
    this.#log = log;
  }

  /** The server's `SecAggRound`, to answer `SECAGG` polls. */
  get rounds(): SecAggRound {
    return this.#agg;
  }

  /**
   * Records the front length `clinic` announced at the end of its share of the current round.
   *
   * @throws {ProtocolError} `BAD_MESSAGE` for a missing length or one that differs from
   *   another clinic's in the round
   */
  noteLength(clinic: string, length: number | undefined): void {
    if (length === undefined || !Number.isSafeInteger(length) || length < 1) {
      throw new ProtocolError(
        "BAD_MESSAGE",
        `TURN_DONE from ${clinic} lacks frontLength (frontAggregation is "secagg": the server must know how many weights are summed)`,
      );
    }
    for (const [other, l] of this.#lengths) {
      if (other !== clinic && l !== length) {
        throw new ProtocolError(
          "BAD_MESSAGE",
          `TURN_DONE from ${clinic}: frontLength ${length}, but ${other} announced ${l} (every clinic must run the same front)`,
        );
      }
    }
    this.#lengths.set(clinic, length);
  }

  /**
   * Ends round `epoch` (after the round's fronts were published, before the round-end
   * checkpoint): reserves the round numbers of its aggregation, which is yet to start.
   */
  publish(epoch: number): void {
    const length = this.#lengths.values().next().value ?? 0;
    this.#published = { epoch, length, round: this.#next, state: "idle" };
    this.#next += SECAGG_ATTEMPTS;
    this.#lengths.clear();
  }

  /**
   * The secure-aggregation round number for the fronts of round `epoch`: null when `epoch` is
   * not the last ended round or its aggregation has not started; 0 when the server gave up.
   */
  roundFor(epoch: number): number | null {
    const p = this.#published;
    if (p === null || p.epoch !== epoch || p.state === "idle" || p.state === "stale") return null;
    return p.state === "gaveUp" ? 0 : p.round;
  }

  /**
   * Whether the aggregation of the last ended round (`epoch`) may start: `"ready"` with its
   * numbers on disk, `"reserve"` when a restarted server must first reserve a fresh block
   * ({@linkcode SecureFronts.reserve}) and checkpoint it, `"no"` when it runs or ran.
   */
  startable(epoch: number): "ready" | "reserve" | "no" {
    const p = this.#published;
    if (p === null || p.epoch !== epoch) return "no";
    return p.state === "idle" ? "ready" : p.state === "stale" ? "reserve" : "no";
  }

  /** A fresh block of round numbers for the last ended round, after a restart (see {@linkcode startable}). */
  reserve(): void {
    const p = this.#published!;
    p.round = this.#next;
    p.state = "idle";
    this.#next += SECAGG_ATTEMPTS;
  }

  /**
   * Starts the reserved block in the background over `clinics` (those through the round);
   * never awaits the clinics while the caller holds the server's lock.
   */
  start(clinics: readonly string[]): void {
    const p = this.#published!;
    p.state = "running";
    this.#attempts(p, [...clinics]).catch((e) => {
      p.state = "gaveUp";
      this.#log(
        `secure aggregation of round ${p.epoch}: ${
          (e as Error).message
        }; every clinic keeps its own front`,
      );
    });
  }

  async #attempts(p: NonNullable<SecureFrontsMeta["published"]>, clinics: string[]): Promise<void> {
    if (clinics.length < 2 || p.length === 0) {
      p.state = "gaveUp";
      this.#log(
        `round ${p.epoch}: ${clinics.length} clinic(s) through, too few to aggregate securely; every clinic keeps its own front`,
      );
      return;
    }
    const base = p.round;
    for (let k = 0; k < SECAGG_ATTEMPTS; k++) {
      p.round = base + k;
      try {
        const r = await this.#agg.aggregateWithReport(p.round, clinics, p.length);
        p.state = "done";
        this.#log(
          `round ${p.epoch}: fronts securely averaged (secagg round ${p.round}; ${r.included.length}/${clinics.length} clinics in the sum)`,
        );
        return;
      } catch (e) {
        if (!(e instanceof SecAggError) || e.code !== "BELOW_THRESHOLD") throw e;
        this.#log(`round ${p.epoch}: secagg round ${p.round} refused (${e.message})`);
      }
    }
    p.state = "gaveUp";
    this.#log(
      `round ${p.epoch}: secure aggregation refused ${SECAGG_ATTEMPTS} times; every clinic keeps its own front`,
    );
  }

  /** The checkpoint's part (see {@linkcode SecureFrontsMeta}). */
  snapshot(): SecureFrontsMeta {
    return {
      next: this.#next,
      lengths: Object.fromEntries(this.#lengths),
      published: this.#published && { ...this.#published },
    };
  }

  /** Takes over a checkpoint's part; an aggregation that was running starts again with fresh numbers. */
  restore(m: SecureFrontsMeta | undefined): void {
    this.#next = m?.next ?? 1;
    this.#lengths.clear();
    for (const [k, v] of Object.entries(m?.lengths ?? {})) this.#lengths.set(k, v);
    const p = m?.published;
    // A restarted server has no running round and no result to hand out: it starts again.
    this.#published = p ? { ...p, state: p.state === "gaveUp" ? "gaveUp" : "stale" } : null;
  }
}

/**
 * The secure study id of a server: the hex of its run id (`runId(serverPublicKey)`, the id the
 * clinics bind relayed weights to), so clinics and server agree on it without a setting and
 * the pairwise seeds of two servers' studies differ.
 *
 * @example
 * ```ts
 * import { secaggStudy } from "./secure_fronts.ts";
 * console.log(secaggStudy(new Uint8Array(32)).length); // 64
 * ```
 */
export function secaggStudy(serverPublicKey: Uint8Array): string {
  return bytesToHex(runId(serverPublicKey));
}

/**
 * The {@linkcode SecureFronts} of a server: clinic keys from its allowlist, each phase waiting
 * `phaseTimeoutMs` for missing clinics (the schedule's `turnTimeoutMs`).
 *
 * @example
 * ```ts
 * import { createSecureFronts } from "./secure_fronts.ts";
 * import { Allowlist } from "../../crypto/keys/allowlist.ts";
 * const s = createSecureFronts(new Uint8Array(32), new Allowlist([]), 1000, console.log);
 * console.log(s.roundFor(0)); // null
 * ```
 */
export function createSecureFronts(
  serverPublicKey: Uint8Array,
  allowlist: Allowlist,
  phaseTimeoutMs: number,
  log: (line: string) => void,
): SecureFronts {
  const keys = new Map(allowlist.entries.map((e) => [e.name, e.publicKey]));
  const agg = new SecAggRound({
    study: secaggStudy(serverPublicKey),
    clinicKey: (name) => keys.get(name),
    phaseTimeoutMs,
  });
  return new SecureFronts(agg, log);
}
