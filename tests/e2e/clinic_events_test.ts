/**
 * The clinic's progress: `deno task client --events json` prints every progress event
 * (steps included) as one JSON object per line, with the clinic's traffic so far, and the
 * step events agree with the server's count. Not on a terminal and without `--events`, the
 * plain lines stay as they were (one per turn).
 */
import assert from "node:assert/strict";
import type { ClinicEventRecord } from "../../runtime/client/clinic_event_line.ts";
import { runTask } from "./cli_harness.ts";
import { makeWorld, startInProcessServer } from "./split_harness.ts";

Deno.test("deno task client --events json: one JSON event per line, steps included", async () => {
  const w = await makeWorld({ mode: "vanilla", n: 48, epochs: 1, batchSize: 8 });
  const server = await startInProcessServer(w);
  try {
    const [a, b] = await Promise.all([
      runTask("client", ["--config", `${w.root}/clinic-a.json`, "--events", "json"], {}, 240_000),
      runTask("client", ["--config", `${w.root}/clinic-b.json`], {}, 240_000),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const events = a.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as ClinicEventRecord);
    const steps = events.filter((e) => e.kind === "step");
    const status = server.handle.status();
    assert.equal(steps.length, status.clinics.find((c) => c.name === "clinic-a")!.steps);
    assert.ok(steps.length > 0);
    assert.ok(events.every((e) => e.clinic === "clinic-a" && Number.isFinite(e.t)));
    for (const k of ["turn", "step", "turn-done", "finished", "eval"]) assert.ok(events.some((e) => e.kind === k), `no ${k} event`);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].bytesUp >= events[i - 1].bytesUp, "bytesUp goes down");
    assert.ok(steps.at(-1)!.bytesUp > 0);
    // Without --events, not on a terminal: plain lines, no step lines, no JSON.
    assert.match(b.stdout, /\[clinic-b\] round 0 done: \d+ steps/);
    assert.doesNotMatch(b.stdout, /^\{|round 0 step \d+\//m);
  } finally {
    await server.stop();
    await w.remove();
  }
});
