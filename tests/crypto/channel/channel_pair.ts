/** Test helper: a connected clinic/server channel pair over a real IK handshake. */
import { initiatorHandshake, responderHandshake } from "../../../crypto/channel/handshake.ts";
import type { SecureChannel } from "../../../crypto/channel/secure_channel.ts";
import { startSendCounterAt, type TestChannelOptions } from "../../../crypto/channel/_testing.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";

export function channelPair(
  clinicOptions: TestChannelOptions = {},
  serverOptions: TestChannelOptions = clinicOptions,
): { clinic: SecureChannel; server: SecureChannel } {
  const { initialSendCounter: clinicStart, ...clinicChannel } = clinicOptions;
  const { initialSendCounter: serverStart, ...serverChannel } = serverOptions;
  const server = generateStaticKeyPair(), clinic = generateStaticKeyPair();
  const hs = initiatorHandshake({
    staticKeyPair: clinic,
    serverPublicKey: server.publicKey,
    channel: clinicChannel,
  });
  const r = responderHandshake(
    { staticKeyPair: server, lookupPeer: () => ({ name: "clinic" }), channel: serverChannel },
    hs.message1,
  );
  const pair = { clinic: hs.finish(r.message2), server: r.channel };
  if (clinicStart !== undefined) startSendCounterAt(pair.clinic, clinicStart);
  if (serverStart !== undefined) startSendCounterAt(pair.server, serverStart);
  return pair;
}
