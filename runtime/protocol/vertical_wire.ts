/**
 * Messages of vertical split learning, inside the Noise channel (the same framing as the
 * horizontal protocol: `body_frames.ts` around `crypto/channel` frames):
 *
 * ```
 * u32 LE   length L of the JSON header {type, ...scalar fields}
 * L bytes  UTF-8 JSON header
 * rest     a tensor bundle (runtime/codec encodeTensors), possibly empty
 * ```
 *
 * | request (party → server) | reply | |
 * | --- | --- | --- |
 * | `V_PSI_PUT` {tag, round} + points (uint8) | `V_OK` | PSI relay: the party's message of a round |
 * | `V_PSI_GET` {tag, round} | `V_PSI` + points | the peer's message of that round (waits for it) |
 * | `V_FORWARD` {stepId} + activation [, labels] | `V_FORWARD_RESULT` {loss?} + cutGrad or headInput | a training step |
 * | `V_HEAD_BACKWARD` {stepId} + gradHeadInput | `V_FORWARD_RESULT` + cutGrad | U-shaped label party |
 * | `V_EVAL` {batchId} + activation | `V_EVAL_RESULT` [+ output] | evaluation (output to the label party) |
 * | `V_RESUME` {epoch} | `V_OK` {epoch} | resume point: every party's last checkpoint, agreed (`vertical_checkpoint.ts`) |
 * | `V_EPOCH_END` {epoch} | `V_OK` | epoch done at every party: the server checkpoints it, then the party |
 * | any | `V_ERROR` {code, message} | refused |
 *
 * @example
 * ```ts
 * import { decodeVertical, encodeVertical } from "./vertical_wire.ts";
 * const m = decodeVertical(encodeVertical({ type: "V_OK" }));
 * console.log(m.header.type); // "V_OK"
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { type BundleOptions, decodeTensors, encodeTensors } from "../codec/mod.ts";
import { ProtocolError } from "./protocol_error.ts";

/** The message types. */
export const VERTICAL_TYPES = [
  "V_PSI_PUT",
  "V_PSI_GET",
  "V_PSI",
  "V_OK",
  "V_FORWARD",
  "V_HEAD_BACKWARD",
  "V_FORWARD_RESULT",
  "V_EVAL",
  "V_EVAL_RESULT",
  "V_ERROR",
  "V_RESUME",
  "V_EPOCH_END",
] as const;

/** A message type. */
export type VerticalType = (typeof VERTICAL_TYPES)[number];

/** A message's JSON header: its type and scalar fields. */
export interface VerticalHeader {
  type: VerticalType;
  tag?: string;
  round?: number;
  stepId?: string;
  batchId?: string;
  loss?: number;
  /** `V_RESUME`: the party's last checkpointed epoch, and in the reply the agreed one; `V_EPOCH_END`: the epoch done. */
  epoch?: number;
  code?: string;
  message?: string;
}

/** A decoded message. */
export interface VerticalMessage {
  header: VerticalHeader;
  tensors: Map<string, Tensor>;
}

/** Largest JSON header accepted (bytes). */
const MAX_HEADER = 4096;

/**
 * Encodes a message; tensors go through the wire codec `codec` (default float32, exact).
 *
 * @example
 * ```ts
 * import { encodeVertical } from "./vertical_wire.ts";
 * encodeVertical({ type: "V_PSI_GET", tag: "train", round: 1 }).length > 4; // true
 * ```
 */
export function encodeVertical(
  header: VerticalHeader,
  tensors: Record<string, Tensor> = {},
  codec: BundleOptions = {},
): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  // The bundle, when there is one, is encoded with room for the header in front (one copy of
  // the tensors, not two).
  const out = Object.keys(tensors).length
    ? encodeTensors(tensors, codec, 4 + h.length)
    : new Uint8Array(4 + h.length);
  new DataView(out.buffer, out.byteOffset).setUint32(0, h.length, true);
  out.set(h, 4);
  return out;
}

/**
 * Decodes a message written by {@linkcode encodeVertical}.
 *
 * @throws {ProtocolError} `BAD_MESSAGE` for a truncated or oversized header, bad JSON, an
 *   unknown type, or a malformed bundle (the CodecError as cause).
 * @example
 * ```ts
 * import { decodeVertical } from "./vertical_wire.ts";
 * try { decodeVertical(new Uint8Array(2)); } catch (e) { console.log((e as Error).message); }
 * // vertical message: 2 bytes, shorter than its 4-byte header length
 * ```
 */
export function decodeVertical(bytes: Uint8Array, maxElements = 1 << 26): VerticalMessage {
  if (bytes.length < 4) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `vertical message: ${bytes.length} bytes, shorter than its 4-byte header length`,
    );
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (n > MAX_HEADER || 4 + n > bytes.length) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `vertical message: header of ${n} bytes in a message of ${bytes.length} (at most ${MAX_HEADER})`,
    );
  }
  let header: VerticalHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(4, 4 + n)));
  } catch (e) {
    throw new ProtocolError("BAD_MESSAGE", "vertical message: header is not UTF-8 JSON", {
      cause: e,
    });
  }
  if (
    typeof header !== "object" || header === null ||
    !(VERTICAL_TYPES as readonly string[]).includes(header.type)
  ) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `vertical message: type ${
        JSON.stringify((header as VerticalHeader)?.type)
      }, expected one of ${VERTICAL_TYPES.join(", ")}`,
    );
  }
  const rest = bytes.subarray(4 + n);
  let tensors = new Map<string, Tensor>();
  if (rest.length) {
    try {
      tensors = decodeTensors(rest, { maxTensors: 4, maxElements });
    } catch (e) {
      throw new ProtocolError("BAD_MESSAGE", `vertical message ${header.type}: bad tensor bundle`, {
        cause: e,
      });
    }
  }
  return { header, tensors };
}
