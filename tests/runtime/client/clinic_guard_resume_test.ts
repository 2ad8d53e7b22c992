/**
 * Hijack-guard decoys across a server crash (docs/design/faults_and_resume.md): the clinic
 * driver with a guarded `LocalRawSide` against an in-process server that dies mid-turn and
 * comes back from its turn-start checkpoint. The clinic rolls back and redoes the turn, decoys
 * included, under the same step ids: the server applies each step (regular or decoy) once and
 * ends with the weights of an uninterrupted run, and the clinic's weights equal an
 * uninterrupted run's (a redone decoy is never applied by the clinic).
 */
import assert from "node:assert/strict";
import type { Tensor } from "../../../models/tensor.ts";
import { runClinic } from "../../../runtime/client/clinic.ts";
import { runId } from "../../../crypto/seal/sealed_envelope.ts";
import { LocalRawSide } from "../../../runtime/client/raw_side/mod.ts";
import { ServerConnection } from "../../../runtime/client/server_connection.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import type { ServerHandle } from "../../../runtime/server/mod.ts";
import { turnPlan } from "../../../runtime/privacy/decoy_schedule.ts";
import {
  CLINIC_KEYS,
  paramsSnapshot,
  SERVER_KEYS,
  startServer,
  testEngine,
  tinyConfig,
} from "../server/harness.ts";
import { tinySplits } from "./fixture.ts";

const EPOCHS = 2, SEED = 7, GUARD = { every: 2, flips: 3, window: 2 };

interface Outcome {
  rollbacks: number;
  decoys: number;
  serverSteps: number[];
  serverParams: Map<string, Float32Array>;
  clinicWeights: Map<string, Tensor>;
}

async function train(crashAfter: string | null): Promise<Outcome> {
  const dir = await Deno.makeTempDir();
  const serverDir = `${dir}/server`, clinicDir = `${dir}/clinic`;
  await Deno.mkdir(clinicDir);
  const start = () =>
    startServer("vanilla", { checkpointDir: serverDir, epochs: EPOCHS }, { names: ["a"] });
  let server: ServerHandle = await start();
  const cfg = tinyConfig("vanilla");
  const { model, cuts } = buildSplitModel(cfg.model, "vanilla", "bce");
  const side = await LocalRawSide.create({
    clinic: "a",
    data: tinySplits(),
    model,
    cuts,
    mode: "vanilla",
    loss: "bce",
    optimizer: cfg.optimizer,
    seed: SEED,
    batchSize: 8,
    engine: await testEngine(),
    checkpointDir: clinicDir,
    defence: { hijackGuard: GUARD },
  });
  let restarting: Promise<void> | null = null;
  try {
    const conn = await ServerConnection.connect({
      url: "http://server:1",
      serverPublicKey: SERVER_KEYS.publicKey,
      clinicKeyPair: CLINIC_KEYS.a,
      retries: 4,
      backoffMs: 1,
      maxBackoffMs: 2,
      fetch: (async (url: string, init?: RequestInit) => {
        await restarting;
        return await server.app.request(url, init);
      }) as typeof fetch,
    });
    let crashed = false;
    const result = await runClinic({
      side,
      conn,
      peers: new Map(),
      run: runId(SERVER_KEYS.publicKey),
      pollMs: 1,
      onApplied: (id) => {
        if (id === crashAfter && !crashed) {
          crashed = true;
          // the server dies mid-turn and comes back from the turn-start checkpoint
          const old = server;
          restarting = old.close().then(async () => {
            server = await start();
            assert.equal(server.resumed, true);
          });
        }
      },
      evaluate: [],
    });
    if (crashAfter) assert.ok(crashed, "the crash point was reached");
    await restarting;
    const st = server.status();
    assert.equal(st.finished, true);
    conn.close();
    return {
      rollbacks: result.rollbacks,
      decoys: result.decoys ?? 0,
      serverSteps: st.clinics.map((c) => c.steps),
      serverParams: await paramsSnapshot(server),
      clinicWeights: side.weights(),
    };
  } finally {
    await side.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("clinic with the hijack guard: a turn redone after a server crash replays its decoys, applied once at the server, never at the clinic", async () => {
  // 20 training rows, batch 8: 3 regular steps a round; decoys where the schedule puts them.
  const plan = [0, 1].map((e) => turnPlan({ seed: SEED, every: GUARD.every }, e, 0, 3));
  const decoys = plan.flat().filter((s) => s.decoy).length;
  assert.ok(decoys >= 2 && plan[1].some((s) => s.decoy), "round 1 has a decoy to redo");
  const clean = await train(null);
  const faulty = await train("1:0");
  assert.equal(clean.rollbacks, 0);
  assert.equal(faulty.rollbacks, 1, "the clinic rolled back once");
  assert.equal(clean.decoys, decoys);
  assert.deepEqual(clean.serverSteps, [EPOCHS * 3 + decoys]);
  assert.deepEqual(
    faulty.serverSteps,
    [EPOCHS * 3 + decoys],
    "each step, decoys included, applied once at the server",
  );
  assert.deepEqual(
    faulty.serverParams,
    clean.serverParams,
    "the server's weights equal an uninterrupted run's: the redone decoys were the same steps",
  );
  assert.deepEqual(
    faulty.clinicWeights,
    clean.clinicWeights,
    "the clinic's weights equal an uninterrupted run's",
  );
});
