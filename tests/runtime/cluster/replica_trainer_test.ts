/**
 * Trainer replicas in one process, without NATS (a memory round store, clinics routed to
 * their trainer directly): two replicas end every round on identical weights, each step is
 * applied once, a redelivered step is answered from the cache, a trainer stopped mid-round
 * hands its clinics to the other, which finishes the study, a restarted trainer resumes from
 * the partials, and a schedule replicas cannot run is refused.
 */
import assert from "node:assert/strict";
import { ReplicaTrainer } from "../../../runtime/cluster/replica_trainer.ts";
import { MemoryRoundStore } from "../../../runtime/cluster/round_store.ts";
import { ClusterError } from "../../../runtime/cluster/cluster_error.ts";
import { decodeMessage, encodeMessage } from "../../../runtime/protocol/mod.ts";
import type { BusRequest } from "../../../runtime/cluster/bus_wire.ts";
import { allowlist, binaryLabels, CUT_DIMS, randomTensor, SERVER_KEYS, testEngine } from "../server/harness.ts";
import { frontState, maxStateDiff, repeats, replicaConfig, runClinics } from "./replica_harness.ts";
import type { ServerConfig } from "../../../runtime/server/mod.ts";

const NAMES = ["a", "b", "c"];
/** Steps per round of clinic i: 20 training rows, batch 4 + 2i (as tests/runtime/server/parallel_schedule_test.ts). */
const STEPS = [5, 4, 3];

async function trainer(id: string, store: MemoryRoundStore, local: string[], log: string[], extra: Partial<ServerConfig> = {}) {
  return await ReplicaTrainer.create(replicaConfig(extra), {
    keyPair: SERVER_KEYS,
    allowlist: allowlist(NAMES),
    engine: await testEngine(),
    log: (l) => log.push(`${id}: ${l}`),
  }, { id, store, local, pollMs: 2 });
}

const req = (clinic: string, payload: Uint8Array, redelivered = false): BusRequest => ({ id: crypto.randomUUID(), clinic, payload, redelivered });

Deno.test("replicas: two trainers end each round on identical weights; every step applied once; clinics agree on the front", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t1 = await trainer("t1", store, ["a", "b"], log);
  const t2 = await trainer("t2", store, ["c"], log);
  try {
    const owner = (c: string) => (c === "c" ? t2 : t1);
    const out = await runClinics(NAMES, (c, p) => owner(c).handle(req(c, p)));
    assert.equal(t1.round.finished && t2.round.finished, true);
    assert.equal(maxStateDiff(t1.core.model.exportState(), t2.core.model.exportState()), 0, "identical replicas");
    const applied = [...t1.applied, ...t2.applied];
    assert.deepEqual(repeats(applied), []);
    for (const [i, n] of NAMES.entries()) assert.equal(applied.filter((s) => s.clinic === n).length, 2 * STEPS[i], n);
    assert.equal(t1.applied.every((s) => s.clinic !== "c"), true, "c stepped on t2 only");
    for (const o of out.slice(1)) assert.ok(maxStateDiff(frontState(o), frontState(out[0])) < 1e-6, "every clinic ends on the averaged front");
    assert.ok(log.some((l) => l.includes("round 1 ended across replicas")), log.join("\n"));
    for (const o of out) assert.ok(o.auc > 0 && o.auc <= 1);
  } finally {
    await t1.stop();
    await t2.stop();
  }
});

Deno.test("replicas: private fronts (clinicWeights private) work across replicas", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t1 = await trainer("t1", store, ["a", "b"], log, { clinicWeights: "private" });
  const t2 = await trainer("t2", store, ["c"], log, { clinicWeights: "private" });
  try {
    const out = await runClinics(NAMES, (c, p) => (c === "c" ? t2 : t1).handle(req(c, p)));
    assert.equal(t1.round.finished && t2.round.finished, true);
    assert.equal(maxStateDiff(t1.core.model.exportState(), t2.core.model.exportState()), 0);
    assert.ok(maxStateDiff(frontState(out[0]), frontState(out[1])) > 0, "private fronts differ");
  } finally {
    await t1.stop();
    await t2.stop();
  }
});

