/**
 * splitgate's application protocol between a clinic's courier and the server: the messages
 * sealed inside the Noise channel, their byte format, the HTTP body framing of sealed
 * frames, and the channel settings both ends use.
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage } from "./mod.ts";
 * const m = decodeMessage(encodeMessage({ type: "TURN_REQUEST" }));
 * console.log(m.type); // "TURN_REQUEST"
 * ```
 * @module
 */
import type { ChannelOptions } from "../../crypto/channel/mod.ts";

export { ProtocolError, type ProtocolErrorCode } from "./protocol_error.ts";
export * from "./messages.ts";
export {
  decodeMessage,
  type DecodeMessageOptions,
  encodeMessage,
  MAX_HEADER_BYTES,
  SEALED_PREFIX,
  WEIGHT_PREFIX,
} from "./message_codec.ts";
export { checkTensor, type TensorSpec } from "./tensor_spec.ts";
export { BodyFrameParser, frameStream, packFrames, unpackFrames } from "./body_frames.ts";

/**
 * Channel options both ends use: frames of at most 65535 bytes, the Noise message limit
 * (Noise rev 34 §3). The step traffic streams frame by frame (the receiver opens one while
 * the sender seals the next), so smaller frames let more of the two overlap; the extra
 * per-frame cost (a 4-byte length, the frame header and a 16-byte tag per 64 KiB) is
 * under 0.1% of the bytes.
 *
 * @example
 * ```ts
 * import { PROTOCOL_CHANNEL_OPTIONS } from "./mod.ts";
 * console.log(PROTOCOL_CHANNEL_OPTIONS.maxFrameSize); // 65535
 * ```
 */
export const PROTOCOL_CHANNEL_OPTIONS: Readonly<ChannelOptions> = { maxFrameSize: 65535 };

/**
 * The channel frame type of every protocol message (the message's own type is its first
 * byte, so the protocol does not depend on the channel's framing).
 *
 * @example
 * ```ts
 * import { APP_FRAME_TYPE } from "./mod.ts";
 * console.log(APP_FRAME_TYPE); // 1
 * ```
 */
export const APP_FRAME_TYPE = 1;

/** HTTP header carrying the hex session id (handshake reply) . */
export const SESSION_HEADER = "x-splitgate-session";
/** HTTP header naming the clinic (handshake reply; routing hint on requests, never trusted alone). */
export const CLINIC_HEADER = "x-splitgate-clinic";
