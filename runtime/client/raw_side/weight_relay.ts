/**
 * The hand-off of a clinic's weights to the next clinic of the turn order, through the server
 * as a relay that can neither read nor forge them: the state of the clinic's segments (params,
 * buffers, optimizer state; `segment_state.ts`) as `.npz`, in a sender-authenticated envelope
 * (`crypto/seal/sealed_envelope.ts`, Noise `K`) from this clinic's static key to the
 * recipient's, whose header binds sender, recipient, run, epoch (the sender's round) and
 * sequence number, and whose context binds the format and the split mode (so a blob is never
 * read as weights of another layout). The plaintext is wiped once sealed.
 *
 * No rollback: the recipient keeps the last accepted (epoch, seq) per sender (a
 * {@linkcode RelayLedger}, saved with the clinic checkpoint) and refuses a blob that is not
 * strictly newer, so a relay cannot hand back an older segment of a clinic, nor the same one
 * twice (docs/design/security_model.md).
 *
 * @example
 * ```ts
 * import { openWeights, sealWeights } from "./weight_relay.ts";
 * import type { SegmentSlot } from "../segment_state.ts";
 * import type { KeyPair } from "../../../crypto/noise/dh.ts";
 * function relay(from: SegmentSlot[], to: SegmentSlot[], a: KeyPair, b: KeyPair, run: Uint8Array) {
 *   const sealed = sealWeights(from, "vanilla", {
 *     me: "clinic-a", keyPair: a, to: { name: "clinic-b", publicKey: b.publicKey }, run, epoch: 0, seq: 1 });
 *   return openWeights(to, "vanilla", { me: "clinic-b", keyPair: b, run,
 *     peers: new Map([["clinic-a", a.publicKey]]), accepted: new Map() }, sealed); // { sender: "clinic-a", epoch: 0, seq: 1 }
 * }
 * ```
 * @module
 */
import type { KeyPair } from "../../../crypto/noise/dh.ts";
import { openEnvelope, sealEnvelope } from "../../../crypto/seal/sealed_envelope.ts";
import { readNpz, writeNpz } from "../../data/npz.ts";
import { isStringArray, type NpyArray } from "../../data/npy.ts";
import type { Tensor } from "../../../models/tensor.ts";
import { averageStates } from "../../train/state_average.ts";
import { applySegmentState, collectSegmentState, type SegmentSlot } from "../segment_state.ts";
import type { RawSideMode } from "./api.ts";
import { RawSideError } from "./error.ts";

const utf8 = new TextEncoder();

/** Largest `.npz` of relayed weights read back (1 GiB). */
const MAX_WEIGHTS_BYTES = 1 << 30;

/**
 * The last relayed weights accepted from one sender: its round and sealing counter.
 *
 * @example
 * ```ts
 * import type { RelayRecord } from "./weight_relay.ts";
 * const r: RelayRecord = { epoch: 2, seq: 7 };
 * ```
 */
export interface RelayRecord {
  readonly epoch: number;
  readonly seq: number;
}

/**
 * What a clinic remembers of the relay: the counter of the envelopes it sealed (`seq`, the
 * last one used) and, per sender, the last envelope it accepted.
 *
 * @example
 * ```ts
 * import type { RelayLedger } from "./weight_relay.ts";
 * const l: RelayLedger = { seq: 0, accepted: new Map([["clinic-a", { epoch: 0, seq: 1 }]]) };
 * ```
 */
export interface RelayLedger {
  seq: number;
  accepted: Map<string, RelayRecord>;
}

/**
 * Whether (epoch, seq) `a` is strictly newer than `b` (lexicographic: the round first).
 *
 * @example
 * ```ts
 * import { isNewer } from "./weight_relay.ts";
 * console.log(isNewer({ epoch: 2, seq: 1 }, { epoch: 1, seq: 9 }), isNewer({ epoch: 1, seq: 9 }, { epoch: 1, seq: 9 })); // true false
 * ```
 */
export function isNewer(a: RelayRecord, b: RelayRecord | undefined): boolean {
  return b === undefined || a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq);
}

/**
 * Context of relayed weights (authenticated, not sent): binds the format and the split mode,
 * so a blob is never read as weights of another layout.
 *
 * @example
 * ```ts
 * import { weightsAad } from "./weight_relay.ts";
 * console.log(new TextDecoder().decode(weightsAad("ushaped"))); // splitgate/clinic-weights/v2;mode=ushaped
 * ```
 */
export function weightsAad(mode: RawSideMode): Uint8Array {
  return utf8.encode(`splitgate/clinic-weights/v2;mode=${mode}`);
}

function needKey(keyPair: KeyPair | undefined, clinic: string, what: string): KeyPair {
  if (!keyPair) {
    throw new RawSideError("NO_KEY", `clinic ${JSON.stringify(clinic)} has no key pair to ${what}`);
  }
  return keyPair;
}

/**
 * How to seal: this clinic's name and key pair, the recipient, the run id
 * (`crypto/seal/sealed_envelope.ts` `runId`), the sender's round and its sealing counter.
 *
 * @example
 * ```ts
 * import type { SealWeightsOptions } from "./weight_relay.ts";
 * const o: SealWeightsOptions = { me: "clinic-a", keyPair: undefined,
 *   to: { name: "clinic-b", publicKey: new Uint8Array(32) }, run: new Uint8Array(32), epoch: 0, seq: 1 };
 * ```
 */
export interface SealWeightsOptions {
  me: string;
  keyPair: KeyPair | undefined;
  to: { name: string; publicKey: Uint8Array };
  run: Uint8Array;
  epoch: number;
  seq: number;
}