Deno.test("replicas: with serverBatch merge a trainer batches its clinics' concurrent steps; replicas still identical", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t1 = await trainer("t1", store, ["a", "b"], log, { serverBatch: "merge", merge: { maxDelayMs: 50 } });
  const t2 = await trainer("t2", store, ["c"], log, { serverBatch: "merge", merge: { maxDelayMs: 50 } });
  try {
    await runClinics(NAMES, (c, p) => (c === "c" ? t2 : t1).handle(req(c, p)));
    assert.equal(maxStateDiff(t1.core.model.exportState(), t2.core.model.exportState()), 0);
    assert.deepEqual(repeats([...t1.applied, ...t2.applied]), []);
    const merge = t1.core.ctx.merge!;
    assert.ok(merge.batches < merge.items, `t1 merged ${merge.items} steps into ${merge.batches} batches`);
  } finally {
    await t1.stop();
    await t2.stop();
  }
});

Deno.test("replicas: a redelivered step is applied once and answered with the same reply", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t = await trainer("t1", store, NAMES, log);
  try {
    const turn = await t.handle(req("a", encodeMessage({ type: "TURN_REQUEST" })));
    assert.equal(turn.status, 200);
    const step = encodeMessage({ type: "STEP", stepId: "0:0", epoch: 0, activation: randomTensor([4, ...CUT_DIMS], 3), labels: binaryLabels(4) });
    const first = await t.handle(req("a", step));
    const again = await t.handle(req("a", step, true));
    assert.equal(first.status, 200);
    assert.equal(again.status, 200);
    assert.deepEqual((again as { payload: Uint8Array }).payload, (first as { payload: Uint8Array }).payload);
    assert.deepEqual(t.applied.map((s) => s.stepId), ["0:0"]);
    const out = await t.handle(req("a", encodeMessage({ type: "STEP", stepId: "0:2", epoch: 0, activation: randomTensor([4, ...CUT_DIMS], 4), labels: binaryLabels(4) })));
    assert.equal(out.status, 409);
    assert.equal((out as { error: { code: string } }).error.code, "STEP_OUT_OF_ORDER");
    const other = await trainer("t2", store, ["b"], log);
    const stranger = await other.handle(req("a", encodeMessage({ type: "TURN_REQUEST" })));
    await other.stop();
    assert.equal(stranger.status, 503);
    assert.equal((stranger as { error: { code: string } }).error.code, "NOT_OWNER");
    assert.equal(decodeMessage((turn as { payload: Uint8Array }).payload).type, "TURN");
  } finally {
    await t.stop();
  }
});

Deno.test("replicas: two copies of a step in flight at once (merged steps) are applied once", async () => {
  const t = await trainer("t1", new MemoryRoundStore(), NAMES, [], { serverBatch: "merge", merge: { maxDelayMs: 20 } });
  try {
    await t.handle(req("a", encodeMessage({ type: "TURN_REQUEST" })));
    const step = encodeMessage({ type: "STEP", stepId: "0:0", epoch: 0, activation: randomTensor([4, ...CUT_DIMS], 3), labels: binaryLabels(4) });
    const [x, y] = await Promise.all([t.handle(req("a", step)), t.handle(req("a", step, true))]);
    assert.equal(x.status, 200);
    assert.equal(y.status, 200);
    assert.deepEqual(t.applied.map((s) => s.stepId), ["0:0"]);
  } finally {
    await t.stop();
  }
});

