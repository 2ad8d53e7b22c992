/** ServerConnection against a real server on a loopback port: handshake, requests, reconnects. */
import assert from "node:assert/strict";
import { ServerConnection, ServerRequestError } from "../../../runtime/client/server_connection.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import { isNoiseError } from "../../../crypto/errors.ts";
import { createServerApp, type ServerHandle } from "../../../runtime/server/mod.ts";
import { parseClientConfig } from "../../../runtime/client/client_config.ts";
import { courierCommandArgs, courierConfigOf, rawSideConfigOf } from "../../../runtime/client/launcher.ts";
import { rawSideCommandArgs } from "../../../runtime/client/raw_side/process.ts";
import {
  allowlist,
  binaryLabels,
  CLINIC_KEYS,
  CUT_DIMS,
  paramsSnapshot,
  randomTensor,
  SERVER_KEYS,
  startServer,
  testEngine,
  tinyConfig,
} from "../server/harness.ts";

const step = (batch: number) => ({
  type: "STEP",
  stepId: `0:${batch}`,
  epoch: 0,
  activation: randomTensor([4, ...CUT_DIMS], batch + 1),
  labels: binaryLabels(4),
}) as const;

function serve(server: ServerHandle, port = 0): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, server.app.fetch);
}

Deno.test("ServerConnection: requests, byte counts, refusals", async () => {
  const server = await startServer("vanilla");
  const http = serve(server);
  try {
    const url = `http://127.0.0.1:${http.addr.port}`;
    const conn = await ServerConnection.connect({ url, serverPublicKey: SERVER_KEYS.publicKey, clinicKeyPair: CLINIC_KEYS.a });
    assert.equal(conn.clinic, "a");
    const t = await conn.request({ type: "TURN_REQUEST" });
    assert.equal(t.yours, true);
    const r = await conn.request(step(0));
    assert.equal(r.stepId, "0:0");
    assert.deepEqual(r.cutGrad.dims, [4, ...CUT_DIMS]);
    const st = server.status().clinics[0];
    assert.equal(conn.bytesUp, st.bytesIn);
    assert.equal(conn.bytesDown, st.bytesOut);
    // a refusal is thrown with the server's status and code, without retries
    await assert.rejects(conn.request({ ...step(5) }), (e) => e instanceof ServerRequestError && e.code === "STEP_OUT_OF_ORDER" && e.status === 409);
    assert.equal(conn.reconnects, 0);
    // an unknown clinic cannot connect
    await assert.rejects(
      ServerConnection.connect({ url, serverPublicKey: SERVER_KEYS.publicKey, clinicKeyPair: generateStaticKeyPair() }),
      (e) => e instanceof ServerRequestError && e.code === "UNKNOWN_CLINIC" && e.status === 403,
    );
    conn.close();
  } finally {
    await http.shutdown();
    await server.close();
  }
});

Deno.test("ServerConnection: a lost reply is retried with the same step id and applied once", async () => {
  const server = await startServer("vanilla");
  const http = serve(server);
  try {
    let dropNext = false;
    const flaky: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (dropNext && String(input).endsWith("/msg")) {
        dropNext = false;
        await res.body?.cancel();
        throw new TypeError("connection reset by peer");
      }
      return res;
    };
    const conn = await ServerConnection.connect({
      url: `http://127.0.0.1:${http.addr.port}`,
      serverPublicKey: SERVER_KEYS.publicKey,
      clinicKeyPair: CLINIC_KEYS.a,
      fetch: flaky,
      backoffMs: 1,
    });
    await conn.request(step(0));
    const w1 = await paramsSnapshot(server);
    dropNext = true; // the server applies step 0:1, the reply is lost
    const r = await conn.request(step(1));
    assert.equal(r.stepId, "0:1");
    assert.equal(conn.reconnects, 1);
    assert.equal(server.status().step, 2, "step 0:1 applied exactly once");
    assert.notDeepEqual(await paramsSnapshot(server), w1);
    conn.close();
  } finally {
    await http.shutdown();
    await server.close();
  }
});

Deno.test("ServerConnection: reconnects after a server restart (404 UNKNOWN_SESSION) and gives up when down", async () => {
  let server = await startServer("vanilla");
  let http = serve(server);
  const port = http.addr.port;
  const logs: string[] = [];
  const conn = await ServerConnection.connect({
    url: `http://127.0.0.1:${port}`,
    serverPublicKey: SERVER_KEYS.publicKey,
    clinicKeyPair: CLINIC_KEYS.b,
    backoffMs: 1,
    retries: 2,
    log: (l) => logs.push(l),
  });
  try {
    assert.equal((await conn.request({ type: "TURN_REQUEST" })).turn, "a");
    await http.shutdown();
    await server.close();
    server = await startServer("vanilla"); // a fresh server: the session is gone
    http = serve(server, port);
    assert.equal((await conn.request({ type: "TURN_REQUEST" })).turn, "a");
    assert.equal(conn.reconnects, 1);
    assert.ok(logs.some((l) => l.includes("UNKNOWN_SESSION")), logs.join("\n"));
    await http.shutdown();
    await assert.rejects(
      conn.request({ type: "FETCH_WEIGHTS" }),
      (e) =>
        e instanceof ServerRequestError && e.code === "UNREACHABLE" &&
        // The address is named, and so is the reason fetch gives underneath.
        e.message.includes(`network error reaching http://127.0.0.1:${port}: `) && /\(.+\)$/.test(e.message),
    );
  } finally {
    conn.close();
    await http.shutdown().catch(() => {});
    await server.close();
  }
});

