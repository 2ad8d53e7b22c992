/**
 * The hijack guard in real clinic gateways (`defence.hijackGuard`; `runtime/client/decoy_steps.ts`,
 * `runtime/client/raw_side/hijack_watch.ts`): `deno task client` against a server that answers
 * like the FSHA attacker (`fsha_server.ts`) stops with `HIJACK_SUSPECTED` well within 200 steps,
 * and the same gateway against the honest server trains to the end without an alarm, its decoys
 * sent as ordinary steps.
 */
import assert from "node:assert/strict";
import { launchClinic } from "../../runtime/client/launcher.ts";
import { parseClientConfig } from "../../runtime/client/client_config.ts";
import { runTask } from "./cli_harness.ts";
import { makeWorld, serverStatus, type SplitWorld, startInProcessServer } from "./split_harness.ts";
import { hijackServer } from "./fsha_server.ts";
import { HIJACK_EXIT_CODE } from "../../runtime/cli/hijack_exit.ts";

const GUARD = { every: 4, flips: 4, window: 3 };

/** One vanilla clinic over 128 rows in batches of 8 (16 steps an epoch), guard on. */
async function guardedWorld(epochs: number): Promise<{ w: SplitWorld; config: string }> {
  const w = await makeWorld({
    mode: "vanilla",
    clinics: ["clinic-a"],
    n: 128,
    epochs,
    batchSize: 8,
    optimizer: { kind: "adam", lr: 1e-3 },
  });
  const config = `${w.root}/clinic-a.json`;
  const c = JSON.parse(await Deno.readTextFile(config));
  await Deno.writeTextFile(config, JSON.stringify({ ...c, defence: { hijackGuard: GUARD } }));
  return { w, config };
}

Deno.test("deno task client with defence.hijackGuard stops with HIJACK_SUSPECTED against an FSHA server", async () => {
  const { w, config } = await guardedWorld(12);
  const server = await startInProcessServer(w);
  hijackServer(server.handle, 7);
  try {
    const r = await runTask("client", ["--config", config], {}, 120_000);
    assert.equal(r.code, HIJACK_EXIT_CODE, r.stderr); // 3
    const m =
      /^error: courier \[HIJACK_SUSPECTED\]: hijack suspected at step (\d+):(\d+) .*mean decoy score (-?[\d.]+)/m
        .exec(r.stderr);
    assert.ok(m, r.stderr);
    const status = await serverStatus(w);
    assert.ok(status.clinics[0].steps <= 200, `the server saw ${status.clinics[0].steps} steps`);
    assert.ok(Number(m[1]) < 12, `alarm in round ${m[1]}`);
  } finally {
    await server.stop();
    await w.remove();
  }
});

Deno.test("a guarded gateway trains to the end with the honest server, its decoys ordinary steps", async () => {
  const { w, config } = await guardedWorld(2);
  const server = await startInProcessServer(w);
  try {
    const c = parseClientConfig(await Deno.readTextFile(config), w.root);
    const { result } = await launchClinic<{ steps: number; decoys?: number; turns: number }>(
      c,
      "train",
      { onLine: () => {}, pollMs: 20 },
    );
    assert.equal(result.turns, 2);
    assert.equal(result.steps, 32);
    assert.ok((result.decoys ?? 0) >= 6, `decoys ${result.decoys}`);
    // The server counted the decoys as ordinary steps.
    assert.equal((await serverStatus(w)).clinics[0].steps, 32 + result.decoys!);
  } finally {
    await server.stop();
    await w.remove();
  }
});
