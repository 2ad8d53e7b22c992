/**
 * Secure aggregation of the parallel schedules' fronts (`frontAggregation: "secagg"`), end to
 * end in one process: three clinics (`LocalRawSide`, the real `ServerConnection` and Noise
 * channel over `app.request`) train in parallel; at each round end they run a SecAgg round
 * through the courier. Checks: every clinic ends on the plain sample-weighted average of the
 * fronts that went into the last round, within the fixed-point bound; no clinic ever seals a
 * front and the server's checkpoint holds none (while a relay run's does); a clinic dropped
 * from the rounds leaves the other two to aggregate. And, on `SecureFronts` alone: a round
 * refused below the threshold is retried under fresh numbers, then given up, and no number is
 * handed out twice across a restart.
 */
import assert from "node:assert/strict";
import { runClinic } from "../../../runtime/client/clinic.ts";
import { runId } from "../../../crypto/seal/sealed_envelope.ts";
import { LocalRawSide } from "../../../runtime/client/raw_side/mod.ts";
import type { RawSide } from "../../../runtime/client/raw_side/api.ts";
import { ServerConnection } from "../../../runtime/client/server_connection.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import { readCheckpoint } from "../../../runtime/server/checkpoint.ts";
import { SecAggRound } from "../../../runtime/server/secagg_round.ts";
import { SECAGG_ATTEMPTS, SecureFronts } from "../../../runtime/server/secure_fronts.ts";
import { resolveScheduleConfig } from "../../../runtime/server/schedule_config.ts";
import type { ServerConfig } from "../../../runtime/server/mod.ts";
import { DEFAULT_FIXED_POINT } from "../../../crypto/secagg/fixed_point.ts";
import { decodeSecAggMessage } from "../../../crypto/secagg/secagg_messages.ts";
import {
  assertError,
  CLINIC_KEYS,
  RawClinic,
  SERVER_KEYS,
  startServer,
  testEngine,
  tinyConfig,
} from "./harness.ts";
import type { Message } from "../../../runtime/protocol/mod.ts";
import { decodeSecAggReply, encodeSecAggPoll } from "../../../runtime/protocol/secagg_payload.ts";
import { tinySplits } from "../client/fixture.ts";
import { parseStudy, studyServerFields } from "../../../runtime/study/study_definition.ts";

const NAMES = ["a", "b", "c"];
const ROUNDS = 2;

interface Outcome {
  /** Each clinic's front (float32 parameters and buffers) at the end. */
  fronts: Map<string, Map<string, Float32Array>>;
  /** Per secagg round: each participant's front and weight when it started the round. */
  inputs: Map<number, { name: string; samples: number; front: Map<string, Float32Array> }[]>;
  sealed: number;
  log: string[];
  checkpointFronts: number;
  auc: number[];
}

function floats(side: LocalRawSide): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of side.weights()) {
    if (t.dtype === "float32") out.set(k, (t.data as Float32Array).slice());
  }
  return out;
}

