/**
 * The secure channel between clinic gateways and the server: the IK
 * handshake flow, sealed transport frames with replay protection and
 * rekeying, and chunking of large messages (see docs/design/transport.md).
 *
 * The frame codec and the replay window are the channel's own mechanics and stay
 * internal; tests reach the one test seam, a channel that starts at a high send counter,
 * through `_testing.ts`, which this face does not export.
 *
 * @example
 * ```ts
 * import { initiatorHandshake, responderHandshake, sealChunked, openChunked } from "./mod.ts";
 * import { generateStaticKeyPair } from "../keys/key_pair.ts";
 * const server = generateStaticKeyPair();
 * const hs = initiatorHandshake({ staticKeyPair: generateStaticKeyPair(), serverPublicKey: server.publicKey });
 * const r = responderHandshake({ staticKeyPair: server, lookupPeer: () => ({ name: "c" }) }, hs.message1);
 * const clinic = hs.finish(r.message2);
 * const big = new Uint8Array(200_000);
 * const { type, payload } = openChunked(r.channel, sealChunked(clinic, 2, big));
 * console.log(type, payload.length); // 2 200000
 * ```
 *
 * @module
 */
export {
  DEFAULT_MAX_MESSAGE_SIZE,
  type Message,
  MessageOpener,
  openChunked,
  Reassembler,
  sealChunked,
  sealFrames,
} from "./chunker.ts";
export {
  FLAG_FINAL,
  FRAME_HEADER_LENGTH,
  FRAME_VERSION,
  type FrameHeader,
  MESSAGE_TYPE_CLOSE,
} from "./frame.ts";
export {
  CHANNEL_CIPHERS,
  CHANNEL_PROLOGUE,
  type ChannelCipher,
  channelProtocolName,
  type CommonHandshakeOptions,
  type InitiatorHandshake,
  initiatorHandshake,
  type InitiatorHandshakeOptions,
  type ResponderHandshake,
  responderHandshake,
  type ResponderHandshakeOptions,
} from "./handshake.ts";
export { compareTai64n, TAI64N_BYTES, Tai64nClock, tai64nFromMs, tai64nToMs } from "./tai64n.ts";
export {
  type ChannelOptions,
  type ChannelStats,
  DEFAULT_MAX_EPOCH_SKIP,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_REKEY_INTERVAL,
  DEFAULT_WINDOW_SIZE,
  MAX_FRAME_SIZE_LIMIT,
  type OpenedFrame,
  SecureChannel,
  type SecureChannelInit,
  SESSION_ID_LENGTH,
} from "./secure_channel.ts";
