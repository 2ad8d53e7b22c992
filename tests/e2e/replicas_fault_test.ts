/**
 * Fault test of the scale-out server (docs/design/scale_out.md, "Faults"): two trainers and
 * two fronts as child processes (`deno task server --role trainer|front`, SIGKILL-able) on a
 * local nats-server, four real clinics (sandboxed raw side + courier each), each behind a
 * proxy that prefers one front and fails over to the other, as a load balancer would.
 *
 * The trainer serving most clinics is killed mid-epoch (a few steps into round 1), and later,
 * in the last round, a front. Then:
 * - every clinic finishes, and the clinics of the killed trainer moved to the other (its log
 *   says it took them over);
 * - no (clinic, step id) is applied twice in the surviving lineage: the survivor's applied
 *   log, plus the killed trainer's steps of the rounds whose partials were averaged (its
 *   steps of the round it died in were lost with its replica and are redone);
 * - nothing is lost: every step applied anywhere is in that lineage, which holds each clinic's
 *   steps of every round, as many as its share of the data makes;
 * - the test AUC over every clinic's test share is within 0.01 of central training's (same
 *   model, seed, epochs, batch and optimizer on the pooled rows).
 *
 * Short on purpose (8×8 images, 4 rounds); the PneumoniaMNIST run of the acceptance is
 * `deno task demo --replicas 2 --clinics 4` (runtime/cli/demo_replicas.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseClientConfig } from "../../runtime/client/client_config.ts";
import type { ClinicResult } from "../../runtime/client/clinic.ts";
import { launchClinic } from "../../runtime/client/launcher.ts";
import { type RoleProcess, startRole, stopAll } from "../../runtime/cli/cluster_processes.ts";
import { startLocalNats } from "../../runtime/cluster/local_nats.ts";
import { DEFAULT_SHARDS } from "../../runtime/cluster/study_names.ts";
import { clinicsOwned } from "../../runtime/cluster/trainer.ts";
import { natsTest } from "../runtime/cluster/nats_harness.ts";
import { failoverProxy } from "../../bench/failover_proxy.ts";
import { type Applied, checkLineage, readApplied } from "../../bench/replica_lineage.ts";
import { makeWorld, type SplitWorld } from "./split_harness.ts";
import { trainDemoCentral } from "../../runtime/cli/demo_central.ts";
import { loadDataset } from "../../runtime/data/load_dataset.ts";
import { partition } from "../../runtime/data/partition.ts";
import { Rng } from "../../runtime/data/rng.ts";
import { rocAuc } from "../../runtime/train/metrics.ts";
import { zooModel } from "../../models/zoo/mod.ts";

const CLINICS = ["clinic-a", "clinic-b", "clinic-c", "clinic-d"];
/** 64 training rows a clinic, batch 8, 2 rounds an epoch: 4 steps a round. */
const OPTS = { mode: "vanilla" as const, clinics: CLINICS, n: 256, batchSize: 8, epochs: 2, turnsPerEpoch: 2, seed: 5 };
const ROUNDS = OPTS.epochs * OPTS.turnsPerEpoch;

