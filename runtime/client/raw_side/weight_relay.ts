/**
 * The hand-off of a clinic's weights to the next clinic of the turn order, through the server
 * as a relay that cannot read them: the state of the clinic's segments (params, buffers,
 * optimizer state; `segment_state.ts`) as `.npz`, sealed to the recipient's static key
 * (`crypto/seal/sealed_box.ts`) with associated data that binds the format and the split mode,
 * so a blob is never read as weights of another layout. The plaintext is wiped once sealed.
 *
 * @example
 * ```ts
 * import { openWeights, sealWeights } from "./weight_relay.ts";
 * import type { SegmentSlot } from "../segment_state.ts";
 * import type { KeyPair } from "../../../crypto/noise/dh.ts";
 * function relay(from: SegmentSlot[], to: SegmentSlot[], recipient: KeyPair) {
 *   const sealed = sealWeights(from, "vanilla", recipient.publicKey);
 *   openWeights(to, "vanilla", recipient, sealed, "clinic-b");
 * }
 * ```
 * @module
 */
import type { KeyPair } from "../../../crypto/noise/dh.ts";
import { open, seal } from "../../../crypto/seal/sealed_box.ts";
import { readNpz, writeNpz } from "../../data/npz.ts";
import { applySegmentState, collectSegmentState, type SegmentSlot } from "../segment_state.ts";
import type { RawSideMode } from "./api.ts";
import { RawSideError } from "./error.ts";

const utf8 = new TextEncoder();

/** Largest `.npz` of relayed weights read back (1 GiB). */
const MAX_WEIGHTS_BYTES = 1 << 30;

/**
 * Associated data of relayed weights: binds the format and the split mode, so a blob is never
 * read as weights of another layout.
 *
 * @example
 * ```ts
 * import { weightsAad } from "./weight_relay.ts";
 * console.log(new TextDecoder().decode(weightsAad("ushaped"))); // splitgate/clinic-weights/v1;mode=ushaped
 * ```
 */
export function weightsAad(mode: RawSideMode): Uint8Array {
  return utf8.encode(`splitgate/clinic-weights/v1;mode=${mode}`);
}

/**
 * Seals the state of `slots` to `recipientPublicKey`; the plaintext is wiped afterwards.
 *
 * @example
 * ```ts
 * import { sealWeights } from "./weight_relay.ts";
 * import type { SegmentSlot } from "../segment_state.ts";
 * function toPeer(slots: SegmentSlot[], peer: Uint8Array): Uint8Array { return sealWeights(slots, "vanilla", peer); }
 * ```
 */
export function sealWeights(
  slots: readonly SegmentSlot[],
  mode: RawSideMode,
  recipientPublicKey: Uint8Array,
): Uint8Array {
  const bytes = writeNpz(collectSegmentState(slots), { level: 1 });
  try {
    return seal(recipientPublicKey, bytes, weightsAad(mode));
  } finally {
    bytes.fill(0);
  }
}

/**
 * Opens weights sealed to this clinic and loads them into `slots`.
 *
 * @throws {RawSideError} `NO_KEY` without a key pair; `WEIGHTS_INVALID` for a plaintext that is
 *   not an `.npz` or does not fit the model; the sealed box's `NoiseError` for a blob that does
 *   not open
 * @example
 * ```ts
 * import { openWeights } from "./weight_relay.ts";
 * import { RawSideError } from "./error.ts";
 * import type { SegmentSlot } from "../segment_state.ts";
 * function noKey(slots: SegmentSlot[]) {
 *   try {
 *     openWeights(slots, "vanilla", undefined, new Uint8Array(0), "clinic-a");
 *   } catch (e) {
 *     console.log((e as RawSideError).code); // NO_KEY
 *   }
 * }
 * ```
 */
export function openWeights(
  slots: readonly SegmentSlot[],
  mode: RawSideMode,
  keyPair: KeyPair | undefined,
  sealed: Uint8Array,
  clinic: string,
): void {
  if (!keyPair) {
    throw new RawSideError(
      "NO_KEY",
      `clinic ${JSON.stringify(clinic)} has no key pair to open relayed weights`,
    );
  }
  const bytes = open(keyPair, sealed, weightsAad(mode));
  let state;
  try {
    state = readNpz(bytes, "relayed weights", { maxBytes: MAX_WEIGHTS_BYTES });
  } catch (e) {
    throw new RawSideError("WEIGHTS_INVALID", `relayed weights: ${(e as Error).message}`);
  }
  applySegmentState(slots, state, "relayed weights");
}
