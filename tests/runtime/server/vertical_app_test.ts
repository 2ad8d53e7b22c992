import assert from "node:assert/strict";
import { initiatorHandshake } from "../../../crypto/channel/mod.ts";
import { Allowlist } from "../../../crypto/keys/allowlist.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import { tensor } from "../../../models/tensor.ts";
import { VerticalConnection } from "../../../runtime/client/vertical_connection.ts";
import { PROTOCOL_CHANNEL_OPTIONS } from "../../../runtime/protocol/channel_settings.ts";
import { ProtocolError } from "../../../runtime/protocol/protocol_error.ts";
import { createVerticalApp } from "../../../runtime/server/vertical_app.ts";
import { VerticalServer } from "../../../runtime/server/vertical_step.ts";
import { testEngine } from "./harness.ts";

async function world() {
  const serverKeys = generateStaticKeyPair(),
    a = generateStaticKeyPair(),
    b = generateStaticKeyPair();
  const allowlist = new Allowlist([{ name: "a", publicKey: a.publicKey }, {
    name: "b",
    publicKey: b.publicKey,
  }]);
  const server = await VerticalServer.create({
    engine: await testEngine(),
    parties: [{ name: "a", width: 2 }, { name: "b", width: 2 }],
    fusion: "concat",
    labels: { holder: "server", party: "a" },
    optimizer: { kind: "sgd", lr: 0.1 },
    seed: 0,
  });
  const logs: string[] = [];
  const { app } = createVerticalApp({
    keyPair: serverKeys,
    allowlist,
    server,
    log: (l) => logs.push(l),
  });
  const fetchApp =
    ((url: string, init?: RequestInit) => app.request(url, init)) as unknown as typeof fetch;
  return { app, serverKeys, a, b, fetchApp, logs };
}

Deno.test("vertical handshake: an unknown key is refused (403), a replayed message 1 too (409)", async () => {
  const w = await world();
  const stranger = initiatorHandshake({
    staticKeyPair: generateStaticKeyPair(),
    serverPublicKey: w.serverKeys.publicKey,
    channel: PROTOCOL_CHANNEL_OPTIONS,
  });
  const r1 = await w.app.request("/v1/vertical/handshake", {
    method: "POST",
    body: stranger.message1 as Uint8Array<ArrayBuffer>,
  });
  assert.equal(r1.status, 403);
  const hs = initiatorHandshake({
    staticKeyPair: w.a,
    serverPublicKey: w.serverKeys.publicKey,
    channel: PROTOCOL_CHANNEL_OPTIONS,
  });
  const ok = await w.app.request("/v1/vertical/handshake", {
    method: "POST",
    body: hs.message1 as Uint8Array<ArrayBuffer>,
  });
  assert.equal(ok.status, 200);
  const replay = await w.app.request("/v1/vertical/handshake", {
    method: "POST",
    body: hs.message1 as Uint8Array<ArrayBuffer>,
  });
  assert.equal(replay.status, 409);
  assert.equal((await replay.json()).code, "STALE_HANDSHAKE");
  assert.ok(w.logs.some((l) => /STALE_HANDSHAKE from a/.test(l)));
});

Deno.test("vertical session: a refused request comes back as a ProtocolError with the server's code; an unknown session is 404", async () => {
  const w = await world();
  const conn = await VerticalConnection.connect({
    url: "http://x",
    keyPair: w.b,
    serverPublicKey: w.serverKeys.publicKey,
    fetch: w.fetchApp,
  });
  await assert.rejects(
    () =>
      conn.request({ type: "V_FORWARD", stepId: "1:0" }, { activation: tensor("float32", [2, 3]) }),
    (e) =>
      e instanceof ProtocolError && e.code === "WRONG_SHAPE" &&
      /b's cut tensor of 1:0: float32 \[2,3\], expected float32 \[N, 2\]/.test(e.message),
  );
  await assert.rejects(
    () => conn.request({ type: "V_OK" }),
    (e) => e instanceof ProtocolError && /is a reply, not a request/.test(e.message),
  );
  // The channel survives refusals: a well-formed relay request still works.
  await conn.request({ type: "V_PSI_PUT", tag: "train", round: 1 }, {
    points: tensor("uint8", [0]),
  });
  const r = await w.app.request("/v1/vertical/session/00", {
    method: "POST",
    body: new Uint8Array(4),
  });
  assert.equal(r.status, 404);
  conn.close();
});
