/** Test helper: a connected clinic/server channel pair over a real IK handshake. */
import {
  type ChannelCipher,
  initiatorHandshake,
  responderHandshake,
} from "../../../crypto/channel/handshake.ts";
import type { SecureChannel } from "../../../crypto/channel/secure_channel.ts";
import { startSendCounterAt, type TestChannelOptions } from "../../../crypto/channel/_testing.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import type { CipherBackend } from "../../../crypto/noise/cipher_functions.ts";

/** A cipher and the implementation that seals transport frames with it (docs/design/transport.md). */
export interface AeadPath {
  readonly cipher: ChannelCipher;
  readonly transport: CipherBackend;
}

/**
 * Every AEAD path a channel can take: the channel's fuzz and rejection tests run once per
 * path, so the native and the @noble implementations answer the same attacks alike.
 */
export const AEAD_PATHS: readonly AeadPath[] = [
  { cipher: "chachapoly", transport: "native" },
  { cipher: "chachapoly", transport: "noble" },
  { cipher: "aesgcm", transport: "native" },
  { cipher: "aesgcm", transport: "noble" },
];

/** `chachapoly/native` and so on, for test names. */
export const aeadLabel = (p: AeadPath): string => `${p.cipher}/${p.transport}`;

export function channelPair(
  clinicOptions: TestChannelOptions = {},
  serverOptions: TestChannelOptions = clinicOptions,
  aead: AeadPath = AEAD_PATHS[0],
): { clinic: SecureChannel; server: SecureChannel } {
  const { initialSendCounter: clinicStart, ...clinicChannel } = clinicOptions;
  const { initialSendCounter: serverStart, ...serverChannel } = serverOptions;
  const server = generateStaticKeyPair(), clinic = generateStaticKeyPair();
  const hs = initiatorHandshake({
    staticKeyPair: clinic,
    serverPublicKey: server.publicKey,
    channel: clinicChannel,
    ...aead,
  });
  const r = responderHandshake(
    {
      staticKeyPair: server,
      lookupPeer: () => ({ name: "clinic" }),
      channel: serverChannel,
      ...aead,
    },
    hs.message1,
  );
  const pair = { clinic: hs.finish(r.message2), server: r.channel };
  if (clinicStart !== undefined) startSendCounterAt(pair.clinic, clinicStart);
  if (serverStart !== undefined) startSendCounterAt(pair.server, serverStart);
  return pair;
}

/** {@link channelPair} bound to one AEAD path. */
export function channelPairOn(aead: AeadPath): typeof channelPair {
  return (c = {}, s = c) => channelPair(c, s, aead);
}
