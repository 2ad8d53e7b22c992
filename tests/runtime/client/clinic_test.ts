/**
 * The clinic driver against an in-process server (`app.request` as its fetch) with a
 * `LocalRawSide`: the server "dies" after the last step of a turn, before TURN_DONE is
 * checkpointed, and comes back from its checkpoint (the start of that turn). The clinic's
 * TURN_DONE names its last step, the restarted server refuses it (it has not applied that
 * step), and the clinic rolls back to its turn-start checkpoint and redoes the turn: every
 * step is applied once and the weights equal an uninterrupted run's.
 */
import assert from "node:assert/strict";
import { runClinic } from "../../../runtime/client/clinic.ts";
import { runId } from "../../../crypto/seal/sealed_envelope.ts";
import { LocalRawSide } from "../../../runtime/client/raw_side/mod.ts";
import { ServerConnection } from "../../../runtime/client/server_connection.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import type { ServerHandle } from "../../../runtime/server/mod.ts";
import { CLINIC_KEYS, paramsSnapshot, SERVER_KEYS, startServer, testEngine, tinyConfig } from "../server/harness.ts";
import { tinySplits } from "./fixture.ts";

const EPOCHS = 2;

async function train(crashAfter: string | null): Promise<{ rollbacks: number; steps: number[]; params: Map<string, Float32Array> }> {
  const dir = await Deno.makeTempDir();
  const serverDir = `${dir}/server`, clinicDir = `${dir}/clinic`;
  await Deno.mkdir(clinicDir);
  const start = () => startServer("vanilla", { checkpointDir: serverDir, epochs: EPOCHS }, { names: ["a"] });
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
    seed: 7,
    batchSize: 8,
    engine: await testEngine(),
    checkpointDir: clinicDir,
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
      // the server of the moment: a restart swaps it (requests wait until it is back)
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
          // the server dies here, after the turn's last step and before TURN_DONE is checkpointed
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
    return { rollbacks: result.rollbacks, steps: st.clinics.map((c) => c.steps), params: await paramsSnapshot(server) };
  } finally {
    await side.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("clinic: a TURN_DONE refused after a server crash before its checkpoint makes the clinic redo the turn", async () => {
  const clean = await train(null);
  // 20 training rows, batch 8: 3 steps a turn; crash after the last step of round 1
  const faulty = await train("1:2");
  assert.equal(clean.rollbacks, 0);
  assert.equal(faulty.rollbacks, 1, "the clinic rolled back once");
  assert.deepEqual(clean.steps, [EPOCHS * 3]);
  assert.deepEqual(faulty.steps, [EPOCHS * 3], "each step applied once at the server");
  assert.deepEqual(faulty.params, clean.params, "the same weights as an uninterrupted run");
});

Deno.test("clinic: a config that disagrees with the server is refused at the first TURN, before any step", async () => {
  const server = await startServer("vanilla", { epochs: 1 }, { names: ["a"] });
  const ck = await Deno.makeTempDir();
  const cfg = tinyConfig("vanilla");
  const { model, cuts } = buildSplitModel(cfg.model, "vanilla", "bce");
  const side = await LocalRawSide.create({
    clinic: "a", data: tinySplits(), model, cuts, mode: "vanilla", loss: "bce", optimizer: cfg.optimizer,
    seed: 7, batchSize: 8, engine: await testEngine(), checkpointDir: ck,
  });
  const conn = await ServerConnection.connect({
    url: "http://server:1",
    serverPublicKey: SERVER_KEYS.publicKey,
    clinicKeyPair: CLINIC_KEYS.a,
    fetch: ((url: string, init?: RequestInit) => server.app.request(url, init)) as typeof fetch,
  });
  try {
    const run = (o: Partial<Parameters<typeof runClinic>[0]>) =>
      runClinic({ side, conn, peers: new Map(), run: runId(SERVER_KEYS.publicKey), pollMs: 1, evaluate: [], ...o });
    // Peers the server's turn order does not have: their sealed weights would be refused only at TURN_DONE.
    await assert.rejects(
      run({ peers: new Map([["b", CLINIC_KEYS.b.publicKey]]) }),
      /the peers file names b, not in the server's turn order \[a\]/,
    );
    await assert.rejects(run({ loss: "mse" }), /the server trains with loss bce; this clinic's config says mse: set "loss": "bce"/);
    assert.equal(server.status().step, 0, "no step was sent");
  } finally {
    conn.close();
    await side.close();
    await server.close();
    await Deno.remove(ck, { recursive: true });
  }
});
