/**
 * a replayed handshake message 1 must not knock a clinic off, before or
 * after a restart, and a handshake flood is refused and logged in bounded lines.
 */
import assert from "node:assert/strict";
import { CHANNEL_PROLOGUE, initiatorHandshake } from "../../../crypto/channel/mod.ts";
import { HandshakeState } from "../../../crypto/noise/handshake_state.ts";
import { PROTOCOL_CHANNEL_OPTIONS, SESSION_HEADER } from "../../../runtime/protocol/mod.ts";
import type { ServerHandle } from "../../../runtime/server/mod.ts";
import { assertError, CLINIC_KEYS, RawClinic, SERVER_KEYS, startServer } from "./harness.ts";

/** A fresh message 1 of clinic `name`. */
function message1(name: string): Uint8Array<ArrayBuffer> {
  return initiatorHandshake({
    staticKeyPair: CLINIC_KEYS[name],
    serverPublicKey: SERVER_KEYS.publicKey,
    channel: PROTOCOL_CHANNEL_OPTIONS,
  }).message1 as Uint8Array<ArrayBuffer>;
}

/** POSTs a handshake body, as from peer address `from` when given (Deno.serve's conn info). */
function handshake(
  server: ServerHandle,
  body: Uint8Array<ArrayBuffer>,
  from?: string,
): Promise<Response> {
  const req = new Request("http://server/v1/handshake", { method: "POST", body });
  return Promise.resolve(
    server.app.fetch(req, from ? { remoteAddr: { hostname: from } } : undefined),
  );
}

/** A clinic whose handshake message 1 an on-path attacker captured. */
class CapturedClinic extends RawClinic {
  captured: Uint8Array<ArrayBuffer> | null = null;
  override async connect(): Promise<this> {
    const hs = initiatorHandshake({
      staticKeyPair: CLINIC_KEYS[this.name],
      serverPublicKey: SERVER_KEYS.publicKey,
      channel: PROTOCOL_CHANNEL_OPTIONS,
    });
    this.captured = hs.message1.slice() as Uint8Array<ArrayBuffer>;
    const res = await handshake(this.server, hs.message1 as Uint8Array<ArrayBuffer>);
    assert.equal(res.status, 200, await res.clone().text());
    this.channel = hs.finish(new Uint8Array(await res.arrayBuffer()));
    this.session = res.headers.get(SESSION_HEADER)!;
    return this;
  }
}

Deno.test("a replayed message 1 is refused and does not retire the live session", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", {}, { log });
  try {
    const a = await new CapturedClinic(server, "a").connect();
    assert.equal((await a.send({ type: "TURN_REQUEST" })).type, "TURN");
    for (let i = 0; i < 3; i++) {
      await assertError(await handshake(server, a.captured!), 409, "STALE_HANDSHAKE");
    }
    // The honest clinic's next request goes through on its session.
    assert.equal((await a.send({ type: "TURN_REQUEST" })).type, "TURN");
    assert.equal(log.filter((l) => l.includes("STALE_HANDSHAKE")).length, 1, log.join("\n"));
  } finally {
    await server.close();
  }
});

Deno.test("a new handshake retires the live session only once its first frame authenticates", async () => {
  const server = await startServer("vanilla");
  try {
    const a1 = await new RawClinic(server, "a").connect();
    assert.equal((await a1.send({ type: "TURN_REQUEST" })).type, "TURN"); // a1 is proven
    const a2 = await new RawClinic(server, "a").connect();
    // a2 has not proved itself: a1 goes on.
    assert.equal((await a1.send({ type: "TURN_REQUEST" })).type, "TURN");
    // A forged frame on a2's session proves nothing.
    const forged = a2.body({ type: "TURN_REQUEST" });
    forged[forged.length - 1] ^= 1;
    await assertError(await a2.post(forged), 400, "BAD_TAG");
    assert.equal((await a1.send({ type: "TURN_REQUEST" })).type, "TURN");
    // a2's first authenticated frame retires a1.
    assert.equal((await a2.send({ type: "TURN_REQUEST" })).type, "TURN");
    await assertError(await a1.post(a1.body({ type: "TURN_REQUEST" })), 404, "UNKNOWN_SESSION");
    assert.equal((await a2.send({ type: "TURN_REQUEST" })).type, "TURN");
  } finally {
    await server.close();
  }
});

