/**
 * `GET /metrics` (Prometheus text format, checked with the registry's parser
 * parse-prometheus-text-format), its agreement with `GET /v1/status`, the operators' access
 * rule (loopback, or a bearer token), `GET /dashboard` and its event stream, and
 * `metrics.jsonl` beside the checkpoint.
 */
import assert from "node:assert/strict";
import parsePrometheus from "parse-prometheus-text-format";
import { METRICS_FILE, parseMetricsLines } from "../../../runtime/server/metrics/metrics_log.ts";
import { parseTokenFile } from "../../../runtime/server/middleware/operator_access.ts";
import type { ServerHandle } from "../../../runtime/server/mod.ts";
import { assertError, binaryLabels, CUT_DIMS, RawClinic, randomTensor, startServer } from "./harness.ts";

const TOKEN = "0123456789abcdef0123456789abcdef";

type Family = { name: string; type: string; metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[] };

async function scrape(server: ServerHandle): Promise<Map<string, Family>> {
  const res = await server.app.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

function value(f: Family | undefined, labels: Record<string, string>): number {
  assert.ok(f, "family missing");
  const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  assert.ok(m, `${f.name}${JSON.stringify(labels)} missing`);
  return Number(m.value);
}

/** Two steps of clinic a (batch 4), one of them a retry that must not count twice. */
async function twoSteps(server: ServerHandle): Promise<void> {
  const a = await new RawClinic(server, "a").connect();
  await a.send({ type: "TURN_REQUEST" });
  const act = (seed: number) => randomTensor([4, ...CUT_DIMS], seed);
  await a.send({ type: "STEP", stepId: "0:0", epoch: 0, activation: act(1), labels: binaryLabels(4) });
  await a.send({ type: "STEP", stepId: "0:1", epoch: 0, activation: act(2), labels: binaryLabels(4) });
  await a.send({ type: "STEP", stepId: "0:1", epoch: 0, activation: act(2), labels: binaryLabels(4) }); // a retry
}

Deno.test("metrics: /metrics parses as Prometheus text and agrees with /v1/status", async () => {
  const dir = await Deno.makeTempDir();
  const server = await startServer("vanilla", { checkpointDir: dir });
  try {
    await twoSteps(server);
    const status = await (await server.app.request("/v1/status")).json();
    const f = await scrape(server);
    for (const c of status.clinics) {
      assert.equal(value(f.get("splitgate_steps_total"), { clinic: c.name }), c.steps);
      assert.equal(value(f.get("splitgate_wire_bytes_total"), { clinic: c.name, direction: "in" }), c.bytesIn);
      assert.equal(value(f.get("splitgate_wire_bytes_total"), { clinic: c.name, direction: "out" }), c.bytesOut);
    }
    assert.equal(value(f.get("splitgate_steps_total"), { clinic: "a" }), 2);
    assert.equal(value(f.get("splitgate_training_steps_total"), {}), status.step);
    assert.equal(value(f.get("splitgate_round"), {}), status.epoch);
    assert.equal(value(f.get("splitgate_clinic_online"), { clinic: "a" }), 1);
    assert.equal(value(f.get("splitgate_cut_float32_bytes_total"), { clinic: "a" }), 2 * 4 * 4 * CUT_DIMS.reduce((x: number, y: number) => x * y, 1));
    const loss = value(f.get("splitgate_step_loss"), { clinic: "a" });
    assert.ok(loss > 0 && loss < 5, `loss ${loss}`);
    const h = f.get("splitgate_step_seconds")!;
    assert.equal(h.type, "HISTOGRAM");
    assert.equal(Number(h.metrics[0].count), 2);
    assert.equal(Number(h.metrics[0].buckets!["+Inf"]), 2);
    assert.equal(f.get("splitgate_steps_total")!.type, "COUNTER");

    // metrics.jsonl beside the checkpoint: the study line, then one line per applied step.
    const lines = parseMetricsLines(await Deno.readTextFile(`${dir}/${METRICS_FILE}`));
    assert.deepEqual(lines.map((l) => l.kind), ["study", "step", "step"]);
    assert.deepEqual(lines.slice(1).map((l) => l.kind === "step" && [l.clinic, l.step, l.samples]), [["a", 1, 4], ["a", 2, 4]]);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("metrics: /metrics and /dashboard answer loopback, or other hosts with the bearer token", async (t) => {
  const open = await startServer("vanilla");
  const withToken = await startServer("vanilla", { metricsToken: TOKEN });
  const from = (s: ServerHandle, path: string, hostname: string, auth?: string) =>
    s.app.fetch(new Request(`http://s${path}`, { headers: auth ? { authorization: auth } : {} }), { remoteAddr: { hostname } });
  try {
    for (const path of ["/metrics", "/dashboard", "/dashboard/state.json"]) {
      await t.step(`${path}: loopback answered, another host refused without a token configured`, async () => {
        assert.equal((await from(open, path, "127.0.0.1")).status, 200);
        assert.equal((await from(open, path, "::1")).status, 200);
        await assertError(await from(open, path, "10.0.0.7", `Bearer ${TOKEN}`), 403, "METRICS_LOOPBACK_ONLY");
      });
      await t.step(`${path}: with a token: none 401, wrong 403, right 200`, async () => {
        const none = await from(withToken, path, "10.0.0.7");
        assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="splitgate"');
        await assertError(none, 401, "METRICS_TOKEN_REQUIRED");
        const wrong = await from(withToken, path, "10.0.0.7", `Bearer ${TOKEN.replace("0", "1")}`);
        const e = await assertError(wrong, 403, "METRICS_BAD_TOKEN");
        assert.ok(!e.message.includes(TOKEN.replace("0", "1")), "the refusal echoes the token");
        assert.equal((await from(withToken, path, "10.0.0.7", `Bearer ${TOKEN}`)).status, 200);
        assert.equal((await from(withToken, path, "127.0.0.1")).status, 200);
      });
    }
  } finally {
    await open.close();
    await withToken.close();
  }
});

Deno.test("metrics: a token file must hold a long token", () => {
  assert.equal(parseTokenFile(`${TOKEN}\n`, "t"), TOKEN);
  assert.throws(() => parseTokenFile("short\n", "/etc/splitgate/metrics.token"), {
    name: "RangeError",
    message: /metricsTokenFile \/etc\/splitgate\/metrics.token: expected a token of at least 32 characters.*found 5 characters/,
  });
});

Deno.test("metrics: /dashboard is one page with nothing external, and its event stream carries the state", async () => {
  const server = await startServer("vanilla", { dashboardIntervalMs: 50 });
  try {
    await twoSteps(server);
    const page = await server.app.request("/dashboard");
    const html = await page.text();
    assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);
    // The SVG namespace is a name, not an address anything is fetched from.
    const addresses = html.replaceAll("http://www.w3.org/2000/svg", "");
    assert.doesNotMatch(addresses, /<script[^>]+src=|<link[^>]+href=|@import|url\(|https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    assert.match(html, /new EventSource\("\/dashboard\/events"\)/);
    const res = await server.app.request("/dashboard/events");
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const events: { server: { step: number }; clinics: { name: string; steps: number; state: string; lastCutDims: number[] }[]; curves: { points: unknown[] }[] }[] = [];
    let buf = "";
    while (events.length < 2) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      buf += chunk;
      for (let i; (i = buf.indexOf("\n\n")) >= 0; buf = buf.slice(i + 2)) {
        const data = buf.slice(0, i).split("\n").find((l) => l.startsWith("data: "));
        if (data) events.push(JSON.parse(data.slice(6)));
      }
    }
    await reader.cancel();
    assert.equal(events.length, 2);
    const s = events[1];
    assert.equal(s.server.step, 2);
    assert.deepEqual(s.clinics.map((c) => [c.name, c.steps]), [["a", 2], ["b", 0]]);
    assert.equal(s.clinics[0].state, "training");
    assert.equal(s.clinics[1].state, "not connected");
    assert.deepEqual(s.clinics[0].lastCutDims, [4, ...CUT_DIMS]);
    assert.equal(s.curves[0].points.length, 2);
  } finally {
    await server.close();
  }
});

Deno.test("metrics: endLiveViews ends open event streams, so a graceful shutdown finishes", async () => {
  const server = await startServer("vanilla", { dashboardIntervalMs: 50 });
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, server.app.fetch);
  try {
    const res = await fetch(`http://127.0.0.1:${http.addr.port}/dashboard/events`);
    const reader = res.body!.getReader();
    await reader.read(); // the first update: the stream is open
    server.endLiveViews();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      http.shutdown().then(() => "shut down"),
      new Promise((r) => (timer = setTimeout(() => r("still waiting after 5 s"), 5000))),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, "shut down");
    while (!(await reader.read()).done) { /* the rest of the stream */ }
  } finally {
    await server.close();
    await http.shutdown();
  }
});
