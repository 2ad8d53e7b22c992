/**
 * Bad input never crashes the server, never changes its state, answers 4xx JSON with a
 * code, and leaves the other clinic's session (and usually the sender's own) working.
 */
import assert from "node:assert/strict";
import { initiatorHandshake } from "../../../crypto/channel/mod.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import { fingerprint } from "../../../crypto/keys/fingerprint.ts";
import { tensor } from "../../../models/tensor.ts";
import { PROTOCOL_CHANNEL_OPTIONS } from "../../../runtime/protocol/mod.ts";
import type { ServerHandle } from "../../../runtime/server/mod.ts";
import {
  assertError,
  CUT_DIMS,
  binaryLabels,
  paramsSnapshot,
  randomTensor,
  RawClinic,
  SERVER_KEYS,
  startServer,
} from "./harness.ts";

const act = (n: number, seed = 1) => randomTensor([n, ...CUT_DIMS], seed);

async function fixture(): Promise<{ server: ServerHandle; a: RawClinic; b: RawClinic; log: string[] }> {
  const log: string[] = [];
  const server = await startServer("vanilla", {}, { log });
  const a = await new RawClinic(server, "a").connect();
  const b = await new RawClinic(server, "b").connect();
  return { server, a, b, log };
}

/** The other clinic (and the given one) still get answers. */
async function stillWorks(...clinics: RawClinic[]): Promise<void> {
  for (const c of clinics) {
    const r = await c.send({ type: "TURN_REQUEST" });
    assert.equal(r.type, "TURN");
  }
}

async function assertSameParams(before: Map<string, Float32Array>, server: ServerHandle): Promise<void> {
  await server.model.settle();
  for (const [k, v] of server.model.runner.params) assert.deepEqual(v.data, before.get(k), `${k} changed`);
}