Deno.test("replicas: a trainer stopped mid-round hands its clinic to the other, which finishes; no step applied twice in the surviving lineage", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t1 = await trainer("t1", store, ["a", "b"], log);
  const t2 = await trainer("t2", store, ["c"], log);
  let dead = false;
  let takeover: Promise<void> | null = null;
  try {
    const out = await runClinics(NAMES, async (c, p) => {
      await takeover;
      const t = c === "c" && !dead ? t2 : t1;
      return await t.handle(req(c, p));
    }, (clinic, id) => {
      if (clinic === "c" && id === "1:1" && !dead) {
        dead = true; // t2 goes away after c's second step of round 1; t1 takes c over
        takeover = t2.stop().then(() => t1.setLocal(NAMES));
      }
    });
    assert.equal(dead, true);
    assert.equal(t1.round.finished, true);
    assert.deepEqual(repeats(t1.applied), [], "t1 applied no step twice");
    // Round 0 of c is in t2's partial (the surviving lineage); round 1 was redone on t1.
    const lineage = [...t2.applied.filter((s) => s.round === 0), ...t1.applied];
    assert.deepEqual(repeats(lineage), []);
    assert.equal(lineage.filter((s) => s.clinic === "c").length, 2 * STEPS[2]);
    assert.ok(out.find((o) => o.name === "c")!.rollbacks >= 1, "c rolled back to its round start");
    assert.ok(log.some((l) => l.includes("took over c")), log.join("\n"));
  } finally {
    await t1.stop();
    if (!dead) await t2.stop();
  }
});

Deno.test("replicas: a takeover after the survivor wrote its partial runs the newcomers from the round's base into a second partial", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t1 = await trainer("t1", store, ["c"], log);
  const t2 = await trainer("t2", store, ["a", "b"], log);
  let dead = false;
  let takeover: Promise<void> | null = null;
  const written = () => log.some((l) => l.includes("partial round/1/t1-0 written"));
  try {
    const out = await runClinics(NAMES, async (c, p) => {
      if (c !== "c") await takeover; // c goes on: the takeover waits for its partial
      return await (c !== "c" && !dead ? t2 : t1).handle(req(c, p));
    }, (clinic, id) => {
      if (clinic === "a" && id === "1:2" && !dead) {
        dead = true;
        takeover = (async () => {
          while (!written()) await new Promise((r) => setTimeout(r, 2)); // c is through round 1 on t1
          await t2.stop();
          await t1.setLocal(NAMES);
          // a and b redo round 1 from its base state, not from c's progress (already in t1-0).
          assert.equal(maxStateDiff(t1.core.model.exportState(), t1.rounds.baseState), 0);
        })();
      }
    });
    assert.equal(t1.round.finished, true);
    assert.ok(log.some((l) => l.includes("partial round/1/t1-1 written (2 clinics through")), log.join("\n"));
    const lineage = [...t2.applied.filter((s) => s.round === 0), ...t1.applied];
    assert.deepEqual(repeats(lineage), []);
    assert.equal(lineage.length, 2 * (STEPS[0] + STEPS[1] + STEPS[2]));
    assert.ok(out.find((o) => o.name === "a")!.rollbacks >= 1);
  } finally {
    await t1.stop();
    if (!dead) await t2.stop();
  }
});

Deno.test("replicas: a clinic handed over mid-round (a trainer joins) is undone on its old trainer, whose clinics redo the round; no step counts twice", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t1 = await trainer("t1", store, NAMES, log);
  const joined: { t2: ReplicaTrainer | null } = { t2: null };
  let join: Promise<void> | null = null;
  let mark = -1;
  try {
    await runClinics(NAMES, async (c, p) => {
      await join;
      return await (c === "c" && joined.t2 ? joined.t2 : t1).handle(req(c, p));
    }, (clinic, id) => {
      // On c's own first step of round 1: c has then stepped on t1 this round, whatever the
      // other clinics' pace (keyed on b's progress, the join could come before c's first step).
      if (clinic === "c" && id === "1:0" && !join) {
        join = (async () => {
          joined.t2 = await trainer("t2", store, ["c"], log);
          mark = t1.applied.length;
          await t1.setLocal(["a", "b"]);
        })();
      }
    });
    const t2 = joined.t2!;
    assert.ok(t2, "t2 joined");
    assert.ok(log.some((l) => l.includes("handed over c mid-round")), log.join("\n"));
    assert.equal(maxStateDiff(t1.core.model.exportState(), t2.core.model.exportState()), 0);
    // t1's round-1 steps before the hand-over were undone: the lineage is the rest.
    const lineage = [...t1.applied.filter((s, i) => s.round !== 1 || i >= mark), ...t2.applied];
    assert.deepEqual(repeats(lineage), []);
    for (const [i, n] of NAMES.entries()) assert.equal(lineage.filter((s) => s.clinic === n).length, 2 * STEPS[i], n);
  } finally {
    await t1.stop();
    await joined.t2?.stop();
  }
});

