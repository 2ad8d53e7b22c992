/**
 * The hijack guard inside the clinic's raw side (`raw_side/hijack_watch.ts`) and its schedule
 * (`runtime/privacy/decoy_schedule.ts`): decoys repeat the regular step's activation with the
 * scheduled labels flipped, are replayed identically (retry, restart), never move the clinic's
 * weights, and raise `HIJACK_SUSPECTED` when the server's gradients ignore the labels.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Tensor } from "../../../models/tensor.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import {
  LocalRawSide,
  type LocalRawSideConfig,
  RawSideError,
  type RawSideMode,
} from "../../../runtime/client/raw_side/mod.ts";
import { decoyFollows, flippedRows, turnPlan } from "../../../runtime/privacy/decoy_schedule.ts";
import { parseClientConfig } from "../../../runtime/client/client_config.ts";
import { rawSideTestConfig } from "./fixture.ts";

const engine = await createEngine("wasm");
const GUARD = { every: 2, flips: 3, window: 2 };
const config = (mode: RawSideMode, over: Partial<LocalRawSideConfig> = {}) =>
  rawSideTestConfig(engine, mode, { defence: { hijackGuard: GUARD }, ...over });
const isCode = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof RawSideError && e.code === code && re.test(e.message);
const scaled = (t: Tensor, k: number): Tensor => ({
  dtype: "float32",
  dims: [...t.dims],
  data: (t.data as Float32Array).map((v) => v * k),
});
const ramp = (a: Tensor): Tensor => ({
  dtype: "float32",
  dims: [...a.dims],
  data: Float32Array.from(a.data as Float32Array, (_, i) => ((i % 7) - 3) / 10),
});

Deno.test("decoy schedule: one decoy per full block, right after its batch, the same for the same (seed, epoch)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 2, max: 9 }),
      fc.integer({ min: 0, max: 5 }),
      (seed, every, epoch) => {
        const s = { seed, every }, end = 4 * every;
        const plan = turnPlan(s, epoch, 0, end);
        assert.deepEqual(plan, turnPlan(s, epoch, 0, end));
        assert.equal(plan.filter((p) => p.decoy).length, 4);
        plan.forEach((p, k) => {
          if (p.decoy) assert.deepEqual(plan[k - 1], { batch: p.batch, decoy: false });
          else assert.equal(decoyFollows(s, epoch, p.batch), plan[k + 1]?.decoy === true);
        });
        // A turn over a slice of the epoch plans the same decoys as the whole epoch.
        assert.deepEqual(
          turnPlan(s, epoch, every, 2 * every),
          plan.filter((p) => p.batch >= every && p.batch < 2 * every),
        );
        const rows = flippedRows(s, epoch, 1, 8, 3);
        assert.equal(new Set(rows).size, 3);
        assert.ok(rows.every((r) => r >= 0 && r < 8));
      },
    ),
  );
});

Deno.test("raw side decoys: same activation, scheduled labels flipped, replayed identically, never applied", async () => {
  const side = await LocalRawSide.create(config("vanilla"));
  const twin = await LocalRawSide.create(config("vanilla"));
  try {
    const info = await side.info();
    assert.deepEqual(info.decoys, { seed: 5, every: 2 });
    const plan = turnPlan(info.decoys, 0, 0, info.stepsPerEpoch);
    const d = plan.findIndex((p) => p.decoy), batch = plan[d].batch;
    const regular = await side.forward("0:0", 0, batch);
    const decoy = await side.forward("0:1", 0, batch, true);
    assert.deepEqual(decoy.activation, regular.activation);
    const y = regular.labels!.data as Float32Array, yd = decoy.labels!.data as Float32Array;
    const flipped = [...y.keys()].filter((i) => y[i] !== yd[i]);
    assert.deepEqual(flipped, flippedRows(info.decoys!, 0, batch, y.length, 3));
    assert.deepEqual(
      await side.forward("0:1", 0, batch, true),
      decoy,
      "a retried decoy forward repeats itself",
    );
    await assert.rejects(
      side.forward("0:0", 0, batch, true),
      isCode("STEP_MISMATCH", /now asked for the decoy of epoch 0/),
    );
    // A restarted raw side that lost the regular step still sends the same labels.
    assert.deepEqual((await twin.forward("0:1", 0, batch, true)).labels, decoy.labels);
    const g = ramp(regular.activation);
    await side.backward("0:0", g);
    const after = side.weights();
    await side.backward("0:1", scaled(g, -1));
    await side.backward("0:1", scaled(g, -1)); // retried: nothing happens
    assert.deepEqual(
      side.weights(),
      after,
      "a decoy's gradient never reaches the clinic's weights",
    );
    const other = plan.find((p) => !p.decoy && !decoyFollows(info.decoys!, 0, p.batch));
    if (other) {
      await assert.rejects(
        side.forward("0:2", 0, other.batch, true),
        isCode("STEP_MISMATCH", /has no decoy in the schedule/),
      );
    }
  } finally {
    await side.close();
    await twin.close();
  }
  const plain = await LocalRawSide.create(config("vanilla", { defence: {} }));
  try {
    assert.equal((await plain.info()).decoys, undefined);
    await assert.rejects(
      plain.forward("0:0", 0, 0, true),
      isCode("WRONG_MODE", /has no defence.hijackGuard/),
    );
  } finally {
    await plain.close();
  }
});

/** Runs the decoys of epochs 0..3 with the server's answer `answer(regular gradient)` to each decoy. */
async function decoyScores(answer: (g: Tensor) => Tensor): Promise<string | null> {
  const side = await LocalRawSide.create(config("vanilla"));
  try {
    const info = await side.info();
    for (let epoch = 0; epoch < 4; epoch++) {
      const plan = turnPlan(info.decoys, epoch, 0, info.stepsPerEpoch);
      for (const [k, p] of plan.entries()) {
        const id = `${epoch}:${k}`;
        const f = await side.forward(id, epoch, p.batch, p.decoy);
        const g = ramp(f.activation);
        try {
          await side.backward(id, p.decoy ? answer(g) : g);
        } catch (e) {
          if (e instanceof RawSideError && e.code === "HIJACK_SUSPECTED") return e.message;
          throw e;
        }
      }
    }
    return null;
  } finally {
    await side.close();
  }
}

