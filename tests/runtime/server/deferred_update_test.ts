import assert from "node:assert/strict";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import { ServerModel, ServerModelError } from "../../../runtime/server/server_model.ts";
import {
  assertError,
  binaryLabels,
  CUT_DIMS,
  randomTensor,
  RawClinic,
  startServer,
  testEngine,
  tinyConfig,
} from "./harness.ts";

const ADAM = { kind: "adam" as const, lr: 1e-2 };

Deno.test("deferred update: the same cut gradients and weights as the fused step, step after step", async () => {
  const engine = await testEngine();
  const { segments } = buildSplitModel(tinyConfig("vanilla").model, "vanilla", "bce");
  const fused = await ServerModel.create(engine, segments, "vanilla", ADAM, 16, { deferUpdate: false });
  const deferred = await ServerModel.create(engine, segments, "vanilla", ADAM, 16);
  assert.equal(deferred.deferUpdate, true, "deferring is the default");
  for (let k = 0; k < 3; k++) {
    const x = randomTensor([8, ...CUT_DIMS], 40 + k), y = binaryLabels(8);
    const a = await fused.step(x, y);
    const b = await deferred.step(x, y);
    assert.equal(b.loss, a.loss, `step ${k} loss`);
    assert.deepEqual(b.cutGrad.data, a.cutGrad.data, `step ${k} cut gradient`);
  }
  assert.throws(() => deferred.exportState(), /pending; await settle\(\) first/);
  await deferred.settle();
  const want = fused.exportState(), got = deferred.exportState();
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [k, t] of want) assert.deepEqual(got.get(k)!.data, t.data, k);
  await fused.release();
  await deferred.release();
});

Deno.test("deferred update: a failed update stops the model, naming what was missed", async () => {
  const engine = await testEngine();
  const { segments } = buildSplitModel(tinyConfig("vanilla").model, "vanilla", "bce");
  const sm = await ServerModel.create(engine, segments, "vanilla", ADAM, 16);
  const real = sm.runner.stepDeferred.bind(sm.runner);
  sm.runner.stepDeferred = async (inputs, target) => {
    const r = await real(inputs, target);
    return { ...r, paramGrads: () => Promise.reject(new Error("engine lost")) };
  };
  const before = new Map([...sm.runner.params].map(([k, v]) => [k, (v.data as Float32Array).slice()]));
  await sm.step(randomTensor([4, ...CUT_DIMS], 1), binaryLabels(4));
  await sm.startUpdate(); // never rejects
  const missed = /the update of a STEP failed after its reply was sent.*engine lost.*restart the server/;
  await assert.rejects(
    () => sm.step(randomTensor([4, ...CUT_DIMS], 2), binaryLabels(4)),
    (e: Error) => e instanceof ServerModelError && missed.test(e.message),
  );
  await assert.rejects(() => sm.evaluate(randomTensor([4, ...CUT_DIMS], 3)), missed);
  assert.throws(() => sm.exportState(), missed);
  for (const [k, v] of sm.runner.params) assert.deepEqual(v.data, before.get(k), `${k} changed`);
  await sm.release();
});

Deno.test("deferred update: the server applies a step once its reply has left, without another request", async () => {
  const server = await startServer("vanilla");
  try {
    const before = new Map([...server.model.runner.params].map(([k, v]) => [k, (v.data as Float32Array).slice()]));
    const a = await new RawClinic(server, "a").connect();
    await a.send({ type: "TURN_REQUEST" });
    const r = await a.send({ type: "STEP", stepId: "0:0", epoch: 0, activation: randomTensor([4, ...CUT_DIMS], 5), labels: binaryLabels(4) });
    assert.equal(r.type, "STEP_RESULT");
    const changed = () => [...server.model.runner.params].some(([k, v]) => v.data.some((x, i) => x !== before.get(k)![i]));
    // A liveness check, not a timing one: the update takes milliseconds; 5 s allows a loaded CI machine.
    for (let i = 0; i < 1000 && !changed(); i++) await new Promise((res) => setTimeout(res, 5));
    assert.ok(changed(), "the weights did not change within 5 s of the reply");
  } finally {
    await server.close();
  }
});

Deno.test("deferred update: after a failed update the server answers 503 MODEL_FAILED, naming it, and keeps answering", async () => {
  const server = await startServer("vanilla");
  try {
    const real = server.model.runner.stepDeferred.bind(server.model.runner);
    server.model.runner.stepDeferred = async (inputs, target) => ({
      ...await real(inputs, target),
      paramGrads: () => Promise.reject(new Error("engine lost")),
    });
    const a = await new RawClinic(server, "a").connect();
    await a.send({ type: "TURN_REQUEST" });
    const step = (id: string, seed: number) =>
      a.post(a.body({ type: "STEP", stepId: id, epoch: 0, activation: randomTensor([4, ...CUT_DIMS], seed), labels: binaryLabels(4) }));
    assert.equal((await a.open(await step("0:0", 1))).type, "STEP_RESULT");
    const res = await step("0:1", 2);
    assert.equal(res.status, 503);
    const text = await res.clone().text();
    assert.match(text, /the update of STEP 0:0 failed after its reply was sent/);
    await assertError(res, 503, "MODEL_FAILED");
    // The process still answers, and says the same to the next request.
    assert.equal((await server.app.request("/health")).status, 200);
    await assertError(await step("0:1", 2), 503, "MODEL_FAILED");
  } finally {
    await server.close();
  }
});

Deno.test("a step whose loss is not finite is refused and not applied, deferred or fused", async () => {
  const engine = await testEngine();
  const { segments } = buildSplitModel(tinyConfig("vanilla").model, "vanilla", "bce");
  for (const deferUpdate of [true, false]) {
    const sm = await ServerModel.create(engine, segments, "vanilla", ADAM, 16, { deferUpdate });
    const before = new Map([...sm.runner.params].map(([k, v]) => [k, (v.data as Float32Array).slice()]));
    // Finite, but far past what float32 arithmetic survives: the loss overflows.
    const huge = randomTensor([4, ...CUT_DIMS], 3);
    (huge.data as Float32Array).fill(3e38);
    await assert.rejects(() => sm.step(huge, binaryLabels(4)), (e: unknown) =>
      (e as { code?: string }).code === "NON_FINITE" && /the step's loss is (NaN|-?Infinity); the step is not applied/.test((e as Error).message));
    await sm.settle(); // nothing pending
    for (const [k, v] of sm.runner.params) assert.deepEqual(v.data, before.get(k), `${k} (deferUpdate ${deferUpdate})`);
    await sm.release();
  }
});
