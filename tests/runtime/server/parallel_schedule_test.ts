/**
 * The parallel schedules end to end in one process: three clinics (`LocalRawSide` and the
 * real `ServerConnection`, Noise channel and all, over `app.request`) train at once against
 * one server. Checks: every step is applied once; at the end every clinic holds the same
 * front (the weighted average), except with private fronts; splitfed trains; merged server
 * batches form; U-shape works; a server killed mid-round resumes from the round's start and
 * still applies each step once.
 */
import assert from "node:assert/strict";
import { runClinic } from "../../../runtime/client/clinic.ts";
import { runId } from "../../../crypto/seal/sealed_envelope.ts";
import { LocalRawSide } from "../../../runtime/client/raw_side/mod.ts";
import { ServerConnection } from "../../../runtime/client/server_connection.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import type { ServerConfig, ServerHandle } from "../../../runtime/server/mod.ts";
import type { SplitMode } from "../../../runtime/server/split_model.ts";
import { CLINIC_KEYS, SERVER_KEYS, startServer, testEngine, tinyConfig } from "./harness.ts";
import { tinySplits } from "../client/fixture.ts";

const NAMES = ["a", "b", "c"];
const ROUNDS = 2;

interface Outcome {
  fronts: Map<string, Float32Array>[];
  steps: number[];
  log: string[];
  auc: number[];
  rollbacks: number;
}

async function train(
  mode: SplitMode,
  extra: Partial<ServerConfig>,
  crash?: { clinic: string; after: string },
  absent: string[] = [],
): Promise<Outcome> {
  const dir = await Deno.makeTempDir();
  const log: string[] = [];
  const start = () =>
    startServer(mode, {
      checkpointDir: `${dir}/server`,
      epochs: ROUNDS,
      turnTimeoutMs: 60_000,
      ...extra,
    }, { names: NAMES, log });
  let server: ServerHandle = await start();
  let restarting: Promise<void> | null = null;
  const cfg = tinyConfig(mode);
  const sides: LocalRawSide[] = [];
  try {
    const results = await Promise.all(NAMES.filter((n) => !absent.includes(n)).map(async (name, i) => {
      const { model, cuts } = buildSplitModel(cfg.model, mode, "bce");
      await Deno.mkdir(`${dir}/${name}`);
      const side = await LocalRawSide.create({
        clinic: name,
        data: tinySplits(3 + 10 * i),
        model,
        cuts,
        mode,
        loss: "bce",
        optimizer: cfg.optimizer,
        seed: 7,
        batchSize: 4 + 2 * i,
        engine: await testEngine(),
        checkpointDir: `${dir}/${name}`,
        keyPair: CLINIC_KEYS[name],
      });
      sides.push(side);
      const conn = await ServerConnection.connect({
        url: "http://server:1",
        serverPublicKey: SERVER_KEYS.publicKey,
        clinicKeyPair: CLINIC_KEYS[name],
        retries: 6,
        backoffMs: 1,
        maxBackoffMs: 5,
        fetch: (async (url: string, init?: RequestInit) => {
          await restarting;
          return await server.app.request(url, init);
        }) as typeof fetch,
      });
      const peers = new Map(
        NAMES.filter((n) => n !== name).map((n) => [n, CLINIC_KEYS[n].publicKey]),
      );
      let crashed = false;
      const r = await runClinic({
        side,
        conn,
        peers,
        run: runId(SERVER_KEYS.publicKey),
        pollMs: 1,
        onApplied: (id) => {
          if (crash && crash.clinic === name && id === crash.after && !crashed) {
            crashed = true;
            const old = server;
            restarting = old.close().then(async () => {
              server = await start();
              assert.equal(server.resumed, true, "resumed from the round-end checkpoint");
            });
          }
        },
      });
      conn.close();
      if (crash?.clinic === name) assert.ok(crashed, "the crash point was reached");
      return { name, r, front: side.weights() };
    }));
    await restarting;
    assert.equal(server.status().finished, true);
    const fronts = results.map(({ front }) =>
      new Map([...front].map(([k, v]) => [k, (v.data as Float32Array).slice()]))
    );
    return {
      fronts,
      steps: server.status().clinics.map((c) => c.steps),
      log,
      auc: results.map((x) => x.r.eval.test!.auc),
      rollbacks: results.reduce((a, x) => a + x.r.rollbacks, 0),
    };
  } finally {
    for (const s of sides) await s.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Steps per round of clinic i: 20 training rows, batch 4 + 2i (the last batch partial). */
const STEPS = [5, 4, 3];

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [k, v] of a) {
    const w = b.get(k)!;
    for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i] - w[i]));
  }
  return worst;
}