/**
 * Seals the state of `slots` from this clinic to `o.to`; the plaintext is wiped afterwards.
 *
 * @throws {RawSideError} `NO_KEY` without this clinic's key pair
 * @example
 * ```ts
 * import { sealWeights } from "./weight_relay.ts";
 * import type { SegmentSlot } from "../segment_state.ts";
 * import type { KeyPair } from "../../../crypto/noise/dh.ts";
 * function toPeer(slots: SegmentSlot[], me: KeyPair, peer: Uint8Array, run: Uint8Array): Uint8Array {
 *   return sealWeights(slots, "vanilla", { me: "a", keyPair: me, to: { name: "b", publicKey: peer }, run, epoch: 3, seq: 9 });
 * }
 * ```
 */
export function sealWeights(slots: readonly SegmentSlot[], mode: RawSideMode, o: SealWeightsOptions): Uint8Array {
  const sender = needKey(o.keyPair, o.me, "seal relayed weights");
  const bytes = writeNpz(collectSegmentState(slots), { level: 1 });
  try {
    return sealEnvelope({
      sender,
      recipientPublicKey: o.to.publicKey,
      header: { sender: o.me, recipient: o.to.name, run: o.run, epoch: o.epoch, seq: o.seq },
      plaintext: bytes,
      context: weightsAad(mode),
    });
  } finally {
    bytes.fill(0);
  }
}

/**
 * How to open: this clinic's name and key pair, its run id, the other clinics' public keys
 * (its peers file) and the last envelope accepted from each.
 *
 * @example
 * ```ts
 * import type { OpenWeightsOptions } from "./weight_relay.ts";
 * const o: OpenWeightsOptions = { me: "clinic-b", keyPair: undefined, run: new Uint8Array(32),
 *   peers: new Map([["clinic-a", new Uint8Array(32)]]), accepted: new Map() };
 * ```
 */
export interface OpenWeightsOptions {
  me: string;
  keyPair: KeyPair | undefined;
  run: Uint8Array;
  peers: ReadonlyMap<string, Uint8Array>;
  accepted: ReadonlyMap<string, RelayRecord>;
  /**
   * Weight w in (0, 1] of the relayed state against this clinic's own: the segments become
   * (1 − w)·own + w·relayed (default 1: replaced). Parallel schedules average fronts this way.
   */
  mix?: number;
}

/**
 * Opens weights sealed to this clinic, refuses them unless they are newer than the last
 * accepted from their sender, and loads them into `slots`. Returns who sealed them, at which
 * round and sequence number (the caller records it in its ledger).
 *
 * @throws {RawSideError} `NO_KEY` without a key pair; `WEIGHTS_REPLAYED` for an envelope not
 *   newer than the last accepted from its sender (a rollback or a replay); `WEIGHTS_INVALID`
 *   for a plaintext that is not an `.npz` or does not fit the model
 * @throws {NoiseError} from the envelope: `ENVELOPE_INVALID`, `WRONG_RECIPIENT`, `WRONG_RUN`,
 *   `UNKNOWN_PEER`, `BAD_TAG` (not sealed by that sender's key, e.g. forged by the relay)
 * @example
 * ```ts
 * import { openWeights } from "./weight_relay.ts";
 * import { RawSideError } from "./error.ts";
 * import type { SegmentSlot } from "../segment_state.ts";
 * function noKey(slots: SegmentSlot[]) {
 *   try {
 *     openWeights(slots, "vanilla", { me: "clinic-b", keyPair: undefined, run: new Uint8Array(32),
 *       peers: new Map(), accepted: new Map() }, new Uint8Array(0));
 *   } catch (e) {
 *     console.log((e as RawSideError).code); // NO_KEY
 *   }
 * }
 * ```
 */
export function openWeights(
  slots: readonly SegmentSlot[],
  mode: RawSideMode,
  o: OpenWeightsOptions,
  sealed: Uint8Array,
): { sender: string; epoch: number; seq: number } {
  const recipient = needKey(o.keyPair, o.me, "open relayed weights");
  const { header, plaintext } = openEnvelope({
    recipient,
    recipientName: o.me,
    run: o.run,
    senderKey: (name) => o.peers.get(name),
    blob: sealed,
    context: weightsAad(mode),
  });
  const last = o.accepted.get(header.sender);
  if (!isNewer(header, last)) {
    throw new RawSideError(
      "WEIGHTS_REPLAYED",
      `relayed weights from ${header.sender} are epoch ${header.epoch} seq ${header.seq}, ` +
        `not newer than the last accepted (epoch ${last!.epoch} seq ${last!.seq}): a replay or a rollback`,
    );
  }
  let state: Map<string, NpyArray>;
  try {
    state = readNpz(plaintext, "relayed weights", { maxBytes: MAX_WEIGHTS_BYTES });
  } catch (e) {
    throw new RawSideError("WEIGHTS_INVALID", `relayed weights: ${(e as Error).message}`);
  }
  const mix = o.mix ?? 1;
  if (!(mix > 0 && mix <= 1)) throw new RangeError(`mix ${mix}: expected a number in (0, 1]`);
  if (mix < 1) {
    if ([...state.values()].some(isStringArray)) throw new RawSideError("WEIGHTS_INVALID", "relayed weights: a string array is no weight");
    state = averageStates([
      { state: collectSegmentState(slots), weight: 1 - mix },
      { state: state as Map<string, Tensor>, weight: mix },
    ]);
  }
  applySegmentState(slots, state, "relayed weights");
  return { sender: header.sender, epoch: header.epoch, seq: header.seq };
}
