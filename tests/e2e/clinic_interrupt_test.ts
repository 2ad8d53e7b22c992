/**
 * A clinic stopped with Ctrl-C in the middle of its turn (SIGINT to its raw-data and courier
 * processes, as a terminal sends it to the whole process group) and started again on the same
 * checkpoint directory, with real processes: the server (`runtime/cli/server.ts`) rolls back
 * to the start of the turn, the clinic says so and redoes the turn, and training ends exactly
 * as an uninterrupted run (each step applied once at the server, the same test metrics at both
 * clinics). Before the fix the restarted clinic went on from the server's step with its
 * turn-start weights, dropping its own updates of the turn's first steps.
 */
import assert from "node:assert/strict";
import { launchClinic } from "../../runtime/client/launcher.ts";
import type { ClinicResult } from "../../runtime/client/clinic.ts";
import { makeWorld, serverStatus, type SplitWorld, startServerProcess } from "./split_harness.ts";

const OPTS = { mode: "vanilla" as const, n: 96, batchSize: 8, epochs: 1, seed: 4 };
const STEPS_PER_TURN = 6; // 48 rows per clinic / 8

async function run(
  w: SplitWorld,
  interrupt: boolean,
): Promise<{ results: ClinicResult[]; steps: number[]; lines: string[] }> {
  const server = await startServerProcess(w);
  const lines: string[] = [];
  const onLine = (l: string) => lines.push(l);
  try {
    const [ca, cb] = w.clientConfigs;
    const a = launchClinic(ca, "train", { onLine, pollMs: 20 });
    let rb: ClinicResult;
    if (!interrupt) {
      rb = (await launchClinic(cb, "train", { onLine, pollMs: 20 })).result;
    } else {
      let pids: { rawSide: number; courier: number } | undefined;
      const first = launchClinic(cb, "train", { onLine, pollMs: 20, onSpawn: (p) => (pids = p) });
      for (;;) {
        const st = await serverStatus(w);
        if (st.step >= STEPS_PER_TURN + 2) break; // clinic-b is two steps into its turn
        await new Promise((r) => setTimeout(r, 5));
      }
      Deno.kill(pids!.rawSide, "SIGINT");
      Deno.kill(pids!.courier, "SIGINT");
      await assert.rejects(first);
      const st = await serverStatus(w);
      assert.ok(
        st.step > STEPS_PER_TURN && st.step < 2 * STEPS_PER_TURN,
        `interrupted at step ${st.step}, not mid-turn`,
      );
      rb = (await launchClinic(cb, "train", { onLine, pollMs: 20 })).result;
    }
    const ra = (await a).result;
    const st = await serverStatus(w);
    assert.equal(st.finished, true);
    return { results: [ra, rb], steps: st.clinics.map((c) => c.steps), lines };
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
  }
}

Deno.test("clinic interrupted (SIGINT) mid-turn and restarted: the server rolls back, nothing of the clinic's is lost", async () => {
  const a = await makeWorld(OPTS);
  const b = await makeWorld(OPTS);
  try {
    const clean = await run(a, false);
    const cut = await run(b, true);
    assert.deepEqual(clean.steps, [STEPS_PER_TURN, STEPS_PER_TURN]);
    assert.deepEqual(cut.steps, clean.steps, "each step applied once at the server");
    const said = cut.lines.filter((l) => l.includes("the server rolled back"));
    assert.equal(said.length, 1, cut.lines.join("\n"));
    assert.match(
      said[0],
      /^\[clinic-b\] restarted within round 0: the server rolled back steps 0:0 to 0:\d+ .*redoing the turn from its first step \(no update lost\)$/,
    );
    assert.equal(cut.results[1].rollbacks, 1);
    for (const [i, r] of cut.results.entries()) {
      const c = clean.results[i];
      for (const k of ["auc", "accuracy", "loss"] as const) {
        assert.ok(
          Math.abs(r.eval.test![k] - c.eval.test![k]) <= 1e-6,
          `${r.clinic} test ${k}: ${r.eval.test![k]} vs ${c.eval.test![k]}`,
        );
      }
    }
  } finally {
    await a.remove();
    await b.remove();
  }
});
