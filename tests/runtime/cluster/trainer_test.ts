/**
 * Trainers over a real nats-server (ignored when it is not installed): two trainers share the
 * study's shards, real clinics reach them through a `RequestSender` (a front without its
 * Noise channel), the replicas end on identical weights with every step applied once; a
 * trainer whose NATS connection dies mid-round loses its clinics to the other (after the
 * membership TTL), which finishes the study without applying a step twice in the surviving
 * lineage.
 */
import assert from "node:assert/strict";
import { RequestSender } from "../../../runtime/cluster/request_bus.ts";
import { ClusterError } from "../../../runtime/cluster/cluster_error.ts";
import { clinicsOwned, Trainer } from "../../../runtime/cluster/trainer.ts";
import { runTrainer } from "../../../runtime/cluster/trainer_main.ts";
import type { NatsLink } from "../../../runtime/cluster/nats_link.ts";
import type { StudyNames } from "../../../runtime/cluster/study_names.ts";
import type { BusReply } from "../../../runtime/cluster/bus_wire.ts";
import { allowlist, SERVER_KEYS, testEngine } from "../server/harness.ts";
import { natsTest, sleep, withNats } from "./nats_harness.ts";
import { maxStateDiff, repeats, replicaConfig, runClinics } from "./replica_harness.ts";

const NAMES = ["a", "b", "c"];
const STEPS = [5, 4, 3];

/** Two trainer ids between which the ring splits the clinics (each serves at least one). */
function splitIds(shards: number): [string, string] {
  for (let i = 0; i < 50; i++) {
    const ids = [`t${i}`, `t${i + 1}`];
    if (ids.every((id) => clinicsOwned(id, ids, NAMES, shards).length > 0)) return ids as [string, string];
  }
  throw new Error("no trainer ids split the clinics");
}

async function start(link: NatsLink, names: StudyNames, id: string, log: string[], epochs = 2): Promise<Trainer> {
  return await Trainer.start(replicaConfig({ epochs }), {
    keyPair: SERVER_KEYS,
    allowlist: allowlist(NAMES),
    engine: await testEngine(),
    log: (l) => log.push(`${id}: ${l}`),
  }, { link, id, study: names.study, shards: names.shards, heartbeatMs: 250, pollMs: 20 });
}

/** The route of a front: the request bus, a bus failure a retried 503 (as the front answers). */
function busRoute(sender: RequestSender) {
  return async (clinic: string, payload: Uint8Array): Promise<BusReply> => {
    try {
      return await sender.send(clinic, payload);
    } catch (e) {
      if (e instanceof ClusterError) return { status: 503, error: { code: e.code, message: e.message } };
      throw e;
    }
  };
}

async function bothSeeBoth(t: Trainer[]): Promise<void> {
  for (let i = 0; i < 200 && !t.every((x) => x.members.length === 2); i++) await sleep(25);
  assert.ok(t.every((x) => x.members.length === 2), "the trainers see each other");
}

Deno.test({
  name: "trainers over NATS: two replicas split the clinics, end on identical weights, apply each step once",
  ...natsTest,
  fn: () =>
    withNats({ links: 3 }, async ({ links: [front, l1, l2], names }) => {
      const log: string[] = [];
      const [id1, id2] = splitIds(names.shards);
      const [t1, t2] = await Promise.all([start(l1, names, id1, log), start(l2, names, id2, log)]);
      const sender = new RequestSender(front, names, { timeoutMs: 10_000 });
      try {
        await bothSeeBoth([t1, t2]);
        assert.ok(t1.replica.local.length > 0 && t2.replica.local.length > 0);
        for (const id of [id1, id2]) assert.ok(log.some((l) => l.startsWith(`${id}: trainer ${id}: study t, 2 trainers live`)), log.join("\n"));
        await runClinics(NAMES, busRoute(sender)).catch((e) => Promise.reject(new Error(`${e.message}\n${log.join("\n")}`)));
        assert.equal(t1.replica.round.finished && t2.replica.round.finished, true);
        assert.equal(maxStateDiff(t1.replica.core.model.exportState(), t2.replica.core.model.exportState()), 0);
        const applied = [...t1.replica.applied, ...t2.replica.applied];
        assert.deepEqual(repeats(applied), []);
        assert.equal(applied.length, 2 * (STEPS[0] + STEPS[1] + STEPS[2]));
      } finally {
        await sender.close();
        await t1.stop();
        await t2.stop();
      }
    }),
});

