/**
 * `deno task bench:replicas-fault [--epochs 3] [--clinics 4] [--kill-trainer-round 5]
 *  [--kill-front-round 9] [--seed 0] [--no-central]`
 *
 * The fault acceptance of the scale-out server on PneumoniaMNIST (docs/design/scale_out.md,
 * "Faults"), too long for the test suite (tests/e2e/replicas_fault_test.ts is its short
 * form): the demo of `deno task demo --replicas 2 --clinics 4` (a local nats-server, two
 * trainers and two fronts as child processes, real clinics with non-IID shares), each clinic
 * behind a proxy that fails over to the other front. The trainer serving the most clinics is
 * SIGKILLed a few steps into `--kill-trainer-round` (round 5: the middle of epoch 2 at 4
 * rounds an epoch), front-0 a few steps into `--kill-front-round`. Prints the demo's table
 * beside central training, and the lineage check: steps applied twice in the surviving
 * lineage (must be 0), steps lost (must be 0), steps redone after the trainer died.
 *
 * @example
 * ```sh
 * deno task bench:replicas-fault
 * ```
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDataset } from "../runtime/data/load_dataset.ts";
import { demoClinicBase, launchDemoClinics, writeDemoKeys } from "../runtime/cli/demo_launch.ts";
import { imageCentral, imageClinicConfig, type ImageDemoOptions } from "../runtime/cli/demo_image.ts";
import { replicaServerConfig, startReplicaCluster } from "../runtime/cli/demo_replicas.ts";
import { printComparison } from "../runtime/cli/demo_report.ts";
import type { ClinicResult } from "../runtime/client/clinic.ts";
import { failoverProxy, type FailoverProxy } from "./failover_proxy.ts";
import { DEFAULT_SHARDS } from "../runtime/cluster/study_names.ts";
import { clinicsOwned } from "../runtime/cluster/trainer.ts";
import { type Applied, checkLineage, readApplied } from "./replica_lineage.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `f()` holds (or `done` settles first: the run ended before the moment came). */
async function until(f: () => Promise<boolean>, done: Promise<unknown>): Promise<boolean> {
  let over = false;
  const end = () => (over = true);
  void done.then(end, end);
  while (!over) {
    if (await f()) return true;
    await sleep(20);
  }
  return false;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      epochs: { type: "string", default: "3" },
      clinics: { type: "string", default: "4" },
      "kill-trainer-round": { type: "string", default: "5" },
      "kill-front-round": { type: "string", default: "9" },
      seed: { type: "string", default: "0" },
      "no-central": { type: "boolean", default: false },
    },
  });
  const t0 = performance.now();
  const seed = Number(values.seed);
  const dataPath = new URL("../data/pneumoniamnist.npz", import.meta.url).pathname;
  const o: ImageDemoOptions & { replicas: number; clinics: number; schedule: "splitfed"; serverBatch: "inOrder" } = {
    epochs: Number(values.epochs), batchSize: 64, turnsPerEpoch: 4, seed, mode: "vanilla", scheme: "size-dirichlet", alpha: 0.5,
    codec: { dtype: "float32", level: 0 }, dataPath, data: await loadDataset(dataPath, { seed }), central: !values["no-central"],
    lingerSeconds: 0, replicas: 2, clinics: Number(values.clinics), schedule: "splitfed", serverBatch: "inOrder",
  };
  const killTrainerRound = Number(values["kill-trainer-round"]), killFrontRound = Number(values["kill-front-round"]);
  const names = Array.from({ length: o.clinics }, (_, i) => `clinic-${String.fromCharCode(97 + i)}`);
  const root = await Deno.makeTempDir({ prefix: "splitgate_replicas_fault_" });
  const lines: string[] = [];
  const logOf = (t: string) => join(root, `${t}.applied.jsonl`);
  const proxies: FailoverProxy[] = [];
  try {
    const keys = await writeDemoKeys(join(root, "keys"), names);
    const configPath = join(root, "server.json");
    await Deno.writeTextFile(configPath, JSON.stringify(replicaServerConfig(o, keys, "native")));
    const onLine = (l: string) => (lines.push(l), console.log(l));
    const cluster = await startReplicaCluster(root, configPath, 2, onLine, { appliedLogs: logOf, busTimeoutMs: 10_000 });
    console.log(`bench:replicas-fault — ${o.data.description}; 2 trainers, 2 fronts, ${o.clinics} clinics, ${o.epochs} epochs of 4 rounds; ` +
      `kill the busiest trainer in round ${killTrainerRound}, front-0 in round ${killFrontRound} (machine shared: timings are noisy)`);
    const split0 = performance.now();
    let results: ClinicResult[];
    const killed: string[] = [];
    const applied: Record<string, Applied[]> = {};
    try {
      const ports = cluster.fronts.map((f) => f.port);
      const training = launchDemoClinics(root, names, (c, i) => {
        const p = failoverProxy(ports, i % ports.length);
        proxies.push(p);
        return imageClinicConfig(o, demoClinicBase(root, keys, p.port, c), i, names.length);
      });
      const inRound = (t: string, r: number) => async () => (await readApplied(logOf(t))).filter((s) => s.round === r).length >= 2;
      // The trainer the shard ring gives the most clinics.
      const ids = cluster.trainers.map((t) => t.name);
      const owned = ids.map((t) => clinicsOwned(t, ids, names, DEFAULT_SHARDS).length);
      const victim = cluster.trainers[owned[0] >= owned[1] ? 0 : 1];
      void (async () => {
        if (await until(inRound(victim.name, killTrainerRound), training)) {
          onLine(`>>> SIGKILL ${victim.name} (round ${killTrainerRound})`);
          victim.kill("SIGKILL");
          killed.push(victim.name);
          const survivor = cluster.trainers.find((t) => t !== victim)!;
          if (await until(inRound(survivor.name, killFrontRound), training)) {
            onLine(`>>> SIGKILL front-0 (round ${killFrontRound})`);
            cluster.fronts[0].kill("SIGKILL");
          }
        }
      })();
      results = await training;
      for (const t of cluster.trainers) applied[t.name] = await readApplied(logOf(t.name));
    } finally {
      for (const p of proxies) await p.close();
      await cluster.stop();
    }
    const splitSeconds = (performance.now() - split0) / 1000;
    const c = o.central ? await imageCentral(o, false) : undefined;
    printComparison(results, c && { bestEpoch: c.result.bestEpoch, test: c.result.test }, { t0, splitSeconds, centralSeconds: c?.seconds ?? 0 });
    const check = checkLineage(applied, killed, lines);
    console.log(
      `killed: ${killed.length ? `${killed.join(", ")}, front-0` : "nothing (the run ended first)"}; ` +
        `proxy fail-overs ${proxies.reduce((a, p) => a + p.failovers, 0)}\n` +
        `surviving lineage: ${check.lineage.length} steps, applied twice ${check.twice.length}, lost ${check.lost.length}, ` +
        `redone after the trainer died ${check.redone.length}`,
    );
    if (check.twice.length || check.lost.length) {
      console.log(`twice: ${check.twice.slice(0, 10).join("; ")}\nlost: ${check.lost.slice(0, 10).join("; ")}`);
      Deno.exitCode = 1;
    }
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
