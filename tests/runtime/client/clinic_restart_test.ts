/**
 * A clinic restarted within its turn resumes from the checkpoint it took at the turn's start,
 * which already holds the weights it took over then: it must not import the same envelope
 * again, since its raw side refuses an envelope not newer than the last accepted from that
 * sender (`WEIGHTS_REPLAYED`); nor must a clinic restarted after training,
 * whose final checkpoint holds the last holder's weights. Two clinics, an in-process server.
 */
import assert from "node:assert/strict";
import { runClinic } from "../../../runtime/client/clinic.ts";
import { LocalRawSide } from "../../../runtime/client/raw_side/mod.ts";
import { ServerConnection } from "../../../runtime/client/server_connection.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import { runId } from "../../../crypto/seal/sealed_envelope.ts";
import { CLINIC_KEYS, SERVER_KEYS, startServer, testEngine, tinyConfig } from "../server/harness.ts";
import { tinySplits } from "./fixture.ts";

class Crash extends Error {}

Deno.test("clinic: restarted mid-turn, it resumes from its turn-start checkpoint without re-importing the relayed weights", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clinic_restart_" });
  const server = await startServer("vanilla", {
    epochs: 2,
    turnTimeoutMs: 120_000,
    limits: { maxBatch: 16, maxBodyBytes: 8 << 20 },
  }, { names: ["a", "b"] });
  const cfg = tinyConfig("vanilla");
  const { model, cuts } = buildSplitModel(cfg.model, "vanilla", "bce");
  const engine = await testEngine();
  const side = (name: "a" | "b") =>
    LocalRawSide.create({
      clinic: name, data: tinySplits(), model, cuts, mode: "vanilla", loss: "bce", optimizer: cfg.optimizer,
      seed: 7, batchSize: 8, engine, checkpointDir: `${dir}/${name}`, keyPair: CLINIC_KEYS[name],
    });
  const connect = (name: "a" | "b") =>
    ServerConnection.connect({
      url: "http://server:1",
      serverPublicKey: SERVER_KEYS.publicKey,
      clinicKeyPair: CLINIC_KEYS[name],
      fetch: ((url: string, init?: RequestInit) => server.app.request(url, init)) as typeof fetch,
    });
  const run = runId(SERVER_KEYS.publicKey);
  const peer = (name: "a" | "b") => new Map([[name, CLINIC_KEYS[name].publicKey]]);
  await Deno.mkdir(`${dir}/a`);
  await Deno.mkdir(`${dir}/b`);
  const sides: LocalRawSide[] = [];
  try {
    const [sa, sb] = [await side("a"), await side("b")];
    sides.push(sa, sb);
    const [ca, cb] = [await connect("a"), await connect("b")];
    const events: string[] = [];
    const a = runClinic({ side: sa, conn: ca, peers: peer("b"), run, pollMs: 1, evaluate: [] });
    // b dies after its first step of round 1, having imported a's round-1 weights at its start
    await assert.rejects(
      runClinic({
        side: sb, conn: cb, peers: peer("a"), run, pollMs: 1, evaluate: [],
        onApplied: (id) => {
          if (id === "1:0") throw new Crash("b crashes");
        },
        onEvent: (e) => e.kind === "turn" && events.push(`${e.round}:${e.imported}`),
      }),
      Crash,
    );
    assert.deepEqual(events, ["0:a", "1:a"]); // a round is a's turn, then b's
    cb.close();
    await sb.close();
    // b comes back: a new raw side on the same checkpoint directory, a new connection
    const sb2 = await side("b");
    sides.push(sb2);
    const cb2 = await connect("b");
    const resumed: string[] = [];
    const rb = await runClinic({
      side: sb2, conn: cb2, peers: peer("a"), run, pollMs: 1, evaluate: [],
      onEvent: (e) => e.kind === "turn" && resumed.push(`${e.round}:${e.imported}`),
    });
    const ra = await a;
    // round 1 resumed from the checkpoint (nothing imported again), and finished
    assert.deepEqual(resumed, ["1:null"]);
    assert.equal(ra.turns, 2);
    assert.equal(rb.turns, 1);
    assert.equal(server.status().finished, true);
    ca.close();
    cb2.close();
    // a restarted after training (its final checkpoint holds b's last weights) evaluates
    // without importing them again
    const sa2 = await side("a");
    sides.push(sa2);
    const ca2 = await connect("a");
    const again = await runClinic({ side: sa2, conn: ca2, peers: peer("b"), run, pollMs: 1, evaluate: ["test"] });
    assert.equal(again.turns, 0);
    assert.equal(typeof again.eval.test?.auc, "number");
    ca2.close();
  } finally {
    for (const s of sides) await s.close().catch(() => {});
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
