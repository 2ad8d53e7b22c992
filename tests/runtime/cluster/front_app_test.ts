/**
 * The scale-out front (runtime/cluster/front_app.ts): the single server's routes with the
 * answer forwarded to the request bus. First with a recording fake bus (what is forwarded,
 * how replies and refusals come back), then over a real nats-server with two fronts.
 */
import assert from "node:assert/strict";
import { initiatorHandshake, openChunked } from "../../../crypto/channel/mod.ts";
import { ClusterError } from "../../../runtime/cluster/cluster_error.ts";
import { createFrontApp, type FrontBus, type FrontHandle } from "../../../runtime/cluster/front_app.ts";
import { type BusReply, RequestSender, ShardWorker } from "../../../runtime/cluster/request_bus.ts";
import { HandshakeTimestamps } from "../../../runtime/server/handshake_timestamps.ts";
import type { ServerHandle } from "../../../runtime/server/mod.ts";
import { encodeMessage, PROTOCOL_CHANNEL_OPTIONS, unpackFrames } from "../../../runtime/protocol/mod.ts";
import { allowlist, assertError, CLINIC_KEYS, RawClinic, SERVER_KEYS, tinyConfig } from "../server/harness.ts";
import { natsTest, withNats } from "./nats_harness.ts";

/** A bus that records each forwarded request and answers with `reply`. */
function fakeBus(reply: (clinic: string, payload: Uint8Array) => Promise<BusReply>) {
  const seen: { clinic: string; payload: Uint8Array }[] = [];
  const bus = async (): Promise<FrontBus> => ({
    sender: {
      send: (clinic, payload) => {
        seen.push({ clinic, payload: payload.slice() });
        return reply(clinic, payload);
      },
    },
    timestamps: await HandshakeTimestamps.load(undefined),
  });
  return { seen, bus };
}

function front(bus: FrontBus, log: string[] = []): FrontHandle {
  return createFrontApp(tinyConfig("vanilla"), { keyPair: SERVER_KEYS, allowlist: allowlist(), log: (l) => log.push(l) }, bus);
}

/** A raw clinic talking to a front's app. */
function clinicOf(f: FrontHandle, name = "a"): RawClinic {
  return new RawClinic({ app: f.app } as unknown as ServerHandle, name);
}

/** The reply's opened plaintext (not decoded: the fake bus answers any bytes). */
async function plaintext(c: RawClinic, res: Response): Promise<Uint8Array> {
  assert.equal(res.status, 200, await res.clone().text());
  return openChunked(c.channel, unpackFrames(new Uint8Array(await res.arrayBuffer()))).payload;
}

Deno.test("front: /health answers 503 while the bus is unreachable, 200 when it is back", async () => {
  const { bus } = fakeBus(() => Promise.resolve({ status: 200, payload: new Uint8Array(1) }));
  let up = false;
  const f = front({ ...(await bus()), reachable: () => up });
  try {
    const down = await f.app.request("/health");
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), { ok: false, role: "front", error: "NATS unreachable" });
    up = true;
    assert.equal((await f.app.request("/health")).status, 200);
  } finally {
    f.close();
  }
});

Deno.test("front: forwards the opened plaintext under the authenticated name and seals the bus's reply", async () => {
  const { seen, bus } = fakeBus((_c, p) => Promise.resolve({ status: 200, payload: Uint8Array.from([...p].reverse()) }));
  const f = front(await bus());
  try {
    assert.deepEqual(await (await f.app.request("/health")).json(), { ok: true, role: "front" });
    const c = await clinicOf(f, "b").connect();
    const plain = encodeMessage({ type: "TURN_REQUEST" });
    const got = await plaintext(c, await c.post(c.body(plain)));
    assert.deepEqual(seen.map((s) => s.clinic), ["b"]);
    assert.deepEqual(seen[0].payload, plain);
    assert.deepEqual(got, Uint8Array.from([...plain].reverse()));
    assert.ok(f.traffic.clinic("b").bytesIn > plain.length && f.traffic.clinic("b").bytesOut > plain.length);
  } finally {
    f.close();
  }
});

