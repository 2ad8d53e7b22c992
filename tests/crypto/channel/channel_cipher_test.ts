/**
 * The channel's cipher is configured on both ends and agreed through the Noise
 * protocol name; the implementation (native or @noble) is local and invisible on the wire.
 */
import assert from "node:assert/strict";
import { isNoiseError } from "../../../crypto/errors.ts";
import {
  type ChannelCipher,
  channelProtocolName,
  initiatorHandshake,
  responderHandshake,
} from "../../../crypto/channel/handshake.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import type { CipherBackend } from "../../../crypto/noise/cipher_functions.ts";

const server = generateStaticKeyPair(), clinic = generateStaticKeyPair();

function connect(
  c: { cipher: ChannelCipher; transport: CipherBackend },
  s: { cipher: ChannelCipher; transport: CipherBackend },
) {
  const hs = initiatorHandshake({ staticKeyPair: clinic, serverPublicKey: server.publicKey, ...c });
  const r = responderHandshake(
    { staticKeyPair: server, lookupPeer: () => ({ name: "c" }), ...s },
    hs.message1,
  );
  return { clinic: hs.finish(r.message2), server: r.channel };
}

Deno.test("the configured cipher names the protocol", () => {
  assert.equal(channelProtocolName({}), "Noise_IK_25519_ChaChaPoly_SHA256");
  assert.equal(channelProtocolName({ cipher: "chachapoly" }), "Noise_IK_25519_ChaChaPoly_SHA256");
  assert.equal(channelProtocolName({ cipher: "aesgcm" }), "Noise_IK_25519_AESGCM_SHA256");
  assert.equal(
    channelProtocolName({ cipher: "aesgcm", psk: new Uint8Array(32), hash: "BLAKE2s" }),
    "Noise_IKpsk2_25519_AESGCM_BLAKE2s",
  );
  assert.throws(() => channelProtocolName({ cipher: "aes" as ChannelCipher }), {
    name: "TypeError",
    message: 'cipher must be "chachapoly" or "aesgcm", got "aes"',
  });
});

Deno.test("a native end and a @noble end of one cipher talk: the bytes on the wire are the same", () => {
  for (const cipher of ["chachapoly", "aesgcm"] as const) {
    const { clinic: c, server: s } = connect(
      { cipher, transport: "native" },
      { cipher, transport: "noble" },
    );
    const big = new Uint8Array(50_000).map((_, i) => i * 7);
    assert.deepEqual(s.open(c.seal(1, big)).payload, big);
    assert.deepEqual(c.open(s.seal(2, big.subarray(9))).payload, big.subarray(9));
  }
});

Deno.test("ends configured with different ciphers fail the handshake (BAD_TAG on message 1)", () => {
  const hs = initiatorHandshake({
    staticKeyPair: clinic,
    serverPublicKey: server.publicKey,
    cipher: "aesgcm",
  });
  assert.throws(
    () =>
      responderHandshake(
        { staticKeyPair: server, lookupPeer: () => ({ name: "c" }), cipher: "chachapoly" },
        hs.message1,
      ),
    (e) => isNoiseError(e, "BAD_TAG"),
  );
});