Deno.test("a replayed message 1 is refused after a server restart (timestamps kept in checkpointDir)", async () => {
  const dir = await Deno.makeTempDir();
  let captured: Uint8Array<ArrayBuffer>;
  const first = await startServer("vanilla", { checkpointDir: dir });
  try {
    const a = await new CapturedClinic(first, "a").connect();
    captured = a.captured!;
    assert.equal((await a.send({ type: "TURN_REQUEST" })).type, "TURN");
  } finally {
    await first.close();
  }
  const second = await startServer("vanilla", { checkpointDir: dir });
  try {
    await assertError(await handshake(second, captured), 409, "STALE_HANDSHAKE");
    // A fresh handshake of the same clinic is accepted.
    const res = await handshake(second, message1("a"));
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(res.headers.get(SESSION_HEADER) ?? "", /^[0-9a-f]{32}$/);
  } finally {
    await second.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a handshake flood from one clinic key gets 429 RATE_LIMITED with Retry-After; the log stays bounded", async () => {
  let clock = 1_000_000;
  const log: string[] = [];
  const server = await startServer("vanilla", {
    limits: { maxBatch: 16, maxBodyBytes: 64 * 1024, handshakeBurst: 3, handshakeRefillMs: 60_000 },
  }, {
    log,
    now: () => clock,
  });
  try {
    for (let i = 0; i < 3; i++) {
      assert.equal((await handshake(server, message1("a"), `10.0.0.${i}`)).status, 200);
    }
    const res = await handshake(server, message1("a"), "10.0.0.9");
    await assertError(res.clone(), 429, "RATE_LIMITED");
    assert.equal(res.headers.get("retry-after"), "60");
    // Other clinics are not affected.
    assert.equal((await handshake(server, message1("b"))).status, 200);
    const before = log.length;
    for (let i = 0; i < 200; i++) {
      const r = await handshake(server, message1("a"), `10.0.1.${i % 50}`);
      assert.equal(r.status, 429);
      await r.body?.cancel();
    }
    // One line per key per 10 s, whatever the count and the addresses.
    assert.equal(log.length - before, 0, log.slice(before).join("\n"));
    clock += 10_000;
    await assertError(await handshake(server, message1("a")), 429, "RATE_LIMITED");
    assert.match(log.at(-1)!, /RATE_LIMITED, clinic a .*\(200 more like it in the last 10 s\)/);
    // The bucket refills: a minute after the burst one more handshake is allowed.
    clock += 50_000;
    assert.equal((await handshake(server, message1("a"))).status, 200);
  } finally {
    await server.close();
  }
});

Deno.test("a flood from one address is refused before any DH; replays do not spend the clinic's tokens", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", {
    limits: {
      maxBatch: 16,
      maxBodyBytes: 64 * 1024,
      handshakeBurst: 2,
      addressHandshakeBurst: 5,
      addressHandshakeRefillMs: 60_000,
    },
  }, { log, now: () => 0 });
  try {
    const a = await new CapturedClinic(server, "a").connect();
    // Replays from many addresses: refused as stale, the clinic's own bucket untouched.
    for (let i = 0; i < 20; i++) {
      await assertError(
        await handshake(server, a.captured!, `192.0.2.${i}`),
        409,
        "STALE_HANDSHAKE",
      );
    }
    assert.equal(
      (await handshake(server, message1("a"))).status,
      200,
      "the clinic can still reconnect",
    );
    // One address: 5 handshakes of anything, then 429 without reading the body.
    for (let i = 0; i < 5; i++) {
      await (await handshake(server, new Uint8Array(108), "198.51.100.7")).body?.cancel();
    }
    await assertError(await handshake(server, message1("b"), "198.51.100.7"), 429, "RATE_LIMITED");
    assert.ok(log.length < 10, `log of ${log.length} lines:\n${log.join("\n")}`);
  } finally {
    await server.close();
  }
});

Deno.test("a session retired under a reply keeps its channel until the reply has left; a reply cut off ends quietly", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", {}, { log });
  let closed = false;
  try {
    const a1 = await new RawClinic(server, "a").connect();
    assert.equal((await a1.send({ type: "TURN_REQUEST" })).type, "TURN");
    // a1's reply is ready but not read yet (each frame is sealed when the clinic reads on).
    const pending = await a1.post(a1.body({ type: "TURN_REQUEST" }));
    const a2 = await new RawClinic(server, "a").connect();
    assert.equal((await a2.send({ type: "TURN_REQUEST" })).type, "TURN"); // retires a1
    assert.equal((await a1.open(pending)).type, "TURN", "a1's last reply still opens");
    await assertError(await a1.post(a1.body({ type: "TURN_REQUEST" })), 404, "UNKNOWN_SESSION");
    // The server closing under a reply: the reply ends short, with a log line, not an error.
    const cut = await a2.post(a2.body({ type: "TURN_REQUEST" }));
    closed = true;
    await server.close();
    assert.equal((await cut.arrayBuffer()).byteLength, 0);
    assert.ok(
      log.some((l) => /clinic a: reply cut off \(channel is closed\)/.test(l)),
      log.join("\n"),
    );
  } finally {
    if (!closed) await server.close();
  }
});

Deno.test("a gateway of the previous wire format (no timestamp) is told to update", async () => {
  const server = await startServer("vanilla");
  try {
    const old = new HandshakeState({
      protocolName: "Noise_IK_25519_ChaChaPoly_SHA256",
      initiator: true,
      prologue: new TextEncoder().encode(CHANNEL_PROLOGUE),
      staticKeyPair: CLINIC_KEYS.a,
      remoteStaticKey: SERVER_KEYS.publicKey,
    });
    const m1 = old.writeMessage(new Uint8Array(0)) as Uint8Array<ArrayBuffer>;
    const e = await assertError(await handshake(server, m1), 400, "BAD_HANDSHAKE");
    assert.match(e.message, /carries no 12-byte timestamp; the gateway runs an older splitgate/);
  } finally {
    await server.close();
  }
});
