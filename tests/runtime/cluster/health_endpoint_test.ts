import assert from "node:assert/strict";
import { serveHealth } from "../../../runtime/cluster/health_endpoint.ts";

Deno.test("GET /health follows healthy(); other paths 404; stop frees the port", async () => {
  let ok = true;
  const h = serveHealth({ hostname: "127.0.0.1", port: 0 }, () => ok);
  const url = `http://127.0.0.1:${h.addr.port}`;
  const get = async (path: string, method = "GET") => {
    const r = await fetch(url + path, { method });
    const body = method === "HEAD" ? "" : await r.text();
    return { status: r.status, body };
  };
  assert.deepEqual(await get("/health"), { status: 200, body: '{"ok":true}' });
  assert.equal((await get("/health", "HEAD")).status, 200);
  ok = false;
  assert.deepEqual(await get("/health"), { status: 503, body: '{"ok":false}' });
  const wrong = await get("/v1/handshake", "POST");
  assert.equal(wrong.status, 404);
  assert.equal(JSON.parse(wrong.body).error.code, "NOT_A_FRONT");
  assert.equal((await get("/v1/status")).status, 404);
  assert.equal((await get("/health", "POST")).status, 404);
  await h.stop();
  await h.stop();
  await assert.rejects(fetch(url + "/health"));
});

Deno.test("a healthy() that throws is unhealthy, not a crash", async () => {
  const h = serveHealth({ hostname: "127.0.0.1", port: 0 }, () => {
    throw new Error("boom");
  });
  const r = await fetch(`http://127.0.0.1:${h.addr.port}/health`);
  assert.equal(r.status, 503);
  await r.body?.cancel();
  await h.stop();
});