Deno.test("parallel: three clinics step at once, each step applied once, every clinic ends on the same averaged front", async () => {
  const o = await train("vanilla", { schedule: "parallel" });
  assert.deepEqual(o.steps, STEPS.map((s) => s * ROUNDS));
  assert.ok(
    maxDiff(o.fronts[0], o.fronts[1]) < 1e-5,
    `fronts a, b differ by ${maxDiff(o.fronts[0], o.fronts[1])}`,
  );
  assert.ok(maxDiff(o.fronts[0], o.fronts[2]) < 1e-5);
  assert.ok(
    o.log.some((l) => /round 1 ended: 3\/3 clinics through \(60 samples\)/.test(l)),
    o.log.join("\n"),
  );
});

Deno.test("parallel, clinicWeights private: fronts are never averaged", async () => {
  const o = await train("vanilla", { schedule: "parallel", clinicWeights: "private" });
  assert.deepEqual(o.steps, STEPS.map((s) => s * ROUNDS));
  assert.ok(maxDiff(o.fronts[0], o.fronts[1]) > 1e-3, "each clinic kept its own front");
});

Deno.test("splitfed: per-clinic server copies averaged at each round end; fronts averaged", async () => {
  const o = await train("vanilla", { schedule: "splitfed" });
  assert.deepEqual(o.steps, STEPS.map((s) => s * ROUNDS));
  assert.ok(maxDiff(o.fronts[0], o.fronts[2]) < 1e-5);
  assert.ok(
    o.log.some((l) => /round 0: server copies of a, b, c averaged/.test(l)),
    o.log.join("\n"),
  );
});

Deno.test("parallel, serverBatch merge: concurrent steps share server batches", async () => {
  const o = await train("vanilla", {
    schedule: "parallel",
    serverBatch: "merge",
    merge: { maxRows: 64, maxDelayMs: 20 },
  });
  assert.deepEqual(o.steps, STEPS.map((s) => s * ROUNDS));
  const last = o.log.filter((l) => /steps merged into/.test(l)).at(-1)!;
  const [, items, batches] = /(\d+) steps merged into (\d+) server batches/.exec(last)!.map(Number);
  assert.equal(items, 24);
  assert.ok(batches < items, `merged: ${last}`);
});

Deno.test("parallel, U-shaped: the middle segment's held forwards are kept apart per clinic", async () => {
  const o = await train("ushaped", { schedule: "splitfed" });
  assert.deepEqual(o.steps, STEPS.map((s) => s * ROUNDS));
  assert.ok(maxDiff(o.fronts[0], o.fronts[1]) < 1e-5);
});

Deno.test("parallel: a clinic silent past turnTimeoutMs is dropped from each round; the others finish on their average", async () => {
  const o = await train("vanilla", { schedule: "parallel", turnTimeoutMs: 1500 }, undefined, ["c"]);
  assert.deepEqual(o.steps, [STEPS[0] * ROUNDS, STEPS[1] * ROUNDS, 0]);
  assert.ok(o.log.some((l) => /clinic c offline, dropped from round 0/.test(l)), o.log.join("\n"));
  assert.ok(o.log.some((l) => /round 1 ended: 2\/3 clinics through/.test(l)), o.log.join("\n"));
  assert.ok(maxDiff(o.fronts[0], o.fronts[1]) < 1e-5);
});

Deno.test("parallel: a server killed mid-round resumes from the round's start; no step is applied twice", async () => {
  const o = await train("vanilla", { schedule: "parallel" }, { clinic: "b", after: "1:2" });
  assert.deepEqual(
    o.steps,
    STEPS.map((s) => s * ROUNDS),
    "each step counted once in the resumed server",
  );
  assert.ok(o.rollbacks >= 1, "clinics redid the round");
  assert.ok(maxDiff(o.fronts[0], o.fronts[1]) < 1e-5);
});
