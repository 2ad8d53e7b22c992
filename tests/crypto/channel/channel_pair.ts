/** Test helper: a connected clinic/server channel pair over a real IK handshake. */
import { initiatorHandshake, responderHandshake } from "../../../crypto/channel/handshake.ts";
import type { ChannelOptions, SecureChannel } from "../../../crypto/channel/secure_channel.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";

export function channelPair(
  clinicOptions: ChannelOptions = {},
  serverOptions: ChannelOptions = clinicOptions,
): { clinic: SecureChannel; server: SecureChannel } {
  const server = generateStaticKeyPair(), clinic = generateStaticKeyPair();
  const hs = initiatorHandshake({
    staticKeyPair: clinic,
    serverPublicKey: server.publicKey,
    channel: clinicOptions,
  });
  const r = responderHandshake(
    { staticKeyPair: server, lookupPeer: () => ({ name: "clinic" }), channel: serverOptions },
    hs.message1,
  );
  return { clinic: hs.finish(r.message2), server: r.channel };
}