Deno.test("raw side decoys: label-blind answers raise HIJACK_SUSPECTED after a window, label-following ones never", async () => {
  const alarm = await decoyScores((g) => g);
  assert.match(
    alarm ?? "",
    /^hijack suspected at step \d+:\d+ \(epoch \d batch \d\): .*mean decoy score -1\.000 over the last 2 decoys/,
  );
  assert.equal(await decoyScores((g) => scaled(g, -1)), null);
});

Deno.test("gateway config: defence.hijackGuard is taken in vanilla mode and refused in U-shape before anything starts", () => {
  const base = {
    server: "http://127.0.0.1:8443",
    serverPublicKey: "s.pub",
    clinicKey: "a.key",
    data: "d/x.npz",
    model: "cnn",
    optimizer: { kind: "sgd", lr: 0.1 },
    checkpointDir: "ck",
    defence: { hijackGuard: { every: 10 } },
  };
  assert.deepEqual(parseClientConfig(JSON.stringify({ ...base, mode: "vanilla" }), "/").defence, {
    hijackGuard: { every: 10 },
  });
  assert.throws(
    () => parseClientConfig(JSON.stringify({ ...base, mode: "ushaped" }), "/"),
    /config\.defence\.hijackGuard needs mode "vanilla", got mode "ushaped"/,
  );
});

Deno.test("client config: a label defence in the wrong mode is refused when the config is read", () => {
  const base = {
    server: "http://127.0.0.1:8443",
    serverPublicKey: "s.pub",
    clinicKey: "a.key",
    data: "d/x.npz",
    model: "cnn",
    optimizer: { kind: "sgd", lr: 0.1 },
    checkpointDir: "ck",
  };
  const rr = { ...base, defence: { labelDefence: { kind: "rr", epsilon: 1 } } };
  assert.equal(parseClientConfig(JSON.stringify({ ...rr, mode: "vanilla" }), "/").defence.labelDefence?.kind, "rr");
  assert.throws(
    () => parseClientConfig(JSON.stringify({ ...rr, mode: "ushaped" }), "/"),
    /^TypeError: config\.defence\.labelDefence "rr" needs mode vanilla, got ushaped/,
  );
  const marvell = { ...base, mode: "vanilla", defence: { labelDefence: { kind: "marvell", scale: 2 } } };
  assert.throws(() => parseClientConfig(JSON.stringify(marvell), "/"), /labelDefence "marvell" needs mode ushaped, got vanilla/);
});
