/** The clinic's terminal progress line: redrawn in place per step, with the turn's ETA; other events end it. */
import assert from "node:assert/strict";
import { ProgressLine } from "../../../runtime/client/progress_line.ts";

Deno.test("progress line: one line redrawn per step, ETA from the turn's pace, other events on their own lines", () => {
  const out: string[] = [];
  let now = 0;
  const p = new ProgressLine((s) => out.push(s), () => now);
  const ev = { clinic: "a", t: 0, bytesUp: 3 * 2 ** 20, bytesDown: 2 ** 19 };
  p.event({ ...ev, kind: "turn", round: 2, epoch: 1, part: 0, parts: 1, steps: 10, imported: "b" });
  assert.equal(out.pop(), "[a] round 2: my turn (epoch 2, 10 steps, weights from b)\n");
  now = 4000;
  p.event({ ...ev, kind: "step", round: 2, step: 2, steps: 10, loss: 0.25 });
  // 2 steps in 4 s: 8 steps left take 16 s.
  assert.equal(out.pop(), "\r\x1b[2K[a] round 2 step 2/10 (20%)  ETA 16 s  loss 0.2500  ↑ 3.0 MiB ↓ 0.5 MiB");
  now = 300_000;
  p.event({ ...ev, kind: "step", round: 2, step: 3, steps: 10, loss: 0.2 });
  assert.match(out.pop()!, /ETA 11 min 40 s/);
  p.event({ ...ev, kind: "turn-done", round: 2, steps: 10, loss: 0.2, samplesPerSec: 5, next: "b" });
  assert.equal(out.pop(), "\r\x1b[2K[a] round 2 done: 10 steps, loss 0.2000, 5 samples/s; next: b\n");
  // In a parallel round every clinic steps at once: no clinic is "next".
  p.event({ ...ev, kind: "turn-done", round: 3, steps: 10, loss: 0.2, samplesPerSec: 5, next: "b", parallel: true });
  assert.equal(out.pop(), "[a] round 3 done: 10 steps, loss 0.2000, 5 samples/s\n");
  p.end(); // nothing drawn: nothing to end
  assert.equal(out.length, 0);
});
