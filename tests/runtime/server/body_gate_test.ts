/**
 * a body that never ends must not stall a clinic's session, a client gone
 * mid-upload is logged as such, and TURN_DONE / EVAL are refused by turn before decoding.
 * The first two run a real Deno.serve on loopback.
 */
import assert from "node:assert/strict";
import { tensor } from "../../../models/tensor.ts";
import { CLINIC_HEADER, encodeMessage, type Message } from "../../../runtime/protocol/mod.ts";
import type { ServerHandle } from "../../../runtime/server/mod.ts";
import { assertError, CUT_DIMS, randomTensor, RawClinic, startServer } from "./harness.ts";
import { trickle } from "./trickle_body.ts";

/** Serves `server` on a loopback port; its base URL and a stop function. */
function serve(server: ServerHandle): { url: string; stop: () => Promise<void> } {
  const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, server.app.fetch);
  return { url: `http://127.0.0.1:${http.addr.port}`, stop: () => http.shutdown() };
}

/** A clinic whose requests go over real HTTP. */
class HttpClinic extends RawClinic {
  constructor(server: ServerHandle, name: string, readonly url: string) {
    super(server, name);
  }
  override post(
    body: Uint8Array | ReadableStream<Uint8Array>,
    session = this.session,
    clinic = this.name,
  ): Promise<Response> {
    return fetch(`${this.url}/v1/session/${session}/msg`, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
      headers: { [CLINIC_HEADER]: clinic },
    });
  }
}

/** Resolves to `p`'s value, or rejects once `ms` have passed. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((
    _,
    reject,
  ) => (t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

Deno.test("a trickled body to /msg does not delay an honest request of the same session", async () => {
  const server = await startServer("vanilla");
  const { url, stop } = serve(server);
  const slow = trickle(100);
  try {
    const a = await new HttpClinic(server, "a", url).connect();
    assert.equal((await a.send({ type: "TURN_REQUEST" })).type, "TURN");
    // An on-path attacker opens a request on a's session (its id travels in the URL).
    let attackAnswered = false;
    const attack = a.post(slow.body).catch((e) => e).finally(() => (attackAnswered = true));
    await new Promise((r) => setTimeout(r, 300)); // the attacker's request is being read
    const t0 = performance.now();
    const turn = await within(
      a.send({ type: "TURN_REQUEST" }),
      3000,
      "honest TURN_REQUEST behind a trickled body",
    );
    assert.equal(turn.type, "TURN");
    assert.ok(performance.now() - t0 < 3000);
    assert.equal(attackAnswered, false, "the trickled request was still being read");
    slow.stop();
    const res = await attack;
    if (res instanceof Response) await res.body?.cancel();
  } finally {
    slow.stop();
    await stop();
    await server.close();
  }
});

Deno.test("a body not complete within limits.bodyTimeoutMs gets 408 BODY_TIMEOUT", async () => {
  const server = await startServer("vanilla", {
    limits: { maxBatch: 16, maxBodyBytes: 64 * 1024, bodyTimeoutMs: 500 },
  });
  const { url, stop } = serve(server);
  const slow = trickle(50);
  try {
    const a = await new HttpClinic(server, "a", url).connect();
    const res = await within(a.post(slow.body), 5000, "the trickled request's refusal");
    await assertError(res, 408, "BODY_TIMEOUT");
    assert.equal((await a.send({ type: "TURN_REQUEST" })).type, "TURN");
  } finally {
    slow.stop();
    await stop();
    await server.close();
  }
});

Deno.test("a client that disconnects mid-upload is logged as such, not as an internal error", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", {}, { log });
  const { url, stop } = serve(server);
  try {
    const a = await new HttpClinic(server, "a", url).connect();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
    const head =
      `POST /v1/session/${a.session}/msg HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 50000\r\n` +
      `${CLINIC_HEADER}: a\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    // A frame of 40,000 bytes declared, 3000 of them sent.
    await conn.write(Uint8Array.of(0, 0, 0x9c, 0x40));
    await conn.write(new Uint8Array(3000));
    await new Promise((r) => setTimeout(r, 200));
    conn.close();
    for (let i = 0; i < 50 && !log.some((l) => l.includes("mid-upload")); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(
      log.some((l) => /clinic a: client disconnected mid-upload after \d+ bytes/.test(l)),
      log.join("\n"),
    );
    assert.ok(!log.some((l) => l.includes("internal error")), log.join("\n"));
    assert.equal((await a.send({ type: "TURN_REQUEST" })).type, "TURN");
  } finally {
    await stop();
    await server.close();
  }
});

/** `msg` encoded, with everything after its header replaced by `junk` bytes of garbage. */
function withGarbageBundle(msg: Message, junk: number): Uint8Array {
  const bytes = encodeMessage(msg);
  const hlen = new DataView(bytes.buffer).getUint32(1, true);
  const out = new Uint8Array(5 + hlen + junk).fill(0xa5);
  out.set(bytes.subarray(0, 5 + hlen));
  return out;
}

Deno.test("TURN_DONE out of turn or epoch is refused by its header, before its bundle is decoded", async () => {
  const server = await startServer("vanilla");
  try {
    const [a, b] = await Promise.all(["a", "b"].map((n) => new RawClinic(server, n).connect()));
    const turnDone = (epoch: number) =>
      ({
        type: "TURN_DONE",
        epoch,
        lastStepId: null,
        sealedWeights: { a: Uint8Array.of(1) },
      }) as const;
    // The bundle is garbage: had it been decoded, the refusal would be 400 BAD_MESSAGE.
    await assertError(
      await b.post(b.body(withGarbageBundle(turnDone(0), 4000))),
      409,
      "NOT_YOUR_TURN",
    );
    await assertError(
      await a.post(a.body(withGarbageBundle(turnDone(3), 4000))),
      409,
      "WRONG_EPOCH",
    );
    // In turn and epoch, the same garbage is decoded, and refused for what it is.
    await assertError(
      await a.post(
        a.body(withGarbageBundle({ ...turnDone(0), sealedWeights: { b: Uint8Array.of(1) } }, 4000)),
      ),
      400,
      "BAD_MESSAGE",
    );
  } finally {
    await server.close();
  }
});

Deno.test("EVAL: only the turn's holder (or anyone once finished), batch bounded by limits.maxBatch", async () => {
  const server = await startServer("vanilla");
  try {
    const [a, b] = await Promise.all(["a", "b"].map((n) => new RawClinic(server, n).connect()));
    const evalOf = (n: number) =>
      ({ type: "EVAL", activation: randomTensor([n, ...CUT_DIMS], n) }) as const;
    await assertError(
      await b.post(b.body(withGarbageBundle(evalOf(2), 100))),
      409,
      "NOT_YOUR_TURN",
    );
    assert.equal((await a.send(evalOf(2))).type, "EVAL_RESULT");
    const big = await a.post(
      a.body({ type: "EVAL", activation: tensor("float32", [17, ...CUT_DIMS]) }),
    );
    assert.equal(big.status, 422, await big.clone().text());
    await big.body?.cancel();
  } finally {
    await server.close();
  }
});