Deno.test({
  name: "trainers over NATS: a trainer dead mid-round loses its clinics to the other, which finishes; no step applied twice",
  ...natsTest,
  fn: () =>
    withNats({ links: 3 }, async ({ links: [front, l1, l2], names }) => {
      const log: string[] = [];
      const [id1, id2] = splitIds(names.shards);
      const [t1, t2] = await Promise.all([start(l1, names, id1, log), start(l2, names, id2, log)]);
      const sender = new RequestSender(front, names, { timeoutMs: 1_500 });
      const victim = t2.replica.local[0];
      let dead = false;
      try {
        await bothSeeBoth([t1, t2]);
        const out = await runClinics(NAMES, busRoute(sender), (clinic, id) => {
          if (clinic === victim && id === "1:1" && !dead) {
            dead = true;
            void l2.nc.close(); // no ack, no leave: the membership forgets t2 when its key expires
          }
        });
        assert.equal(dead, true);
        assert.equal(t1.replica.round.finished, true);
        assert.deepEqual(t1.members, [id1]);
        // The dead trainer's rounds that ended (round 0) are in the lineage; its round 1 is lost.
        const lineage = [...t2.replica.applied.filter((s) => s.round === 0), ...t1.replica.applied];
        assert.deepEqual(repeats(lineage), []);
        for (const [i, n] of NAMES.entries()) assert.equal(lineage.filter((s) => s.clinic === n).length, 2 * STEPS[i], n);
        assert.ok(out.find((o) => o.name === victim)!.rollbacks >= 1, `${victim} redid round 1`);
        assert.ok(log.some((l) => l.includes(`${id2} left the membership`)), log.join("\n"));
      } finally {
        await sender.close();
        await t1.stop();
        await t2.stop().catch(() => {});
      }
    }),
});

Deno.test({
  name: "trainers over NATS: a trainer joining mid-study takes its share at once; the study finishes on identical replicas",
  ...natsTest,
  fn: () =>
    withNats({ links: 3 }, async ({ links: [front, l1, l2], names }) => {
      const log: string[] = [];
      const [id1, id2] = splitIds(names.shards);
      const t1 = await start(l1, names, id1, log, 3);
      const sender = new RequestSender(front, names, { timeoutMs: 3_000 });
      let joining: Promise<Trainer> | null = null;
      // From the join on, requests wait until both trainers see each other, so the join falls
      // inside round 1 however fast the clinics step (under load the study could otherwise end
      // before the new trainer is up).
      let joined: Promise<void> | null = null;
      const bus = busRoute(sender);
      const route = async (clinic: string, payload: Uint8Array) => {
        if (joined) await joined;
        return await bus(clinic, payload);
      };
      try {
        await runClinics(NAMES, route, (clinic, id) => {
          if (clinic === "a" && id === "1:1" && !joining) {
            joining = start(l2, names, id2, log, 3);
            joined = joining.then((t2) => bothSeeBoth([t1, t2]));
          }
        });
        const t2 = await joining!;
        try {
          assert.ok(log.some((l) => l.includes(`${id2} joined; handing over its shards`)), log.join("\n"));
          assert.ok(t2.replica.applied.length > 0, "t2 served its clinics");
          assert.equal(maxStateDiff(t1.replica.core.model.exportState(), t2.replica.core.model.exportState()), 0);
          // The last round ran wholly after the join: each of its steps applied once.
          const last = [...t1.replica.applied, ...t2.replica.applied].filter((s) => s.round === 2);
          assert.deepEqual(repeats(last), []);
          assert.equal(last.length, STEPS[0] + STEPS[1] + STEPS[2]);
        } finally {
          await t2.stop();
        }
      } finally {
        await sender.close();
        await t1.stop();
      }
    }),
});