/** `side` with `exportWeights` counted and `secureFront("start")` recording the front it sums. */
function spy(
  side: LocalRawSide,
  name: string,
  o: Pick<Outcome, "inputs">,
  count: () => void,
  crash = false,
): RawSide {
  return new Proxy(side, {
    get(target, p) {
      if (p === "exportWeights") {
        return (
          ...a: Parameters<RawSide["exportWeights"]>
        ) => (count(), target.exportWeights(...a));
      }
      if (p === "secureFront") {
        return (c: Parameters<RawSide["secureFront"]>[0]) => {
          if (c.op === "start") {
            const list = o.inputs.get(c.round) ?? [];
            list.push({ name, samples: c.samples, front: floats(target) });
            o.inputs.set(c.round, list);
          }
          // A clinic that dies after its masked upload: it never answers the unmasking request.
          if (crash && c.op === "next" && decodeSecAggMessage(c.message).type === "unmask") {
            return Promise.reject(new Error(`${name} crashed after its masked upload`));
          }
          return target.secureFront(c);
        };
      }
      const v = Reflect.get(target, p);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as unknown as RawSide;
}

async function train(
  extra: Partial<ServerConfig>,
  absent: string[] = [],
  crash?: string,
): Promise<Outcome> {
  const dir = await Deno.makeTempDir();
  const o: Outcome = {
    fronts: new Map(),
    inputs: new Map(),
    sealed: 0,
    log: [],
    checkpointFronts: 0,
    auc: [],
  };
  const server = await startServer("vanilla", {
    checkpointDir: `${dir}/server`,
    epochs: ROUNDS,
    turnTimeoutMs: 60_000,
    ...extra,
  }, { names: NAMES, log: o.log });
  const cfg = tinyConfig("vanilla");
  const sides: LocalRawSide[] = [];
  try {
    await Promise.all(
      NAMES.filter((n) => !absent.includes(n)).map(async (name, i) => {
        const { model, cuts } = buildSplitModel(cfg.model, "vanilla", "bce");
        await Deno.mkdir(`${dir}/${name}`);
        const side = await LocalRawSide.create({
          clinic: name,
          data: tinySplits(3 + 10 * i),
          model,
          cuts,
          mode: "vanilla",
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
          fetch: ((url: string, init?: RequestInit) =>
            server.app.request(url, init)) as typeof fetch,
        });
        const peers = new Map(
          NAMES.filter((n) => n !== name).map((n) => [n, CLINIC_KEYS[n].publicKey]),
        );
        const run = runClinic({
          side: spy(side, name, o, () => o.sealed++, crash === name),
          conn,
          peers,
          run: runId(SERVER_KEYS.publicKey),
          pollMs: 1,
        });
        if (crash === name) {
          await assert.rejects(run, /crashed after its masked upload/);
          conn.close();
          return;
        }
        const r = await run;
        conn.close();
        o.fronts.set(name, floats(side));
        o.auc.push(r.eval.test!.auc);
      }),
    );
    assert.equal(server.status().finished, true);
    const ck = await readCheckpoint(`${dir}/server`);
    o.checkpointFronts = [...ck!.tensors.keys()].filter((k) => k.startsWith("front/")).length;
    return o;
  } finally {
    for (const s of sides) await s.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** |front − Σ m_u x_u / Σ m_u| over every weight; also the largest |x| summed (to rule out clipping). */
function worstAgainstPlain(
  front: Map<string, Float32Array>,
  inputs: { samples: number; front: Map<string, Float32Array> }[],
): { worst: number; largest: number } {
  const M = inputs.reduce((a, x) => a + x.samples, 0);
  let worst = 0, largest = 0;
  for (const [k, v] of front) {
    for (let i = 0; i < v.length; i++) {
      let plain = 0;
      for (const x of inputs) {
        const w = x.front.get(k)![i];
        largest = Math.max(largest, Math.abs(w));
        plain += x.samples * w;
      }
      worst = Math.max(worst, Math.abs(v[i] - plain / M));
    }
  }
  return { worst, largest };
}

/** docs/design/secure_aggregation.md, Arithmetic: n / (2 s M) + R · 2^-24. */
function fixedPointBound(inputs: { samples: number }[]): number {
  const { clipRange: R, scaleBits } = DEFAULT_FIXED_POINT;
  const M = inputs.reduce((a, x) => a + x.samples, 0);
  return inputs.length / (2 * 2 ** scaleBits * M) + R * 2 ** -24;
}

Deno.test("secagg fronts: every clinic ends on the plain weighted average within the fixed-point bound; no front is ever sealed", async () => {
  const o = await train({ schedule: "parallel", frontAggregation: "secagg" });
  assert.equal(o.sealed, 0, "no clinic sealed its front");
  assert.equal(o.checkpointFronts, 0, "the server holds no sealed front");
  const last = Math.max(...o.inputs.keys());
  const inputs = o.inputs.get(last)!;
  assert.deepEqual(inputs.map((x) => x.name).sort(), NAMES);
  const M = inputs.reduce((a, x) => a + x.samples, 0);
  assert.equal(M, 60, "weighted by the 20 training rows each clinic stepped through");
  const bound = fixedPointBound(inputs);
  for (const name of NAMES) {
    const { worst, largest } = worstAgainstPlain(o.fronts.get(name)!, inputs);
    assert.ok(
      largest <= DEFAULT_FIXED_POINT.clipRange,
      `weights within the clipping range (largest ${largest})`,
    );
    assert.ok(worst <= bound, `${name}: ${worst} off the plain average, bound ${bound}`);
  }
  // And the fronts did move: the average is not any one clinic's own front.
  assert.ok(worstAgainstPlain(inputs[0].front, inputs).worst > 100 * bound);
  assert.ok(
    o.log.some((l) =>
      /round 1: fronts securely averaged \(secagg round \d+; 3\/3 clinics in the sum\)/.test(l)
    ),
    o.log.join("\n"),
  );
  const rounds = [...o.inputs.keys()];
  assert.equal(new Set(rounds).size, rounds.length);
  assert.equal(rounds.length, ROUNDS, "one secagg round per training round");
});

Deno.test("relay fronts (the default): the server's checkpoint holds the sealed fronts, which secagg never gives it", async () => {
  const o = await train({ schedule: "parallel" });
  assert.ok(o.sealed > 0);
  assert.ok(o.checkpointFronts > 0);
  assert.equal(o.inputs.size, 0);
});

Deno.test("secagg fronts: a clinic dropped from every round leaves the other two to aggregate", async () => {
  const o = await train({ schedule: "splitfed", frontAggregation: "secagg", turnTimeoutMs: 1500 }, [
    "c",
  ]);
  assert.ok(
    o.log.some((l) =>
      /round 1: fronts securely averaged \(secagg round \d+; 2\/2 clinics in the sum\)/.test(l)
    ),
    o.log.join("\n"),
  );
  const last = o.inputs.get(Math.max(...o.inputs.keys()))!;
  assert.deepEqual(last.map((x) => x.name).sort(), ["a", "b"]);
  for (const name of ["a", "b"]) {
    const { worst } = worstAgainstPlain(o.fronts.get(name)!, last);
    assert.ok(worst <= fixedPointBound(last), `${name} is ${worst} off the average of a and b`);
  }
});

Deno.test("secagg fronts: a clinic dying after its masked upload is still in that round's sum; the two others go on", async () => {
  const o = await train(
    { schedule: "parallel", frontAggregation: "secagg", turnTimeoutMs: 1500 },
    [],
    "c",
  );
  assert.ok(
    o.log.some((l) =>
      /round 0: fronts securely averaged \(secagg round 1; 3\/3 clinics in the sum\)/.test(l)
    ),
    o.log.join("\n"),
  );
  assert.ok(
    o.log.some((l) =>
      /round 1: fronts securely averaged \(secagg round \d+; 2\/2 clinics in the sum\)/.test(l)
    ),
    o.log.join("\n"),
  );
  const first = o.inputs.get(1)!;
  assert.deepEqual(first.map((x) => x.name).sort(), NAMES, "c's front went into round 0's sum");
  const last = o.inputs.get(Math.max(...o.inputs.keys()))!;
  for (const name of ["a", "b"]) {
    const { worst } = worstAgainstPlain(o.fronts.get(name)!, last);
    assert.ok(worst <= fixedPointBound(last), `${name} is ${worst} off the average of a and b`);
  }
});

Deno.test("SecureFronts: refused rounds are retried under fresh numbers, then given up; no number is reused after a restart", async () => {
  const log: string[] = [];
  const keys = new Map(NAMES.map((n) => [n, CLINIC_KEYS[n].publicKey]));
  const agg = () =>
    new SecAggRound({ study: "s", clinicKey: (n) => keys.get(n), phaseTimeoutMs: 5 });
  const s = new SecureFronts(agg(), (l) => log.push(l));
  for (const n of NAMES) s.noteLength(n, 10);
  s.publish(0);
  assert.equal(s.startable(0), "ready");
  assert.equal(s.roundFor(0), null, "not started yet");
  s.start(NAMES); // nobody answers: every attempt is below the threshold
  assert.equal(s.roundFor(0), 1);
  for (let i = 0; i < 100 && s.roundFor(0) !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(s.roundFor(0), 0, "gave up");
  assert.deepEqual(
    log.filter((l) => /refused \(/.test(l)).map((l) => Number(/secagg round (\d+)/.exec(l)![1])),
    [1, 2, 3],
  );
  assert.ok(
    log.at(-1)!.includes(`refused ${SECAGG_ATTEMPTS} times; every clinic keeps its own front`),
  );
  // A round ended, its numbers reserved and checkpointed; the server restarts before using them.
  s.publish(1);
  const meta = s.snapshot();
  assert.equal(meta.published!.round, 4);
  const t = new SecureFronts(agg(), () => {});
  t.restore(meta);
  assert.equal(t.startable(1), "reserve", "a restarted server treats the block it read as spent");
  t.reserve();
  assert.equal(t.snapshot().published!.round, 7);
  assert.throws(() => t.noteLength("a", undefined), /lacks frontLength/);
  t.noteLength("a", 10);
  assert.throws(() => t.noteLength("b", 11), /frontLength 11, but a announced 10/);
});

Deno.test("frontAggregation: refused with a sequential schedule or private fronts, and for an unknown value", () => {
  assert.throws(
    () => resolveScheduleConfig({ frontAggregation: "secagg" }, "vanilla"),
    /needs schedule "parallel" or "splitfed"/,
  );
  assert.throws(
    () =>
      resolveScheduleConfig({
        schedule: "parallel",
        clinicWeights: "private",
        frontAggregation: "secagg",
      }, "vanilla"),
    /needs clinicWeights "averaged"/,
  );
  assert.throws(
    () =>
      resolveScheduleConfig(
        { schedule: "parallel", frontAggregation: "masked" as "relay" },
        "vanilla",
      ),
    /frontAggregation "masked": expected "relay" or "secagg"/,
  );
  assert.equal(
    resolveScheduleConfig({ schedule: "parallel" }, "vanilla").frontAggregation,
    "relay",
  );
});

/** A small study file (tests/runtime/study/study_test.ts has the complete one). */
const STUDY = {
  id: "s-secagg",
  mode: "vanilla",
  model: { name: "cnn", input: { image: { channels: 1, size: 8 } }, seed: 3 },
  loss: "bce",
  optimizer: { kind: "adam", lr: 0.001 },
  schedule: { kind: "parallel", epochs: 2 },
};

Deno.test("a study's schedule may carry frontAggregation; the server config takes it over", () => {
  const study = {
    ...STUDY,
    schedule: { kind: "parallel", epochs: 2, frontAggregation: "secagg" },
  };
  const fields = studyServerFields(parseStudy(JSON.stringify(study), "study.json"));
  assert.equal(fields.frontAggregation, "secagg");
  assert.equal(fields.schedule, "parallel");
  const plain = studyServerFields(parseStudy(JSON.stringify(STUDY), "study.json"));
  assert.equal("frontAggregation" in plain, false, "absent unless the study sets it");
});

Deno.test("secagg server: TURN names it; a TURN_DONE with a sealed front, or without its length, is refused; SECAGG polls are answered", async () => {
  const server = await startServer("vanilla", {
    schedule: "parallel",
    frontAggregation: "secagg",
    epochs: 1,
  }, { names: ["a", "b"] });
  try {
    const a = await new RawClinic(server, "a").connect();
    const turn = await a.send({ type: "TURN_REQUEST" }) as Extract<Message, { type: "TURN" }>;
    assert.equal(turn.frontAggregation, "secagg");
    const sealed = await a.post(a.body({
      type: "TURN_DONE",
      epoch: 0,
      lastStepId: null,
      sealedWeights: { b: Uint8Array.of(1, 2, 3) },
      frontLength: 10,
    }));
    const e = await assertError(sealed, 400, "BAD_MESSAGE");
    assert.match(
      e.message,
      /frontAggregation is "secagg": fronts are summed securely, never relayed/,
    );
    const bare = await a.post(
      a.body({ type: "TURN_DONE", epoch: 0, lastStepId: null, sealedWeights: {} }),
    );
    assert.match((await assertError(bare, 400, "BAD_MESSAGE")).message, /lacks frontLength/);
    const poll = await a.send({
      type: "SECAGG",
      payload: encodeSecAggPoll({ round: 1, want: "roster" }),
    });
    assert.equal(poll.type, "SECAGG_REPLY");
    assert.equal(decodeSecAggReply((poll as { payload: Uint8Array }).payload).status, "early");
    const done = await a.send({
      type: "TURN_DONE",
      epoch: 0,
      lastStepId: null,
      sealedWeights: {},
      frontLength: 10,
    });
    assert.equal(done.type, "TURN_DONE_RESULT");
  } finally {
    await server.close();
  }
});

Deno.test("relay server: SECAGG is refused", async () => {
  const server = await startServer("vanilla", { schedule: "parallel", epochs: 1 }, {
    names: ["a", "b"],
  });
  try {
    const a = await new RawClinic(server, "a").connect();
    const res = await a.post(
      a.body({ type: "SECAGG", payload: encodeSecAggPoll({ round: 1, want: "roster" }) }),
    );
    assert.match(
      (await assertError(res, 400, "BAD_MESSAGE")).message,
      /frontAggregation is not "secagg"/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("secagg server with fewer than three clinics says at start that the average hides no front from the others", async () => {
  for (const names of [["a", "b"], ["a", "b", "c"]]) {
    const log: string[] = [];
    const server = await startServer("vanilla", {
      schedule: "parallel",
      frontAggregation: "secagg",
      epochs: 1,
    }, { names, log });
    try {
      const warned = log.filter((l) => /^warning: frontAggregation "secagg" with 2 clinic\(s\)/.test(l));
      assert.equal(warned.length, names.length < 3 ? 1 : 0, log.join("\n"));
    } finally {
      await server.close();
    }
  }
});
