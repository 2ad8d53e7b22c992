/**
 * The vertical app's handshake rate limits (`vertical_handshake_rate.ts`, the horizontal
 * route's token buckets) and its PSI relay timeout (`PSI_TIMEOUT`).
 */
import assert from "node:assert/strict";
import { initiatorHandshake } from "../../../crypto/channel/mod.ts";
import { Allowlist } from "../../../crypto/keys/allowlist.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import type { KeyPair } from "../../../crypto/keys/mod.ts";
import { tensor } from "../../../models/tensor.ts";
import { VerticalConnection } from "../../../runtime/client/vertical_connection.ts";
import { PROTOCOL_CHANNEL_OPTIONS } from "../../../runtime/protocol/channel_settings.ts";
import { ProtocolError } from "../../../runtime/protocol/protocol_error.ts";
import { createVerticalApp, type VerticalAppDeps } from "../../../runtime/server/vertical_app.ts";
import { VerticalServer } from "../../../runtime/server/vertical_step.ts";
import { testEngine } from "./harness.ts";

async function world(o: Partial<VerticalAppDeps>) {
  const serverKeys = generateStaticKeyPair(),
    a = generateStaticKeyPair(),
    b = generateStaticKeyPair();
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
    allowlist: new Allowlist([{ name: "a", publicKey: a.publicKey }, {
      name: "b",
      publicKey: b.publicKey,
    }]),
    server,
    log: (l) => logs.push(l),
    ...o,
  });
  const handshake = (kp: KeyPair | Uint8Array) =>
    app.request("/v1/vertical/handshake", {
      method: "POST",
      body: (kp instanceof Uint8Array ? kp : initiatorHandshake({
        staticKeyPair: kp,
        serverPublicKey: serverKeys.publicKey,
        channel: PROTOCOL_CHANNEL_OPTIONS,
      }).message1) as Uint8Array<ArrayBuffer>,
    });
  const fetchApp =
    ((url: string, init?: RequestInit) => app.request(url, init)) as unknown as typeof fetch;
  return { serverKeys, a, b, logs, handshake, fetchApp };
}

Deno.test("vertical handshake: a party key past its burst is refused 429 with Retry-After; others go on; it refills", async () => {
  let now = 0;
  const w = await world({
    handshakeRate: {
      perKey: { burst: 2, refillMs: 1500 },
      perAddress: { burst: 100, refillMs: 1 },
    },
    now: () => now,
  });
  assert.equal((await w.handshake(w.a)).status, 200);
  assert.equal((await w.handshake(w.a)).status, 200);
  const r = await w.handshake(w.a);
  assert.equal(r.status, 429);
  assert.equal(r.headers.get("retry-after"), "2");
  const body = await r.json();
  assert.equal(body.code, "RATE_LIMITED");
  assert.match(body.message, /party a; retry in 1500 ms/);
  assert.equal((await w.handshake(w.b)).status, 200, "another party's key is not limited");
  now += 1500;
  assert.equal((await w.handshake(w.a)).status, 200, "one token back after refillMs");
  assert.ok(w.logs.some((l) => l === "vertical handshake refused: RATE_LIMITED, party a"));
});

Deno.test("vertical handshake: an address past its burst is refused before any cryptography", async () => {
  const w = await world({
    handshakeRate: {
      perKey: { burst: 100, refillMs: 1 },
      perAddress: { burst: 2, refillMs: 60_000 },
    },
    now: () => 0,
  });
  assert.equal(
    (await w.handshake(new Uint8Array(40))).status,
    403,
    "garbage is opened and refused",
  );
  assert.equal((await w.handshake(w.a)).status, 200);
  const r = await w.handshake(new Uint8Array(40));
  assert.equal(r.status, 429, "the third from the address is not even opened");
  assert.equal(r.headers.get("retry-after"), "60");
  assert.equal((await w.handshake(w.b)).status, 429);
});

Deno.test("vertical PSI relay: a peer's message that does not come within psiTimeoutMs is PSI_TIMEOUT; a later one is relayed", async () => {
  const w = await world({ psiTimeoutMs: 100 });
  const conn = async (kp: KeyPair) =>
    await VerticalConnection.connect({
      url: "http://in-process",
      keyPair: kp,
      serverPublicKey: w.serverKeys.publicKey,
      fetch: w.fetchApp,
    });
  const a = await conn(w.a), b = await conn(w.b);
  try {
    const t0 = performance.now();
    await assert.rejects(
      a.request({ type: "V_PSI_GET", tag: "train", round: 1 }),
      (e) =>
        e instanceof ProtocolError && e.code === "PSI_TIMEOUT" &&
        /PSI train round 1: no message from b within 100 ms/.test(e.message),
    );
    assert.ok(performance.now() - t0 >= 95);
    const points = tensor("uint8", [32], new Uint8Array(32).fill(9));
    const waiting = a.request({ type: "V_PSI_GET", tag: "train", round: 1 });
    await b.request({ type: "V_PSI_PUT", tag: "train", round: 1 }, { points });
    const got = await waiting;
    assert.deepEqual(got.tensors.get("points")!.data, points.data);
  } finally {
    a.close();
    b.close();
  }
});