Deno.test({
  name: "trainers over NATS: a trainer restarted at once takes its shards back; its clinics redo the round",
  ...natsTest,
  fn: () =>
    withNats({ links: 4 }, async ({ links: [front, l1, l2, l3], names }) => {
      const log: string[] = [];
      const [id1, id2] = splitIds(names.shards);
      const [t1, t2] = await Promise.all([start(l1, names, id1, log), start(l2, names, id2, log)]);
      const sender = new RequestSender(front, names, { timeoutMs: 1_500 });
      const victim = t2.replica.local[0];
      let again: Promise<Trainer> | null = null;
      try {
        await bothSeeBoth([t1, t2]);
        const out = await runClinics(NAMES, busRoute(sender), (clinic, id) => {
          if (clinic === victim && id === "1:1" && !again) {
            void l2.nc.close();
            again = start(l3, names, id2, log);
          }
        });
        const t3 = await again!;
        try {
          assert.deepEqual(t3.replica.local, t2.replica.local, "the restarted trainer serves its clinics again");
          assert.equal(t3.replica.resumedRound, 0);
          if (!log.some((l) => l.includes("left the membership"))) {
            // The others never saw it go (the usual case within the 5 s TTL): a plain lineage.
            const lineage = [...t2.replica.applied.filter((s) => s.round === 0), ...t3.replica.applied, ...t1.replica.applied];
            assert.deepEqual(repeats(lineage), []);
            for (const [i, n] of NAMES.entries()) assert.equal(lineage.filter((s) => s.clinic === n).length, 2 * STEPS[i], n);
          }
          assert.ok(out.find((o) => o.name === victim)!.rollbacks >= 1);
          assert.equal(maxStateDiff(t1.replica.core.model.exportState(), t3.replica.core.model.exportState()), 0);
        } finally {
          await t3.stop();
        }
      } finally {
        await sender.close();
        await t1.stop();
        await t2.stop().catch(() => {});
      }
    }),
});

Deno.test({
  name: "runTrainer: connects, serves the study, resolves `left` once its clinics have left, stops",
  ...natsTest,
  fn: () =>
    withNats({ links: 1 }, async ({ nats, links: [front], names }) => {
      const log: string[] = [];
      const t = await runTrainer(replicaConfig({ epochs: 1 }), { keyPair: SERVER_KEYS, allowlist: allowlist(NAMES), engine: await testEngine() }, {
        natsUrl: nats.url,
        id: "solo",
        study: names.study,
        shards: names.shards,
        log: (l) => log.push(l),
      });
      const sender = new RequestSender(front, names, { timeoutMs: 10_000 });
      try {
        assert.deepEqual(t.trainer.replica.local, NAMES);
        await runClinics(NAMES, busRoute(sender));
        await t.finished;
        await t.left;
        assert.ok(log.some((l) => l.includes("all clinics have left")), log.join("\n"));
        assert.equal(t.finishedAtStart, false);
      } finally {
        await sender.close();
        await t.stop();
      }
      // Restarted on the finished study: it knows at once (the process then exits).
      const again = await runTrainer(replicaConfig({ epochs: 1 }), { keyPair: SERVER_KEYS, allowlist: allowlist(NAMES), engine: await testEngine() }, {
        natsUrl: nats.url,
        id: "solo",
        study: names.study,
        shards: names.shards,
        log: () => {},
      });
      try {
        assert.equal(again.finishedAtStart, true);
      } finally {
        await again.stop();
      }
    }),
});

Deno.test({
  name: "runTrainer: an unreachable NATS is a ClusterError NATS_UNREACHABLE",
  ...natsTest,
  fn: async () => {
    await assert.rejects(
      runTrainer(replicaConfig(), { keyPair: SERVER_KEYS, allowlist: allowlist(NAMES), engine: await testEngine() }, {
        natsUrl: "nats://127.0.0.1:1",
        id: "solo",
        log: () => {},
      }),
      (e) => e instanceof ClusterError && e.code === "NATS_UNREACHABLE",
    );
  },
});