Deno.test("replicas: a trainer restarted after writing its partial finds its clinics covered and writes no second one", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t1 = await trainer("t1", store, ["a", "b"], log);
  let t2 = await trainer("t2", store, ["c"], log);
  let restart: Promise<void> | null = null;
  try {
    await runClinics(NAMES, async (c, p) => {
      if (c === "c" && !restart && log.some((l) => l.includes("partial round/1/t2-0 written"))) {
        const old = t2;
        restart = old.stop().then(async () => void (t2 = await trainer("t2", store, ["c"], log)));
      }
      await restart;
      return await (c === "c" ? t2 : t1).handle(req(c, p));
    });
    assert.ok(restart, "t2 was restarted");
    assert.equal(t2.resumedRound, 0);
    assert.ok(log.some((l) => l.includes("t2: round 1: c already covered by a partial of this round")), log.join("\n"));
    assert.ok(!log.some((l) => l.includes("round/1/t2-1")), "no second partial");
    assert.equal(t1.round.finished && t2.round.finished, true);
    assert.equal(maxStateDiff(t1.core.model.exportState(), t2.core.model.exportState()), 0);
  } finally {
    await t1.stop();
    await t2.stop();
  }
});

Deno.test("replicas: a trainer restarted after a round resumes from the partials in the store", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t1 = await trainer("t1", store, NAMES, log, { epochs: 1 });
  let weights;
  try {
    await runClinics(NAMES, (c, p) => t1.handle(req(c, p)));
    weights = t1.core.model.exportState();
  } finally {
    await t1.stop();
  }
  const again = await trainer("t1", store, NAMES, log, { epochs: 1 });
  try {
    assert.equal(again.resumedRound, 0);
    assert.equal(again.round.finished, true);
    assert.equal(maxStateDiff(weights, again.core.model.exportState()), 0);
    assert.ok(log.some((l) => l.includes("resumed from the object store: round 0")));
  } finally {
    await again.stop();
  }
});

Deno.test("replicas: a trainer whose every clinic is silent drops them past the turn timeout; the study goes on", async () => {
  const store = new MemoryRoundStore();
  const log: string[] = [];
  const t1 = await trainer("t1", store, ["a", "b"], log, { turnTimeoutMs: 1000 });
  const t2 = await trainer("t2", store, ["c"], log, { turnTimeoutMs: 1000 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const late = new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`the study did not end:\n${log.join("\n")}`)), 30_000));
    await Promise.race([runClinics(["a", "b"], (c, p) => t1.handle(req(c, p)), () => {}, NAMES), late]);
    assert.ok(log.some((l) => l.includes("t2: clinic c offline, dropped from round 0")), log.join("\n"));
    assert.equal(t1.round.finished && t2.round.finished, true);
    assert.equal(maxStateDiff(t1.core.model.exportState(), t2.core.model.exportState()), 0);
  } finally {
    clearTimeout(timer);
    await t1.stop();
    await t2.stop();
  }
});

Deno.test("replicas: a schedule other than splitfed, or secure aggregation, is refused at start", async () => {
  const store = new MemoryRoundStore();
  for (const extra of [{ schedule: "parallel" as const }, { schedule: "sequential" as const }, { frontAggregation: "secagg" as const }]) {
    await assert.rejects(trainer("t1", store, NAMES, [], extra), (e) => e instanceof ClusterError && e.code === "BAD_SCHEDULE");
  }
});