interface Run {
  results: ClinicResult[];
  applied: Record<string, Applied[]>;
  lines: string[];
  killedTrainer?: string;
  killedFront?: string;
  /** Connections the proxies sent to another front than their clinic's own. */
  failovers: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `f()` is true (polling), or fails naming `what`. */
async function until(what: string, f: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The world's server config, as replicas need it: splitfed, no checkpoint directory. */
async function replicaConfig(w: SplitWorld): Promise<string> {
  const c = JSON.parse(await Deno.readTextFile(w.serverConfigFile));
  delete c.checkpointDir;
  const path = join(w.root, "replicas.json");
  await Deno.writeTextFile(path, JSON.stringify({ ...c, schedule: "splitfed", epochs: ROUNDS, turnTimeoutMs: 120_000 }));
  return path;
}

async function run(w: SplitWorld): Promise<Run> {
  const nats = await startLocalNats({ storeDir: join(w.root, "nats") });
  const lines: string[] = [];
  const procs: RoleProcess[] = [];
  const proxies: ReturnType<typeof failoverProxy>[] = [];
  const logOf = (t: string) => join(w.root, `${t}.applied.jsonl`);
  try {
    const configPath = await replicaConfig(w);
    const start = (role: "trainer" | "front", name: string) =>
      startRole({
        role,
        name,
        configPath,
        natsUrl: nats.url,
        onLine: (l) => lines.push(`[${name}] ${l}`),
        // A front answers 503 after 10 s without a reply, and the clinic re-sends: the request
        // the killed trainer had pulled would otherwise wait for JetStream's 30 s ack wait.
        ...(role === "trainer" ? { appliedLog: logOf(name) } : { busTimeoutMs: 10_000 }),
      }).then((p) => (procs.push(p), p));
    const trainers = await Promise.all(["trainer-0", "trainer-1"].map((n) => start("trainer", n)));
    const fronts = await Promise.all(["front-0", "front-1"].map((n) => start("front", n)));
    const configs = w.clientConfigs.map((c, i) => {
      const p = failoverProxy(fronts.map((f) => f.port), i % 2);
      proxies.push(p);
      return parseClientConfig(JSON.stringify({ ...c, server: `http://127.0.0.1:${p.port}` }), w.root);
    });
    const clinics = Promise.all(configs.map((c) => launchClinic(c, "train", { onLine: (l) => lines.push(l), pollMs: 20, keepScores: true })));
    const out: Run = { results: [], applied: {}, lines, failovers: 0 };
    {
      // The trainer serving most clinics, a few steps into round 1 (round 0's partials written).
      const ids = trainers.map((t) => t.name);
      const owned = ids.map((t) => clinicsOwned(t, ids, CLINICS, DEFAULT_SHARDS).length);
      const victim = trainers[owned[0] >= owned[1] ? 0 : 1];
      await until(`${victim.name} in round 1`, async () => (await readApplied(logOf(victim.name))).filter((s) => s.round === 1).length >= 2);
      victim.kill("SIGKILL");
      await victim.exited;
      out.killedTrainer = victim.name;
      const survivor = trainers.find((t) => t !== victim)!;
      // A front, once the survivor is stepping in the last round.
      await until(`${survivor.name} in round ${ROUNDS - 1}`, async () =>
        (await readApplied(logOf(survivor.name))).filter((s) => s.round === ROUNDS - 1).length >= 2);
      fronts[0].kill("SIGKILL");
      await fronts[0].exited;
      out.killedFront = fronts[0].name;
    }
    out.results = (await clinics).map((r) => r.result);
    out.failovers = proxies.reduce((a, p) => a + p.failovers, 0);
    for (const t of trainers) out.applied[t.name] = await readApplied(logOf(t.name));
    return out;
  } finally {
    for (const p of proxies) await p.close();
    await stopAll(procs);
    await nats.stop();
  }
}


/** Central training's test AUC on the world's pooled rows (demo_central.ts, as the demos). */
async function centralAuc(w: SplitWorld): Promise<number> {
  const data = await loadDataset(w.dataFile, { seed: OPTS.seed });
  const rng = new Rng(OPTS.seed);
  const { result } = await trainDemoCentral({
    model: zooModel("cnn", data, () => rng.float()).model,
    loss: "bce",
    data,
    epochs: OPTS.epochs,
    batchSize: OPTS.batchSize,
    optimizer: { kind: "sgd", lr: 0.05 },
    seed: OPTS.seed,
  });
  return result.test.auc;
}

Deno.test({
  name: "replicas: a trainer killed mid-epoch and a front killed later lose no step and apply none twice",
  ...natsTest,
  fn: async () => {
    const w = await makeWorld(OPTS);
    let hit: Run, central: number;
    try {
      hit = await run(w);
      central = await centralAuc(w);
    } finally {
      await w.remove().catch(() => {});
    }
    const why = () => hit.lines.filter((l) => /^\[(trainer|front)/.test(l)).slice(-60).join("\n");
    assert.ok(hit.killedTrainer && hit.killedFront);
    const survivor = Object.keys(hit.applied).find((t) => t !== hit.killedTrainer)!;
    // Its clinics moved to the survivor, which says so.
    assert.ok(hit.lines.some((l) => l.startsWith(`[${survivor}]`) && /clinic/.test(l) && /(took over|taking over|takeover|now serving|serving 4)/i.test(l)), why());
    // The surviving lineage: the survivor's steps, and the killed trainer's of averaged rounds.
    const { counts: seen, twice, lost, redone, lineage } = checkLineage(hit.applied, [hit.killedTrainer!], hit.lines);
    assert.deepEqual(twice, [], `applied twice in the surviving lineage:\n${why()}`);
    // Nothing lost: every step applied anywhere (the lost round's ones were redone), and
    // every clinic stepped in every round.
    assert.deepEqual(lost, [], why());
    // It died mid-round: some of its steps were lost with its replica and redone by the
    // survivor (counting them again would be the double application this test looks for).
    assert.ok(redone.length > 0, `${hit.killedTrainer} was killed after its round's partial: nothing was redone\n${why()}`);
    // The killed front's clinics went to the other front and handshook there.
    assert.ok(hit.failovers > 0, why());
    for (const c of CLINICS) {
      const rounds = new Set(lineage.filter((s) => s.clinic === c).map((s) => s.round));
      assert.deepEqual([...rounds].sort(), [...Array(ROUNDS).keys()], `${c}'s rounds in the lineage`);
    }
    // As many steps as the clinics' shares make: epochs × ⌈rows / batch⌉ each.
    const shares = partition({ scheme: "iid", count: OPTS.n, clinics: CLINICS.length, seed: OPTS.seed });
    const want = shares.reduce((a, rows) => a + OPTS.epochs * Math.ceil(rows.length / OPTS.batchSize), 0);
    assert.equal(seen.size, want, why());
    // The pooled test AUC, beside central training's.
    const scores = hit.results.flatMap((r) => r.scores!.test!.scores), labels = hit.results.flatMap((r) => r.scores!.test!.labels);
    const split = rocAuc(scores, labels);
    assert.ok(Math.abs(split - central) <= 0.01, `test AUC ${split} after the faults, ${central} central`);
  },
});
