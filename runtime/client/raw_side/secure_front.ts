/**
 * The raw side's half of secure front aggregation (`frontAggregation: "secagg"`,
 * docs/design/secure_aggregation.md#runtime, wiring step 4): the clinic's static key and its
 * front stay in the raw side, which runs the clinic's `SecAggClient` (through
 * `localSecAggStepper`) over the front flattened into one vector; the courier only carries the
 * protocol messages, as bytes, between this and the server.
 *
 * The vector is every float32 parameter and buffer of the clinic's segments, in the order
 * `collectSegmentState` lists them (segment by segment, parameters then buffers, each in the
 * runner's order), so every clinic running the same model flattens alike. Optimizer state is
 * not summed (each clinic keeps its own: Adam's moments would mostly round to zero at the
 * fixed-point resolution, and its step counter exceeds the clipping range); tensors of other
 * dtypes are kept too. Weights outside [−R, R] (R = `clipRange`, 4 by default) are clipped
 * before encoding (`crypto/secagg/fixed_point.ts`).
 *
 * One call shape, {@linkcode SecureFrontCall}, serves the four steps, so that the raw-side
 * RPC (`stub.ts`/`service.ts`) needs one method.
 *
 * @example
 * ```ts
 * import type { SecureFrontCall } from "./secure_front.ts";
 * const c: SecureFrontCall = { op: "length" };
 * ```
 * @module
 */
import type { Tensor } from "../../../models/tensor.ts";
import type { KeyPair } from "../../../crypto/noise/dh.ts";
import {
  decodeSecAggMessage,
  encodeSecAggMessage,
} from "../../../crypto/secagg/secagg_messages.ts";
import type { SecAggWant } from "../../protocol/secagg_payload.ts";
import { localSecAggStepper, type SecAggStepper } from "../secagg_client_round.ts";
import { applySegmentState, collectSegmentState, type SegmentSlot } from "../segment_state.ts";
import { RawSideError } from "./error.ts";

/**
 * One step of the raw side's secure aggregation:
 *
 * - `length`: how many weights the front vector has;
 * - `start`: a new round `round` of study `study` over the current front, weighted by
 *   `samples`, with the clinic's allowlist `peers` (name → static public key); answers the
 *   `advertise` message;
 * - `next`: one server message in; answers what to send next (none for a clinic listed as
 *   dropped) and what to wait for;
 * - `apply`: the round's average replaces the front's summed weights.
 *
 * @example
 * ```ts
 * import type { SecureFrontCall } from "./secure_front.ts";
 * const c: SecureFrontCall = { op: "apply", average: new Float32Array(3) };
 * ```
 */
export type SecureFrontCall =
  | { op: "length" }
  | {
    op: "start";
    study: string;
    round: number;
    samples: number;
    peers: ReadonlyMap<string, Uint8Array>;
  }
  | { op: "next"; message: Uint8Array }
  | { op: "apply"; average: Float32Array };

/**
 * The answer to a {@linkcode SecureFrontCall}: `length` for `length`, `message` (encoded
 * `SecAggMessage` bytes) for `start`, `message?` and `want` for `next`, nothing for `apply`.
 *
 * @example
 * ```ts
 * import type { SecureFrontResult } from "./secure_front.ts";
 * const r: SecureFrontResult = { message: new Uint8Array(1), want: "relay" };
 * ```
 */
export interface SecureFrontResult {
  length?: number;
  message?: Uint8Array;
  want?: SecAggWant;
}

/** The summed tensors of `slots`: float32 parameters and buffers, in collection order. */
function summedEntries(slots: readonly SegmentSlot[]): [string, Tensor][] {
  return [...collectSegmentState(slots)].filter(([k, t]) =>
    t.dtype === "float32" && /^[^:]+:(param|buffer):/.test(k)
  );
}

/**
 * The front vector of `slots` (see the module notes).
 *
 * @example
 * ```ts
 * import { frontVector } from "./secure_front.ts";
 * console.log(frontVector([]).length); // 0
 * ```
 */
export function frontVector(slots: readonly SegmentSlot[]): Float32Array {
  const entries = summedEntries(slots);
  const out = new Float32Array(entries.reduce((a, [, t]) => a + t.data.length, 0));
  let at = 0;
  for (const [, t] of entries) {
    out.set(t.data as Float32Array, at);
    at += t.data.length;
  }
  return out;
}

/**
 * A clinic's secure aggregation inside its raw side: at most one round at a time.
 *
 * @example
 * ```ts
 * import { SecureFront } from "./secure_front.ts";
 * import { generateKeyPair } from "../../../crypto/noise/dh.ts";
 * const f = new SecureFront("a", generateKeyPair());
 * console.log((await f.call([], { op: "length" })).length); // 0
 * ```
 */
export class SecureFront {
  readonly #name: string;
  readonly #keyPair: KeyPair | undefined;
  #stepper: SecAggStepper | null = null;

  /**
   * @param name this clinic's key name
   * @param keyPair its static key pair (the same the weight relay seals with)
   */
  constructor(name: string, keyPair: KeyPair | undefined) {
    this.#name = name;
    this.#keyPair = keyPair;
  }

  /**
   * Runs one step over the segments `slots`.
   *
   * @throws {RawSideError} `NO_KEY` without a key pair, `PROTOCOL` for `next` before `start`
   *   or a message that does not decode, `WEIGHTS_INVALID` for an average of the wrong length;
   *   the `SecAggError` of the clinic's checks (a forged share, a roster key not in `peers`, …)
   */
  async call(slots: readonly SegmentSlot[], c: SecureFrontCall): Promise<SecureFrontResult> {
    if (c.op === "length") return { length: frontVector(slots).length };
    if (c.op === "apply") return this.#apply(slots, c.average);
    if (c.op === "start") {
      if (!this.#keyPair) {
        throw new RawSideError(
          "NO_KEY",
          `clinic ${this.#name} has no static key pair: it cannot take part in secure aggregation`,
        );
      }
      const peers = c.peers;
      this.#stepper = localSecAggStepper({
        name: this.#name,
        keyPair: this.#keyPair,
        peerKey: (n) => peers.get(n),
        study: c.study,
        round: c.round,
        weights: frontVector(slots),
        samples: c.samples,
      });
      return { message: encodeSecAggMessage(await this.#stepper.start()) };
    }
    if (!this.#stepper) throw new RawSideError("PROTOCOL", "secure aggregation: next before start");
    let m;
    try {
      m = decodeSecAggMessage(c.message);
    } catch (e) {
      throw new RawSideError("PROTOCOL", `secure aggregation: ${(e as Error).message}`);
    }
    const r = await this.#stepper.next(m);
    return r.out ? { message: encodeSecAggMessage(r.out), want: r.want } : { want: r.want };
  }

  #apply(slots: readonly SegmentSlot[], average: Float32Array): SecureFrontResult {
    const entries = summedEntries(slots);
    const total = entries.reduce((a, [, t]) => a + t.data.length, 0);
    if (average.length !== total) {
      throw new RawSideError(
        "WEIGHTS_INVALID",
        `secure average of ${average.length} weights, but this clinic's front has ${total}`,
      );
    }
    const state = collectSegmentState(slots);
    let at = 0;
    for (const [k, t] of entries) {
      state.set(
        k,
        {
          dtype: "float32",
          dims: [...t.dims],
          data: average.slice(at, at + t.data.length),
        } as Tensor,
      );
      at += t.data.length;
    }
    applySegmentState(slots, state, "secure average");
    this.#stepper = null;
    return {};
  }
}
