/**
 * What the server keeps of a parallel round's fronts (docs/design/parallel_schedules.md):
 * per clinic, the samples it trained on in the current round and, once it is through, the
 * blobs it sealed to every other clinic (`TURN_DONE`, the same sender-authenticated envelopes
 * as the sequential hand-off, `crypto/seal/sealed_envelope.ts`: the server relays them and can
 * neither read nor forge them). At a round's end the current round is published: from then on
 * `FETCH_FRONTS` answers each clinic with the blobs sealed to it and every completed clinic's
 * sample count, and each clinic averages the fronts itself inside its raw side
 * (`runtime/client/front_average.ts`). The server never holds a front in readable form.
 *
 * The published round goes into the round-end checkpoint (`front/<sender>/<recipient>` tensors
 * and `meta.fronts`), so a restarted server still hands out the fronts of the last round.
 *
 * @example
 * ```ts
 * import { RoundFronts } from "./round_fronts.ts";
 * const f = new RoundFronts();
 * f.addSamples("a", 64);
 * f.complete("a", { b: new Uint8Array([1]) });
 * f.publish(0, ["a", "b"]);
 * console.log(f.forClinic(0, "b").samples); // [64]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import { ProtocolError } from "../protocol/mod.ts";

/**
 * A published round: who completed it, their sample counts, and their blobs by sender then
 * recipient.
 *
 * @example
 * ```ts
 * import type { PublishedFronts } from "./round_fronts.ts";
 * const p: PublishedFronts = { epoch: 0, clinics: ["a"], samples: [10], blobs: new Map() };
 * ```
 */
export interface PublishedFronts {
  epoch: number;
  clinics: string[];
  samples: number[];
  blobs: Map<string, Map<string, Uint8Array>>;
}

/**
 * The fronts of the current and the last ended round.
 *
 * @example
 * ```ts
 * import { RoundFronts } from "./round_fronts.ts";
 * console.log(new RoundFronts().published); // null
 * ```
 */
export class RoundFronts {
  /** Samples trained per clinic in the current round (applied steps). */
  readonly samples = new Map<string, number>();
  /** Clinics through with the current round, with the blobs they sealed, by recipient. */
  readonly completed = new Map<string, Map<string, Uint8Array>>();
  published: PublishedFronts | null = null;

  /** Counts `n` samples of `clinic` in the current round. */
  addSamples(clinic: string, n: number): void {
    this.samples.set(clinic, (this.samples.get(clinic) ?? 0) + n);
  }

  /** Records that `clinic` is through the round, with its blobs by recipient (none: private fronts). */
  complete(clinic: string, sealed: Record<string, Uint8Array>): void {
    this.completed.set(clinic, new Map(Object.entries(sealed)));
  }

  /** Ends round `epoch`: publishes the completed clinics (in `order`) and starts the next round empty. */
  publish(epoch: number, order: readonly string[]): PublishedFronts {
    const clinics = order.filter((c) => this.completed.has(c));
    this.published = {
      epoch,
      clinics,
      samples: clinics.map((c) => this.samples.get(c) ?? 0),
      blobs: new Map(clinics.map((c) => [c, this.completed.get(c)!])),
    };
    this.samples.clear();
    this.completed.clear();
    return this.published;
  }

  /**
   * The `FRONTS` reply fields for `clinic` asking for round `epoch`.
   *
   * @throws {ProtocolError} `WRONG_EPOCH` unless `epoch` is the last published round
   */
  forClinic(
    epoch: number,
    clinic: string,
  ): {
    epoch: number;
    clinics: string[];
    samples: number[];
    sealedWeights: Record<string, Uint8Array>;
  } {
    const p = this.published;
    if (!p || p.epoch !== epoch) {
      throw new ProtocolError(
        "WRONG_EPOCH",
        `FETCH_FRONTS for round ${epoch}, but the last ended round is ${p ? p.epoch : "none"}`,
      );
    }
    const sealedWeights: Record<string, Uint8Array> = {};
    for (const [from, byRecipient] of p.blobs) {
      const blob = from !== clinic ? byRecipient.get(clinic) : undefined;
      if (blob) sealedWeights[from] = blob;
    }
    return { epoch: p.epoch, clinics: [...p.clinics], samples: [...p.samples], sealedWeights };
  }

  /** Adds the published round to checkpoint `tensors`; returns its `meta` part. */
  snapshot(
    tensors: Map<string, Tensor>,
  ): { epoch: number; clinics: string[]; samples: number[] } | null {
    const p = this.published;
    if (!p) return null;
    for (const [from, byRecipient] of p.blobs) {
      for (const [to, blob] of byRecipient) {
        tensors.set(`front/${from}/${to}`, tensor("uint8", [blob.length], blob));
      }
    }
    return { epoch: p.epoch, clinics: p.clinics, samples: p.samples };
  }

  /** Takes over the published round of a checkpoint (`meta.fronts` and its tensors). */
  restore(
    meta: { epoch: number; clinics: string[]; samples: number[] } | null | undefined,
    tensors: ReadonlyMap<string, Tensor>,
  ): void {
    this.samples.clear();
    this.completed.clear();
    if (!meta) {
      this.published = null;
      return;
    }
    const blobs = new Map<string, Map<string, Uint8Array>>(meta.clinics.map((c) => [c, new Map()]));
    for (const [k, t] of tensors) {
      const m = /^front\/([^/]+)\/([^/]+)$/.exec(k);
      if (m && blobs.has(m[1])) blobs.get(m[1])!.set(m[2], t.data as Uint8Array);
    }
    this.published = {
      epoch: meta.epoch,
      clinics: [...meta.clinics],
      samples: [...meta.samples],
      blobs,
    };
  }
}
