/**
 * The settings of the Noise channel and of its HTTP carriage that both ends of the
 * protocol share: frame size, the channel frame type of protocol messages, and the two
 * HTTP headers (see docs/design/transport.md).
 *
 * @example
 * ```ts
 * import { APP_FRAME_TYPE, PROTOCOL_CHANNEL_OPTIONS } from "./channel_settings.ts";
 * console.log(PROTOCOL_CHANNEL_OPTIONS.maxFrameSize, APP_FRAME_TYPE); // 65535 1
 * ```
 * @module
 */
import type { ChannelOptions } from "../../crypto/channel/mod.ts";

/**
 * Channel options both ends use: frames of at most 65535 bytes, the Noise message limit
 * (Noise rev 34 §3). The step traffic streams frame by frame (the receiver opens one while
 * the sender seals the next), so smaller frames let more of the two overlap; the extra
 * per-frame cost (a 4-byte length, the frame header and a 16-byte tag per 64 KiB) is
 * under 0.1% of the bytes.
 *
 * @example
 * ```ts
 * import { PROTOCOL_CHANNEL_OPTIONS } from "./channel_settings.ts";
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
 * import { APP_FRAME_TYPE } from "./channel_settings.ts";
 * console.log(APP_FRAME_TYPE); // 1
 * ```
 */
export const APP_FRAME_TYPE = 1;

/**
 * HTTP header carrying the hex session id (handshake reply).
 *
 * @example
 * ```ts
 * import { SESSION_HEADER } from "./channel_settings.ts";
 * console.log(new Headers({ [SESSION_HEADER]: "00ff" }).get(SESSION_HEADER)); // "00ff"
 * ```
 */
export const SESSION_HEADER = "x-splitgate-session";
/**
 * HTTP header naming the clinic (handshake reply; routing hint on requests, never trusted
 * alone: the channel's authenticated static key decides who a request is from).
 *
 * @example
 * ```ts
 * import { CLINIC_HEADER } from "./channel_settings.ts";
 * console.log(CLINIC_HEADER); // "x-splitgate-clinic"
 * ```
 */
export const CLINIC_HEADER = "x-splitgate-clinic";