Deno.test("front: a trainer's refusal is the clinic's HTTP error; a silent bus is a 503 the clinic retries", async () => {
  let answer: () => Promise<BusReply> = () =>
    Promise.resolve({ status: 409, error: { code: "STEP_OUT_OF_ORDER", message: "step 0:3 after 0:1" } });
  const { bus } = fakeBus(() => answer());
  const log: string[] = [];
  const f = front(await bus(), log);
  try {
    const c = await clinicOf(f).connect();
    const e = await assertError(await c.post(c.body({ type: "TURN_REQUEST" })), 409, "STEP_OUT_OF_ORDER");
    assert.equal(e.message, "step 0:3 after 0:1");
    answer = () => Promise.reject(new ClusterError("BUS_TIMEOUT", 'no reply for clinic "a" within 50 ms'));
    const t = await assertError(await c.post(c.body({ type: "TURN_REQUEST" })), 503, "BUS_TIMEOUT");
    assert.match(t.message, /within 50 ms/);
    assert.ok(log.some((l) => l.includes("503") && l.includes("BUS_TIMEOUT") || l.includes("within 50 ms")), log.join("\n"));
    // A status no trainer sends is a server error, not a refusal the clinic would give up on.
    answer = () => Promise.resolve({ status: 200 as number, error: { code: "X", message: "odd" } } as BusReply);
    await assertError(await c.post(c.body({ type: "TURN_REQUEST" })), 502, "X");
  } finally {
    f.close();
  }
});

Deno.test("front: the body limit and the handshake replay check come before the bus", async () => {
  const { seen, bus } = fakeBus((_c, p) => Promise.resolve({ status: 200, payload: p }));
  const f = front(await bus());
  try {
    const c = await clinicOf(f).connect();
    await assertError(await c.post(c.body(new Uint8Array(70 * 1024))), 413, "BODY_TOO_LARGE");
    const hs = initiatorHandshake({ staticKeyPair: CLINIC_KEYS.a, serverPublicKey: SERVER_KEYS.publicKey, channel: PROTOCOL_CHANNEL_OPTIONS });
    const post = () => f.app.request("/v1/handshake", { method: "POST", body: hs.message1 as Uint8Array<ArrayBuffer> });
    assert.equal((await post()).status, 200);
    await assertError(await post(), 409, "STALE_HANDSHAKE");
    assert.equal(seen.length, 0);
  } finally {
    f.close();
  }
});

Deno.test({
  name: "front over NATS: a clinic moved to another front gets UNKNOWN_SESSION, handshakes there and is answered",
  ...natsTest,
  fn: () =>
    withNats({ links: 3 }, async ({ links: [l1, l2, lt], names }) => {
      const worker = new ShardWorker(lt, names, (r) => Promise.resolve({ status: 200, payload: Uint8Array.of(r.payload.length) }));
      worker.setShards([...Array(names.shards).keys()]);
      const timestamps = await HandshakeTimestamps.load(undefined);
      const s1 = new RequestSender(l1, names, { timeoutMs: 10_000 });
      const s2 = new RequestSender(l2, names, { timeoutMs: 10_000 });
      const f1 = front({ sender: s1, timestamps }), f2 = front({ sender: s2, timestamps });
      try {
        const c = await clinicOf(f1).connect();
        const plain = encodeMessage({ type: "TURN_REQUEST" });
        assert.deepEqual(await plaintext(c, await c.post(c.body(plain))), Uint8Array.of(plain.length));
        // The same session at the other front (a killed front, a moved load balancer).
        const moved = new RawClinic({ app: f2.app } as unknown as ServerHandle, "a");
        moved.channel = c.channel;
        moved.session = c.session;
        await assertError(await moved.post(moved.body(plain)), 404, "UNKNOWN_SESSION");
        await moved.connect();
        assert.deepEqual(await plaintext(moved, await moved.post(moved.body(plain))), Uint8Array.of(plain.length));
      } finally {
        f1.close();
        f2.close();
        await s1.close();
        await s2.close();
        await worker.stop();
      }
    }),
});

Deno.test({
  name: "front over NATS: no trainer answers within the bus timeout → 503 BUS_TIMEOUT",
  ...natsTest,
  fn: () =>
    withNats({ links: 1 }, async ({ links: [l1], names }) => {
      const sender = new RequestSender(l1, names, { timeoutMs: 300 });
      const f = front({ sender, timestamps: await HandshakeTimestamps.load(undefined) });
      try {
        const c = await clinicOf(f).connect();
        await assertError(await c.post(c.body({ type: "TURN_REQUEST" })), 503, "BUS_TIMEOUT");
      } finally {
        f.close();
        await sender.close();
      }
    }),
});
