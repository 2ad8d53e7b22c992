import assert from "node:assert/strict";
import { PhaseProfile } from "../../../runtime/protocol/phase_profile.ts";

Deno.test("PhaseProfile: a disabled profile records nothing but still runs the work", async () => {
  const p = new PhaseProfile(false);
  assert.equal(p.time("a", () => 3), 3);
  assert.equal(await p.timeAsync("b", () => Promise.resolve(4)), 4);
  p.add("c", 1);
  assert.deepEqual(p.rows(), []);
  assert.equal(p.format("x"), "");
});

Deno.test("PhaseProfile: counts and totals per phase, in first-seen order, errors still timed", async () => {
  const p = new PhaseProfile(true);
  p.add("seal", 2);
  p.add("open", 1);
  p.add("seal", 4);
  assert.throws(() => p.time("fail", () => { throw new RangeError("x"); }), RangeError);
  await p.timeAsync("wait", () => new Promise((r) => setTimeout(r, 5)));
  const rows = p.rows();
  assert.deepEqual(rows.map((r) => r.phase), ["seal", "open", "fail", "wait"]);
  assert.deepEqual({ count: rows[0].count, totalMs: rows[0].totalMs, meanMs: rows[0].meanMs }, { count: 2, totalMs: 6, meanMs: 3 });
  assert.ok(rows[3].totalMs >= 4, `${rows[3].totalMs}`);
  assert.match(p.format("courier"), /^courier seal +n= +2 +total +6\.0 ms +mean +3\.00 ms/);
  p.reset();
  assert.deepEqual(p.rows(), []);
});
