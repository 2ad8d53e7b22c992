/**
 * A trainer's round partial (docs/design/scale_out.md, "Rounds across replicas"): what one
 * trainer contributes to round `r` once its clinics are through (or dropped) — its
 * replica's state (parameters, buffers, optimizer state), the samples each clinic trained on,
 * the clinics covered and dropped, the fronts those clinics sealed to the others, and those
 * clinics' records (last request key and cached reply, progress, step count). Stored as
 * `round/<r>/<trainer>-<n>` in the object store, in the server checkpoint's encoding
 * (`runtime/server/checkpoint.ts`: an `.npz` with a JSON meta member), tensors named
 * `state/<name>`, `reply/<clinic>` and `front/<sender>/<recipient>`.
 *
 * @example
 * ```ts
 * import { decodePartial, encodePartial, partialName } from "./round_partial.ts";
 * const name = partialName(3, "t1", 0);
 * const p = decodePartial(encodePartial({ round: 3, trainer: "t1", n: 0, clinics: [], dropped: ["a"],
 *   samples: {}, state: new Map(), records: {}, fronts: {} }), name);
 * console.log(name, p.dropped); // round/3/t1-0 ["a"]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../server/checkpoint.ts";

/**
 * One clinic's record as a partial carries it (`ClinicRecord` less traffic counters).
 *
 * @example
 * ```ts
 * import type { PartialRecord } from "./round_partial.ts";
 * const r: PartialRecord = { lastKey: "TURN_DONE:0", lastReply: null, progress: "0:4", steps: 5 };
 * ```
 */
export interface PartialRecord {
  lastKey: string | null;
  lastReply: Uint8Array | null;
  progress: string | null;
  steps: number;
}

/**
 * A round partial, decoded.
 *
 * @example
 * ```ts
 * import type { RoundPartial } from "./round_partial.ts";
 * function weight(p: RoundPartial) { return p.clinics.reduce((a, c) => a + (p.samples[c] ?? 0), 0); }
 * ```
 */
export interface RoundPartial {
  round: number;
  trainer: string;
  /** The trainer's partials of this round before this one (a takeover writes a second). */
  n: number;
  /** Clinics through the round on this replica, in the study's order. */
  clinics: string[];
  /** Clinics dropped from the round (silent past the turn timeout). */
  dropped: string[];
  /** Samples each clinic of `clinics` trained on this round. */
  samples: Record<string, number>;
  /** The replica's state at the end of these clinics' round. */
  state: Map<string, Tensor>;
  /** The records of the clinics covered (`clinics` and `dropped`). */
  records: Record<string, PartialRecord>;
  /** The fronts each clinic of `clinics` sealed, by recipient (empty with private fronts). */
  fronts: Record<string, Record<string, Uint8Array>>;
}

/**
 * The object name of trainer `trainer`'s partial `n` of round `round`.
 *
 * @example
 * ```ts
 * import { partialName } from "./round_partial.ts";
 * console.log(partialName(0, "trainer-1", 1)); // round/0/trainer-1-1
 * ```
 */
export function partialName(round: number, trainer: string, n: number): string {
  return `${roundPrefix(round)}${trainer}-${n}`;
}

/**
 * The name prefix of round `round`'s partials.
 *
 * @example
 * ```ts
 * import { roundPrefix } from "./round_partial.ts";
 * console.log(roundPrefix(12)); // round/12/
 * ```
 */
export function roundPrefix(round: number): string {
  return `round/${round}/`;
}

/**
 * The round of a partial's name, or null for a name of another shape.
 *
 * @example
 * ```ts
 * import { roundOfName } from "./round_partial.ts";
 * console.log(roundOfName("round/7/t1-0"), roundOfName("blob/x")); // 7 null
 * ```
 */
export function roundOfName(name: string): number | null {
  const m = /^round\/(\d+)\//.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * The sample weight of a partial in the round's average: the samples of its clinics.
 *
 * @example
 * ```ts
 * import { partialWeight } from "./round_partial.ts";
 * console.log(partialWeight({ clinics: ["a", "b"], samples: { a: 20, b: 12 } })); // 32
 * ```
 */
export function partialWeight(p: Pick<RoundPartial, "clinics" | "samples">): number {
  return p.clinics.reduce((a, c) => a + (p.samples[c] ?? 0), 0);
}

/**
 * The partial as bytes.
 *
 * @example
 * ```ts
 * import { encodePartial } from "./round_partial.ts";
 * const bytes = encodePartial({ round: 0, trainer: "t", n: 0, clinics: [], dropped: [], samples: {}, state: new Map(), records: {}, fronts: {} });
 * console.log(bytes.length > 0); // true
 * ```
 */
export function encodePartial(p: RoundPartial): Uint8Array {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of p.state) tensors.set(`state/${k}`, t);
  const records: Record<string, Omit<PartialRecord, "lastReply">> = {};
  for (const [c, r] of Object.entries(p.records)) {
    records[c] = { lastKey: r.lastKey, progress: r.progress, steps: r.steps };
    if (r.lastReply) tensors.set(`reply/${c}`, tensor("uint8", [r.lastReply.length], r.lastReply));
  }
  for (const [from, byRecipient] of Object.entries(p.fronts)) {
    for (const [to, blob] of Object.entries(byRecipient)) tensors.set(`front/${from}/${to}`, tensor("uint8", [blob.length], blob));
  }
  const meta = { round: p.round, trainer: p.trainer, n: p.n, clinics: p.clinics, dropped: p.dropped, samples: p.samples, records };
  return encodeCheckpoint({ meta, tensors });
}

/**
 * Reads a partial stored under `name`.
 *
 * @throws {TypeError} for bytes that are not a round partial (naming `name` and what is wrong)
 * @example
 * ```ts
 * import { decodePartial } from "./round_partial.ts";
 * try { decodePartial(new Uint8Array([1, 2]), "round/0/t-0"); } catch (e) { console.log((e as Error).name); } // TypeError
 * ```
 */
export function decodePartial(bytes: Uint8Array, name: string): RoundPartial {
  const ck = decodeCheckpoint(bytes, name);
  const m = ck.meta as Partial<Omit<RoundPartial, "state" | "fronts">> & { records?: Record<string, Omit<PartialRecord, "lastReply">> };
  if (
    !Number.isInteger(m.round) || typeof m.trainer !== "string" || !Number.isInteger(m.n) ||
    !Array.isArray(m.clinics) || !Array.isArray(m.dropped) || typeof m.samples !== "object" || typeof m.records !== "object"
  ) {
    throw new TypeError(`${name}: not a round partial (meta needs round, trainer, n, clinics, dropped, samples, records)`);
  }
  const state = new Map<string, Tensor>();
  const fronts: Record<string, Record<string, Uint8Array>> = {};
  const replies = new Map<string, Uint8Array>();
  for (const [k, t] of ck.tensors) {
    if (k.startsWith("state/")) state.set(k.slice(6), t);
    else if (k.startsWith("reply/")) replies.set(k.slice(6), t.data as Uint8Array);
    else {
      const f = /^front\/([^/]+)\/([^/]+)$/.exec(k);
      if (f) (fronts[f[1]] ??= {})[f[2]] = t.data as Uint8Array;
    }
  }
  const records: Record<string, PartialRecord> = {};
  for (const [c, r] of Object.entries(m.records!)) records[c] = { ...r, lastReply: replies.get(c) ?? null };
  return {
    round: m.round!,
    trainer: m.trainer,
    n: m.n!,
    clinics: m.clinics,
    dropped: m.dropped,
    samples: m.samples!,
    state,
    records,
    fronts,
  };
}
