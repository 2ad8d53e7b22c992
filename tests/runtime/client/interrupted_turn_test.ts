/**
 * A clinic killed in the middle of its turn, after the server applied some of the turn's
 * steps, and restarted on the same checkpoint directory must lose none of its own updates.
 * Its last stored state is the turn-start checkpoint; the server has moved on by the steps
 * it applied. The server rolls its segment back to the turn's start (`TURN_RESTART`) and
 * the clinic redoes the turn, so the run ends exactly as an uninterrupted one: same server
 * weights, same test metrics at both clinics. (Before the fix the clinic resumed from its
 * turn-start weights at the server's step, dropping the turn's first clinic updates.)
 * Two clinics, an in-process server, the clinic-restart harness of `clinic_restart_test.ts`.
 */
import assert from "node:assert/strict";
import {
  type ClinicEvent,
  type ClinicResult,
  formatClinicEvent,
  runClinic,
} from "../../../runtime/client/clinic.ts";
import { LocalRawSide } from "../../../runtime/client/raw_side/mod.ts";
import { ServerConnection } from "../../../runtime/client/server_connection.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import { runId } from "../../../crypto/seal/sealed_envelope.ts";
import type { Tensor } from "../../../models/tensor.ts";
import {
  CLINIC_KEYS,
  SERVER_KEYS,
  startServer,
  testEngine,
  tinyConfig,
} from "../server/harness.ts";
import { tinySplits } from "./fixture.ts";

class Crash extends Error {}

interface Outcome {
  params: Map<string, Tensor>;
  results: ClinicResult[];
  lines: string[];
  serverSteps: number[];
}

/** Trains a and b for 2 rounds; with `crashAt`, b dies after applying that step and restarts. */
async function train(crashAt: string | null): Promise<Outcome> {
  const dir = await Deno.makeTempDir({ prefix: "interrupted_turn_" });
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
      clinic: name,
      data: tinySplits(),
      model,
      cuts,
      mode: "vanilla",
      loss: "bce",
      optimizer: cfg.optimizer,
      seed: 7,
      batchSize: 4,
      engine,
      checkpointDir: `${dir}/${name}`,
      keyPair: CLINIC_KEYS[name],
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
  const lines: string[] = [];
  const onEvent = (name: string) => (e: ClinicEvent) => lines.push(formatClinicEvent(name, e));
  await Deno.mkdir(`${dir}/a`);
  await Deno.mkdir(`${dir}/b`);
  const sides: LocalRawSide[] = [];
  const conns: ServerConnection[] = [];
  try {
    const [sa, sb] = [await side("a"), await side("b")];
    sides.push(sa, sb);
    const [ca, cb] = [await connect("a"), await connect("b")];
    conns.push(ca, cb);
    const a = runClinic({
      side: sa,
      conn: ca,
      peers: peer("b"),
      run,
      pollMs: 1,
      onEvent: onEvent("a"),
    });
    let rb: ClinicResult;
    if (crashAt === null) {
      rb = await runClinic({
        side: sb,
        conn: cb,
        peers: peer("a"),
        run,
        pollMs: 1,
        onEvent: onEvent("b"),
      });
    } else {
      await assert.rejects(
        runClinic({
          side: sb,
          conn: cb,
          peers: peer("a"),
          run,
          pollMs: 1,
          onEvent: onEvent("b"),
          onApplied: (id) => {
            if (id === crashAt) throw new Crash(`b is killed after step ${id}`);
          },
        }),
        Crash,
      );
      await sb.close();
      const sb2 = await side("b");
      sides.push(sb2);
      const cb2 = await connect("b");
      conns.push(cb2);
      rb = await runClinic({
        side: sb2,
        conn: cb2,
        peers: peer("a"),
        run,
        pollMs: 1,
        onEvent: onEvent("b"),
      });
    }
    const ra = await a;
    assert.equal(server.status().finished, true);
    await server.checkpoint(); // settles the last deferred update
    const params = new Map([...server.model.exportState()].filter(([k]) => k.startsWith("param/")));
    return {
      params,
      results: [ra, rb],
      lines,
      serverSteps: server.status().clinics.map((c) => c.steps),
    };
  } finally {
    for (const c of conns) c.close();
    for (const s of sides) await s.close().catch(() => {});
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("clinic: killed mid-turn after the server applied steps, restarted; no update of its own is lost", async () => {
  const clean = await train(null);
  const crashed = await train("1:2");
  // the server rolled back and the clinic said so, in one line
  const said = crashed.lines.filter((l) => /rolled back/.test(l));
  assert.equal(said.length, 1, crashed.lines.join("\n"));
  assert.match(
    said[0],
    /^\[b\] restarted within round 1: the server rolled back steps 1:0 to 1:2 .*redoing the turn from its first step/,
  );
  assert.equal(crashed.results[1].rollbacks, 1);
  // each step applied once at the server, and the same weights as the uninterrupted run
  assert.deepEqual(crashed.serverSteps, clean.serverSteps);
  for (const [k, t] of clean.params) {
    assert.deepEqual(
      Array.from(crashed.params.get(k)!.data as Float32Array),
      Array.from(t.data as Float32Array),
      k,
    );
  }
  for (const i of [0, 1]) {
    const [c, f] = [clean.results[i].eval.test!, crashed.results[i].eval.test!];
    for (const m of ["auc", "accuracy", "loss"] as const) {
      assert.equal(f[m], c[m], `${clean.results[i].clinic} test ${m}`);
    }
  }
});