Deno.test("ServerConnection with a consortium psk (IKpsk2): the right key connects, a wrong or missing one fails the handshake", async () => {
  const psk = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
  const server = await createServerApp(tinyConfig("vanilla"), {
    keyPair: SERVER_KEYS,
    allowlist: allowlist(),
    psk,
    engine: await testEngine(),
    log: () => {},
  });
  const http = serve(server);
  try {
    const url = `http://127.0.0.1:${http.addr.port}`;
    const base = { url, serverPublicKey: SERVER_KEYS.publicKey, clinicKeyPair: CLINIC_KEYS.a, retries: 0 };
    const conn = await ServerConnection.connect({ ...base, psk });
    assert.equal((await conn.request({ type: "TURN_REQUEST" })).type, "TURN");
    conn.close();
    const wrong = psk.slice();
    wrong[31] ^= 1;
    // IKpsk2 mixes the psk in after message 1 (Noise rev 34 §9.2), so the server cannot tell a
    // wrong key from message 1: the clinic finds out when message 2 does not open
    await assert.rejects(ServerConnection.connect({ ...base, psk: wrong }), (e) => isNoiseError(e, "BAD_TAG"));
    // without a psk the clinic speaks plain IK, which the server refuses
    await assert.rejects(
      ServerConnection.connect(base),
      (e) => e instanceof ServerRequestError && e.code === "BAD_HANDSHAKE" && e.status === 400,
    );
  } finally {
    await http.shutdown();
    await server.close();
  }
});

Deno.test("clinic config pskFile: resolved, and the courier (only) may read it", () => {
  const text = JSON.stringify({
    server: "http://127.0.0.1:8443", serverPublicKey: "s.pub", clinicKey: "a.key", data: "d/x.npz", pskFile: "keys/psk.hex",
    model: "cnn", mode: "vanilla", optimizer: { kind: "sgd", lr: 0.1 }, checkpointDir: "ck",
  });
  const c = parseClientConfig(text, "/etc/clinic");
  assert.equal(c.pskFile, "/etc/clinic/keys/psk.hex");
  const courier = courierConfigOf(c, "train");
  assert.equal(courier.pskFile, "/etc/clinic/keys/psk.hex");
  const read = courierCommandArgs(courier).find((f) => f.startsWith("--allow-read="))!;
  assert.ok(read.split("=")[1].split(",").includes("/etc/clinic/keys/psk.hex"), read);
  const rawFlags = rawSideCommandArgs(rawSideConfigOf(c)).join(" ");
  assert.ok(!rawFlags.includes("psk.hex"), "the raw-data side gets no access to the psk");
  assert.throws(() => parseClientConfig(JSON.stringify({ ...JSON.parse(text), pskFile: "" }), "/"), /config\.pskFile/);
});

Deno.test("ServerConnection: an address that is not a splitgate server is named in one line, not echoed", async () => {
  const page = "<!DOCTYPE HTML><html><body>" + "x".repeat(5000) + "</body></html>";
  const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(page, { status: 404, headers: { "content-type": "text/html" } }));
  try {
    await assert.rejects(
      ServerConnection.connect({
        url: `http://127.0.0.1:${other.addr.port}`,
        serverPublicKey: SERVER_KEYS.publicKey,
        clinicKeyPair: CLINIC_KEYS.b,
        backoffMs: 1,
        retries: 1,
      }),
      (e) =>
        e instanceof ServerRequestError && e.code === "HTTP_404" && !e.message.includes("<") &&
        e.message.includes(`http://127.0.0.1:${other.addr.port} answered 404 with text/html (${page.length} bytes), not a splitgate error`),
    );
  } finally {
    await other.shutdown();
  }
});

Deno.test("ServerConnection: waits out a handshake's 429 Retry-After; retries a reply cut off before its frames", async () => {
  const server = await startServer("vanilla", {
    limits: { maxBatch: 16, maxBodyBytes: 64 * 1024, handshakeBurst: 1, handshakeRefillMs: 1000 },
  });
  const log: string[] = [];
  let cutNext = false;
  // The real server, except that one /msg reply can be made to arrive empty (cut off).
  const viaApp: typeof fetch = async (input, init) => {
    const res = await server.app.request(String(input).replace(/^https?:\/\/[^/]+/, ""), init as RequestInit);
    if (cutNext && String(input).endsWith("/msg") && res.ok) {
      cutNext = false;
      await res.body?.cancel();
      return new Response(new Uint8Array(0), { status: 200 });
    }
    return res;
  };
  try {
    const o = { url: "http://server", serverPublicKey: SERVER_KEYS.publicKey, clinicKeyPair: CLINIC_KEYS.a, fetch: viaApp, log: (l: string) => log.push(l) };
    const first = await ServerConnection.connect(o);
    const t0 = performance.now();
    const second = await ServerConnection.connect(o); // the key's one token is spent: 429, Retry-After 1
    assert.ok(performance.now() - t0 >= 900, `connected after ${performance.now() - t0} ms`);
    assert.ok(log.some((l) => /handshake: RATE_LIMITED: .*reconnecting in 1000 ms/.test(l)), log.join("\n"));
    first.close();
    cutNext = true;
    assert.equal((await second.request({ type: "TURN_REQUEST" })).type, "TURN");
    assert.ok(log.some((l) => /TURN_REQUEST: the reply was cut off before its first frame/.test(l)), log.join("\n"));
    second.close();
  } finally {
    await server.close();
  }
});