Deno.test("server refuses bad input with 4xx JSON codes; other clinics go on", async (t) => {
  const { server, a, b, log } = await fixture();
  try {
    await t.step("unknown clinic key -> 403 UNKNOWN_CLINIC, logged with the key's fingerprint", async () => {
      const stranger = generateStaticKeyPair();
      const hs = initiatorHandshake({
        staticKeyPair: stranger,
        serverPublicKey: SERVER_KEYS.publicKey,
        channel: PROTOCOL_CHANNEL_OPTIONS,
      });
      await assertError(
        await server.app.request("/v1/handshake", { method: "POST", body: hs.message1 as Uint8Array<ArrayBuffer> }),
        403,
        "UNKNOWN_CLINIC",
      );
      assert.ok(log.includes(`handshake refused: UNKNOWN_CLINIC, not in the allowlist; clinic key ${fingerprint(stranger.publicKey)}`), log.join("\n"));
      await assertError(
        await server.app.request("/v1/handshake", { method: "POST", body: new Uint8Array(7) }),
        400,
        "BAD_HANDSHAKE",
      );
      await stillWorks(a, b);
    });

    await t.step("malformed frame -> 400 MALFORMED_FRAME", async () => {
      await assertError(await a.post(Uint8Array.of(0, 0, 0, 9, 1, 2)), 400, "MALFORMED_FRAME");
      await assertError(await a.post(Uint8Array.of(0, 0, 0, 3, 1, 2, 3)), 400, "MALFORMED_FRAME");
      await assertError(await a.post(new Uint8Array(0)), 400, "MALFORMED_FRAME");
      await stillWorks(a, b);
    });

    await t.step("bad tag -> 400 BAD_TAG, channel unchanged", async () => {
      const body = a.body({ type: "TURN_REQUEST" });
      body[body.length - 1] ^= 1;
      await assertError(await a.post(body), 400, "BAD_TAG");
      await stillWorks(a, b);
    });

    await t.step("replayed frame -> 409 REPLAY", async () => {
      const body = a.body({ type: "TURN_REQUEST" });
      assert.equal((await a.open(await a.post(body))).type, "TURN");
      await assertError(await a.post(body), 409, "REPLAY");
      await stillWorks(a, b);
    });

    await t.step("wrong tensor shape / dtype -> 422, weights untouched", async () => {
      const before = await paramsSnapshot(server);
      const bad = [
        [{ activation: randomTensor([4, 16, 4, 3], 1), labels: binaryLabels(4) }, "WRONG_SHAPE"],
        [{ activation: act(4), labels: binaryLabels(3) }, "WRONG_SHAPE"],
        [{ activation: randomTensor([4, 16, 4], 2), labels: binaryLabels(4) }, "WRONG_SHAPE"],
        [{ activation: act(64), labels: binaryLabels(64) }, "TOO_MANY_ELEMENTS"], // batch over maxBatch 16
        [{ activation: act(4), labels: tensor("int64", [4, 1]) }, "WRONG_DTYPE"],
        [{ activation: tensor("int32", [4, ...CUT_DIMS]), labels: binaryLabels(4) }, "WRONG_DTYPE"],
        [{ activation: act(4), labels: tensor("uint8", [4, 1]) }, "WRONG_DTYPE"],
      ] as const;
      for (const [tensors, code] of bad) {
        await assertError(await a.post(a.body({ type: "STEP", stepId: "0:0", epoch: 0, ...tensors })), 422, code);
      }
      await assertSameParams(before, server);
      await stillWorks(a, b);
      // and a correct step still goes through afterwards
      const ok = await a.send({ type: "STEP", stepId: "0:0", epoch: 0, activation: act(4), labels: binaryLabels(4) });
      assert.equal(ok.type, "STEP_RESULT");
    });

    await t.step("a NaN or infinite activation, or labels outside [0, 1] -> 422, weights untouched", async () => {
      const before = await paramsSnapshot(server);
      const withValue = (t: ReturnType<typeof act>, i: number, v: number) => {
        const d = Float32Array.from(t.data as Float32Array);
        d[i] = v;
        return tensor("float32", [...t.dims], d);
      };
      const bad = [
        [{ activation: withValue(act(4), 5, NaN), labels: binaryLabels(4) }, "NON_FINITE", /activation: element 5 is NaN/],
        [{ activation: withValue(act(4), 0, -Infinity), labels: binaryLabels(4) }, "NON_FINITE", /element 0 is -Infinity/],
        [{ activation: act(4), labels: withValue(binaryLabels(4), 2, NaN) }, "NON_FINITE", /labels: element 2 is NaN/],
        [{ activation: act(4), labels: withValue(binaryLabels(4), 3, 7) }, "OUT_OF_RANGE", /labels: element 3 is 7; expected values in \[0, 1\]/],
        [{ activation: act(4), labels: withValue(binaryLabels(4), 1, -3) }, "OUT_OF_RANGE", /element 1 is -3/],
      ] as const;
      for (const [tensors, code, message] of bad) {
        const r = await a.post(a.body({ type: "STEP", stepId: "0:1", epoch: 0, ...tensors }));
        assert.match((await assertError(r, 422, code)).message, message);
      }
      // Refused before the model ran: no weight, and no BatchNorm statistic, saw the values.
      await assertSameParams(before, server);
      await stillWorks(a, b);
    });

    await t.step("undecodable message inside a valid frame -> 400 BAD_MESSAGE", async () => {
      await assertError(await a.post(a.body(Uint8Array.of(99, 0, 0, 0, 0))), 400, "BAD_MESSAGE");
      await stillWorks(a, b);
    });

    await t.step("oversized body -> 413 BODY_TOO_LARGE before decryption", async () => {
      await assertError(await a.post(new Uint8Array(65 * 1024)), 413, "BODY_TOO_LARGE");
      // Streamed without a length: refused once the bytes counted pass the limit, before the
      // frame (one of the largest allowed, 65535 bytes) is complete, so before anything is
      // opened; the rest is never read (the stream below would go on for ever).
      let pulled = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(c) {
          c.enqueue(pulled++ === 0 ? Uint8Array.of(0, 0, 0xff, 0xff) : new Uint8Array(4096));
        },
      });
      await assertError(await a.post(endless), 413, "BODY_TOO_LARGE");
      assert.ok(pulled < 40, `read ${pulled} pieces of 4 KiB past a 64 KiB limit`);
      await stillWorks(a, b);
    });

    await t.step("a streamed body in odd pieces is opened as it comes; a tampered piece -> 400 BAD_TAG", async () => {
      const inPieces = (body: Uint8Array, size: number) => {
        let off = 0;
        return new ReadableStream<Uint8Array>({
          pull(c) {
            if (off >= body.length) return c.close();
            c.enqueue(body.slice(off, off + size));
            off += size;
          },
        });
      };
      const step = { type: "STEP", stepId: "0:0", epoch: 0, activation: act(4), labels: binaryLabels(4) } as const;
      const bad = a.body(step);
      bad[bad.length >> 1] ^= 1;
      const before = await paramsSnapshot(server);
      await assertError(await a.post(inPieces(bad, 7)), 400, "BAD_TAG");
      await assertSameParams(before, server);
      await stillWorks(a, b);
      assert.equal((await a.open(await a.post(inPieces(a.body({ type: "TURN_REQUEST" }), 3)))).type, "TURN");
      const cut = a.body({ type: "TURN_REQUEST" });
      await assertError(await a.post(inPieces(cut.subarray(0, cut.length - 5), 5)), 400, "MALFORMED_FRAME");
      await stillWorks(a, b);
    });

    await t.step("step for another epoch -> 409 WRONG_EPOCH", async () => {
      const before = await paramsSnapshot(server);
      await assertError(
        await a.post(a.body({ type: "STEP", stepId: "3:1", epoch: 3, activation: act(4), labels: binaryLabels(4) })),
        409,
        "WRONG_EPOCH",
      );
      await assertSameParams(before, server);
      await stillWorks(a, b);
    });

    await t.step("out-of-order step -> 409 STEP_OUT_OF_ORDER; not your turn -> 409 NOT_YOUR_TURN", async () => {
      await assertError(
        await a.post(a.body({ type: "STEP", stepId: "0:5", epoch: 0, activation: act(4), labels: binaryLabels(4) })),
        409,
        "STEP_OUT_OF_ORDER",
      );
      await assertError(
        await b.post(b.body({ type: "STEP", stepId: "0:0", epoch: 0, activation: act(4), labels: binaryLabels(4) })),
        409,
        "NOT_YOUR_TURN",
      );
      await assertError(
        await a.post(a.body({ type: "MIDDLE_FORWARD", stepId: "0:1", epoch: 0, activation: act(4) })),
        400,
        "WRONG_MODE",
      );
      await stillWorks(a, b);
    });

    await t.step("another clinic's session id -> 403, or BAD_TAG with a forged name", async () => {
      // Move b's counter past a's window so a's channel reaches the tag check (a lower
      // counter that a already saw is refused earlier, as REPLAY).
      for (let i = 0; i < 40; i++) b.channel.seal(1, new Uint8Array(0));
      const body = b.body({ type: "TURN_REQUEST" });
      await assertError(await b.post(body, a.session, "b"), 403, "SESSION_MISMATCH");
      await assertError(await b.post(body, a.session, "a"), 400, "BAD_TAG");
      await assertError(await b.post(body, "00".repeat(16), "b"), 404, "UNKNOWN_SESSION");
      // b's frames were never opened by b's channel: b's own session still accepts them
      assert.equal((await b.open(await b.post(body))).type, "TURN");
      await stillWorks(a, b);
    });

    await t.step("unknown routes and health", async () => {
      await assertError(await server.app.request("/v2/nothing"), 404, "NOT_FOUND");
      assert.deepEqual(await (await server.app.request("/health")).json(), { ok: true });
      const st = await (await server.app.request("/v1/status")).json();
      assert.deepEqual(st.clinics.map((c: { name: string }) => c.name), ["a", "b"]);
      assert.equal(st.step, 1);
      assert.equal(st.turn, "a");
      assert.ok(st.clinics[0].bytesIn > 0 && st.clinics[0].bytesOut > 0);
      assert.equal(st.clinics[0].online, true);
    });

    await t.step("status names the clinics: by default only to the server's own host", async () => {
      const from = (hostname: string) =>
        server.app.fetch(new Request("http://server/v1/status"), { remoteAddr: { transport: "tcp", hostname, port: 40000 } });
      for (const local of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"]) assert.equal((await from(local)).status, 200, local);
      const e = await assertError(await from("10.0.0.7"), 403, "STATUS_LOOPBACK_ONLY");
      assert.match(e.message, /asked from 10\.0\.0\.7/);
      assert.equal((await from("::ffff:10.0.0.7")).status, 403);
      // /health stays open to a load balancer.
      assert.equal((await server.app.fetch(new Request("http://server/health"), { remoteAddr: { hostname: "10.0.0.7" } })).status, 200);
      const open = await startServer("vanilla", { statusFrom: "anywhere" });
      try {
        const r = await open.app.fetch(new Request("http://server/v1/status"), { remoteAddr: { hostname: "10.0.0.7" } });
        assert.equal(r.status, 200);
        await r.body?.cancel();
      } finally {
        await open.close();
      }
    });
  } finally {
    await server.close();
  }
});

Deno.test("a retried step is answered from the cache and applied once", async () => {
  const { server, a } = await fixture();
  try {
    const req = { type: "STEP", stepId: "0:0", epoch: 0, activation: act(4, 3), labels: binaryLabels(4) } as const;
    const w0 = await paramsSnapshot(server);
    const r1 = await a.send(req);
    const w1 = await paramsSnapshot(server);
    assert.notDeepEqual(w1, w0, "the first step changes the weights");
    const r2 = await a.send(req); // same step id, freshly sealed: a courier's retry
    assert.deepEqual(r2, r1);
    assert.deepEqual(await paramsSnapshot(server), w1, "the retry must not apply the step again");
    assert.equal(server.status().step, 1);
    const r3 = await a.send({ ...req, stepId: "0:1" });
    assert.equal(r3.type, "STEP_RESULT");
    assert.notDeepEqual(await paramsSnapshot(server), w1);
    assert.equal(server.status().step, 2);
  } finally {
    await server.close();
  }
});
