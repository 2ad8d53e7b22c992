/**
 * A handshake message 1 the server cannot decrypt says what usually causes it (
 * `BAD_HANDSHAKE: invalid tag` alone left the operator guessing): a clinic configured with
 * another server public key, or disagreeing with the server on the psk. Nothing more: the
 * reply goes to whoever sent the message.
 */
import assert from "node:assert/strict";
import { initiatorHandshake } from "../../../crypto/channel/mod.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import { PROTOCOL_CHANNEL_OPTIONS } from "../../../runtime/protocol/mod.ts";
import { assertError, CLINIC_KEYS, SERVER_KEYS, startServer } from "./harness.ts";

const HINT = "handshake refused: invalid tag; the usual cause is a clinic configured with another " +
  "server public key (its serverPublicKey) or another psk or cipher setting than this server's";

function message1(serverPublicKey: Uint8Array, psk?: Uint8Array): Uint8Array<ArrayBuffer> {
  const hs = initiatorHandshake({ staticKeyPair: CLINIC_KEYS.a, serverPublicKey, psk, channel: PROTOCOL_CHANNEL_OPTIONS });
  return hs.message1 as Uint8Array<ArrayBuffer>;
}

Deno.test("handshake: a clinic with another server public key is told the usual cause", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", {}, { log });
  try {
    const res = await server.app.request("/v1/handshake", { method: "POST", body: message1(generateStaticKeyPair().publicKey) });
    const e = await assertError(res, 400, "BAD_HANDSHAKE");
    assert.equal(e.message, HINT);
    assert.ok(log.includes("handshake refused: BAD_HANDSHAKE, BAD_TAG"), log.join("\n"));
    // the right key still gets in
    const ok = await server.app.request("/v1/handshake", { method: "POST", body: message1(SERVER_KEYS.publicKey) });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("handshake: a clinic without the consortium psk gets the same hint, and no more", async () => {
  const { createServerApp } = await import("../../../runtime/server/mod.ts");
  const { allowlist, testEngine, tinyConfig } = await import("./harness.ts");
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const server = await createServerApp(tinyConfig("vanilla"), {
    keyPair: SERVER_KEYS,
    allowlist: allowlist(),
    psk,
    engine: await testEngine(),
    log: () => {},
  });
  try {
    const res = await server.app.request("/v1/handshake", { method: "POST", body: message1(SERVER_KEYS.publicKey) });
    assert.equal((await assertError(res, 400, "BAD_HANDSHAKE")).message, HINT);
  } finally {
    await server.close();
  }
});
