/**
 * Fault test: the server (`runtime/cli/server.ts`, a real subprocess) is killed with SIGKILL
 * in the middle of a clinic's turn and restarted on the same port and checkpoint directory.
 * The clinics reconnect by themselves, the server resumes from its checkpoint (the start of the
 * turn), the clinic rolls its raw side back to its own turn-start checkpoint, and training
 * completes with the same per-clinic step counts at the server (no step applied twice) and the
 * same final metrics as an uninterrupted run with the same seed.
 */
import assert from "node:assert/strict";
import { launchClinic } from "../../runtime/client/launcher.ts";
import type { ClinicResult } from "../../runtime/client/clinic.ts";
import { makeWorld, serverStatus, type SplitWorld, startServerProcess } from "./split_harness.ts";

const OPTS = { mode: "vanilla" as const, n: 160, batchSize: 8, epochs: 2, seed: 9 };
const STEPS_PER_TURN = 10; // 80 rows per clinic / 8

async function run(w: SplitWorld, fault: boolean): Promise<{ results: ClinicResult[]; steps: number[]; killedAt?: number }> {
  let server = await startServerProcess(w);
  let killedAt: number | undefined;
  const clinics = Promise.all(w.clientConfigs.map((c) => launchClinic(c, "train", { onLine: () => {}, pollMs: 20 })));
  try {
    if (fault) {
      // Kill once clinic-b is a few steps into its first turn (after clinic-a's turn was checkpointed).
      for (;;) {
        const st = await serverStatus(w);
        if (st.step >= STEPS_PER_TURN + 3) {
          killedAt = st.step;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      server.child.kill("SIGKILL");
      await server.child.status;
      await new Promise((r) => setTimeout(r, 300));
      server = await startServerProcess(w);
      assert.match(server.output.join(""), /resumed/);
    }
    const results = (await clinics).map((r) => r.result);
    const st = await serverStatus(w);
    assert.equal(st.finished, true);
    return { results, steps: st.clinics.map((c) => c.steps), killedAt };
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
  }
}

Deno.test("split fault: server killed mid-turn and restarted; training resumes and ends as an uninterrupted run", async () => {
  const a = await makeWorld(OPTS);
  const b = await makeWorld(OPTS);
  try {
    const clean = await run(a, false);
    const faulty = await run(b, true);
    assert.ok(faulty.killedAt! < 2 * STEPS_PER_TURN, `killed at step ${faulty.killedAt}, not mid-turn`);
    const expected = OPTS.epochs * STEPS_PER_TURN;
    assert.deepEqual(clean.steps, [expected, expected]);
    assert.deepEqual(faulty.steps, [expected, expected], "the server applied each step once");
    assert.ok(faulty.results.some((r) => r.rollbacks >= 1), "a clinic rolled back to its turn start");
    assert.ok(faulty.results.some((r) => r.reconnects >= 1), "a clinic reconnected");
    for (const [i, r] of faulty.results.entries()) {
      const c = clean.results[i];
      for (const k of ["auc", "accuracy", "loss"] as const) {
        assert.ok(Math.abs(r.eval.test![k] - c.eval.test![k]) <= 1e-5, `${r.clinic} test ${k}: ${r.eval.test![k]} vs ${c.eval.test![k]}`);
      }
      assert.deepEqual(r.turnLosses.map((x) => x.toFixed(5)), c.turnLosses.map((x) => x.toFixed(5)));
    }
  } finally {
    await a.remove();
    await b.remove();
  }
});
