/**
 * one accepted step must not break the shared model. The attacks of the
 * issue (a STEP of finite activations scaled by 1e6, which froze every EVAL output, and by
 * 1e20, which made a BatchNorm running variance +inf) are refused, the server's whole state
 * (parameters, buffers, optimizer) is as before, and the server keeps serving.
 */
import assert from "node:assert/strict";
import type { Tensor } from "../../../models/tensor.ts";
import { ProtocolError } from "../../../runtime/protocol/mod.ts";
import {
  resolveServerConfig,
  type ServerConfig,
  type ServerHandle,
} from "../../../runtime/server/mod.ts";
import { ServerModel } from "../../../runtime/server/server_model.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
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

/** A finite activation batch of `n` samples, scaled by `k`. */
function scaled(n: number, seed: number, k: number): Tensor<"float32"> {
  const t = randomTensor([n, ...CUT_DIMS], seed);
  for (let i = 0; i < t.data.length; i++) t.data[i] *= k;
  return t;
}

/** The server's whole state (parameters, buffers, optimizer) once settled, as plain arrays. */
async function stateOf(server: ServerHandle): Promise<Map<string, number[]>> {
  await server.model.settle();
  return new Map(
    [...server.model.exportState()].map(([k, t]) => [k, Array.from(t.data as ArrayLike<number>)]),
  );
}

/** Whether two EVAL outputs differ across a batch of different inputs (a frozen model's do not). */
async function evalSpread(a: RawClinic): Promise<number> {
  const r = await a.send({ type: "EVAL", activation: randomTensor([8, ...CUT_DIMS], 99) });
  assert.equal(r.type, "EVAL_RESULT");
  const out = Array.from((r as { output: Tensor }).output.data as Float32Array);
  return Math.max(...out) - Math.min(...out);
}

function stepBody(a: RawClinic, id: string, activation: Tensor) {
  return a.body({
    type: "STEP",
    stepId: id,
    epoch: 0,
    activation,
    labels: binaryLabels(activation.dims[0]),
  });
}

for (const deferUpdate of [true, false]) {
  Deno.test(`poisoned STEP (deferUpdate ${deferUpdate}): activations ×1e6 and ×1e20 are refused OUT_OF_RANGE, the state is unchanged, the server keeps serving`, async () => {
    const server = await startServer("vanilla", { deferUpdate });
    try {
      const a = await new RawClinic(server, "a").connect();
      await a.send({ type: "TURN_REQUEST" });
      assert.equal(
        (await a.send({
          type: "STEP",
          stepId: "0:0",
          epoch: 0,
          activation: scaled(8, 1, 1),
          labels: binaryLabels(8),
        })).type,
        "STEP_RESULT",
      );
      const before = await stateOf(server);
      for (const k of [1e6, 1e20]) {
        const err = await assertError(
          await a.post(stepBody(a, "0:1", scaled(8, 2, k))),
          422,
          "OUT_OF_RANGE",
        );
        assert.match(
          err.message,
          /^activation: element \d+ is -?\d.*; expected values in \[-10000, 10000\] \(limits\.maxActivation\)$/,
        );
        assert.deepEqual(await stateOf(server), before, `state changed by the step ×${k}`);
      }
      // The same step id, honest now: accepted; the model still tells inputs apart.
      assert.equal(
        (await a.send({
          type: "STEP",
          stepId: "0:1",
          epoch: 0,
          activation: scaled(8, 2, 1),
          labels: binaryLabels(8),
        })).type,
        "STEP_RESULT",
      );
      assert.ok(await evalSpread(a) > 1e-4, "EVAL outputs are all the same");
    } finally {
      await server.close();
    }
  });
}

Deno.test("limits.maxActivation is configurable: a tighter bound refuses what the default allows", async () => {
  const server = await startServer("vanilla", {
    limits: { maxBatch: 16, maxBodyBytes: 64 * 1024, maxActivation: 0.5 },
  });
  try {
    const a = await new RawClinic(server, "a").connect();
    await a.send({ type: "TURN_REQUEST" });
    const err = await assertError(
      await a.post(stepBody(a, "0:0", scaled(4, 1, 1))),
      422,
      "OUT_OF_RANGE",
    );
    assert.match(err.message, /expected values in \[-0\.5, 0\.5\] \(limits\.maxActivation\)/);
    // EVAL's activations are bounded too (the same cut tensor).
    await assertError(
      await a.post(a.body({ type: "EVAL", activation: scaled(4, 1, 1) })),
      422,
      "OUT_OF_RANGE",
    );
  } finally {
    await server.close();
  }
});

for (const deferUpdate of [true, false]) {
  Deno.test(`past a raised bound (deferUpdate ${deferUpdate}), ×1e20 is refused NON_FINITE naming the running variance; state unchanged`, async () => {
    const raised: Partial<ServerConfig> = {
      deferUpdate,
      limits: { maxBatch: 16, maxBodyBytes: 64 * 1024, maxActivation: 1e30 },
    };
    const server = await startServer("vanilla", raised);
    try {
      const a = await new RawClinic(server, "a").connect();
      await a.send({ type: "TURN_REQUEST" });
      const before = await stateOf(server);
      const err = await assertError(
        await a.post(stepBody(a, "0:0", scaled(8, 2, 1e20))),
        422,
        "NON_FINITE",
      );
      assert.match(
        err.message,
        /^STEP 0:0 refused: it would make buffer\/\S+running_var \(element 0 is Infinity\) non-finite; the server keeps its previous state$/,
      );
      assert.deepEqual(await stateOf(server), before);
      assert.equal(
        (await a.send({
          type: "STEP",
          stepId: "0:0",
          epoch: 0,
          activation: scaled(8, 2, 1),
          labels: binaryLabels(8),
        })).type,
        "STEP_RESULT",
      );
      assert.ok(await evalSpread(a) > 1e-4, "EVAL outputs are all the same");
    } finally {
      await server.close();
    }
  });
}

/** A model whose step's parameter gradients are replaced by `grad` (finite, huge). */
async function modelWithGradients(
  deferUpdate: boolean,
  grad: number,
  log: string[] = [],
): Promise<ServerModel> {
  const engine = await testEngine();
  const { segments } = buildSplitModel(tinyConfig("vanilla").model, "vanilla", "bce");
  const sm = await ServerModel.create(engine, segments, "vanilla", { kind: "adam", lr: 1e-3 }, 16, {
    deferUpdate,
    log: (l) => log.push(l),
  });
  const huge = (g: Map<string, Tensor>) => {
    for (const t of g.values()) (t.data as Float32Array).fill(grad);
    return g;
  };
  const step = sm.runner.step.bind(sm.runner), deferred = sm.runner.stepDeferred.bind(sm.runner);
  sm.runner.step = async (x, y) => {
    const r = await step(x, y);
    return { ...r, paramGrads: huge(r.paramGrads) };
  };
  sm.runner.stepDeferred = async (x, y) => {
    const r = await deferred(x, y);
    return { ...r, paramGrads: async () => huge(await r.paramGrads()) };
  };
  return sm;
}

function plain(m: Map<string, Tensor>): Map<string, number[]> {
  return new Map([...m].map(([k, t]) => [k, Array.from(t.data as ArrayLike<number>)]));
}

Deno.test("an update whose optimizer state overflows is refused (fused) with parameters and Adam moments kept", async () => {
  // |g| = 1e30 is finite, and Adam's parameter step stays finite; its second moment g² is not.
  const sm = await modelWithGradients(false, 1e30);
  const before = plain(sm.exportState());
  await assert.rejects(
    () =>
      sm.step(randomTensor([4, ...CUT_DIMS], 2), binaryLabels(4), { stepId: "0:1", clinic: "a" }),
    (e: unknown) =>
      e instanceof ProtocolError && e.code === "NON_FINITE" &&
      /^STEP 0:1 refused: it would make opt\/\S+\.v \(element 0 is Infinity\) non-finite/.test(
        e.message,
      ),
  );
  assert.deepEqual(
    plain(sm.exportState()),
    before,
    "parameters, buffers or optimizer state changed",
  );
  await sm.release();
});

Deno.test("a deferred update found non-finite after its reply is dropped, logged, and refused to that clinic's next request only", async () => {
  const log: string[] = [];
  const sm = await modelWithGradients(true, 1e30, log);
  const before = plain(sm.exportState());
  const r = await sm.step(randomTensor([4, ...CUT_DIMS], 1), binaryLabels(4), {
    stepId: "0:0",
    clinic: "a",
  });
  assert.ok(Number.isFinite(r.loss)); // the reply left
  assert.equal(await sm.takeDropped("b"), null, "another clinic is not told");
  assert.throws(() => sm.exportState(), /pending/, "another clinic's request does not start the update early");
  await sm.startUpdate(); // never rejects
  await sm.settle(); // not fatal: the model keeps serving
  assert.deepEqual(plain(sm.exportState()), before, "the dropped update changed the state");
  assert.equal(await sm.takeDropped("b"), null, "another clinic is not told, after the drop either");
  const e = await sm.takeDropped("a");
  assert.ok(e instanceof ProtocolError && e.code === "NON_FINITE");
  assert.match(
    e.message,
    /^the update of STEP 0:0 was dropped after its reply was sent: STEP 0:0 refused: it would make opt\/\S+ \(element 0 is Infinity\) non-finite/,
  );
  assert.equal(await sm.takeDropped("a"), null, "told once");
  assert.equal(log.length, 1);
  assert.match(log[0], /^clinic a: the update of STEP 0:0 was dropped/);
  await sm.evaluate(randomTensor([4, ...CUT_DIMS], 3)); // still serving
  await sm.release();
});

Deno.test("over HTTP: the clinic whose deferred update was dropped gets 422 NON_FINITE on its next request, then carries on", async () => {
  const server = await startServer("vanilla", { optimizer: { kind: "adam", lr: 1e-3 } });
  try {
    const runner = server.model.runner;
    const real = runner.stepDeferred.bind(runner);
    let poison = true;
    runner.stepDeferred = async (x, y) => {
      const r = await real(x, y);
      const p = poison;
      poison = false;
      return {
        ...r,
        paramGrads: async () => {
          const g = await r.paramGrads();
          if (p) { for (const t of g.values()) (t.data as Float32Array).fill(1e30); }
          return g;
        },
      };
    };
    const before = await stateOf(server);
    const a = await new RawClinic(server, "a").connect();
    await a.send({ type: "TURN_REQUEST" });
    assert.equal(
      (await a.send({
        type: "STEP",
        stepId: "0:0",
        epoch: 0,
        activation: scaled(4, 1, 1),
        labels: binaryLabels(4),
      })).type,
      "STEP_RESULT",
    );
    const err = await assertError(
      await a.post(stepBody(a, "0:1", scaled(4, 2, 1))),
      422,
      "NON_FINITE",
    );
    assert.match(err.message, /the update of STEP 0:0 was dropped after its reply was sent/);
    assert.deepEqual(await stateOf(server), before, "the dropped update changed the state");
    // Told once; the refused request changed nothing, so it can be sent again.
    assert.equal(
      (await a.send({
        type: "STEP",
        stepId: "0:1",
        epoch: 0,
        activation: scaled(4, 2, 1),
        labels: binaryLabels(4),
      })).type,
      "STEP_RESULT",
    );
    assert.notDeepEqual(await stateOf(server), before, "the honest step was not applied");
  } finally {
    await server.close();
  }
});

Deno.test("limits.maxActivation must be a finite number > 0", () => {
  for (const bad of [0, -1, Infinity, NaN]) {
    assert.throws(
      () => resolveServerConfig(tinyConfig("vanilla", { limits: { maxActivation: bad } }), ["a"]),
      (e: Error) =>
        e instanceof RangeError &&
        e.message === `limits.maxActivation ${bad}: expected a finite number > 0`,
    );
  }
  assert.equal(resolveServerConfig(tinyConfig("vanilla"), ["a"]).maxActivation, 1e4, "the default");
});

Deno.test("U-shape: a MIDDLE_FORWARD past a raised bound is refused NON_FINITE, nothing held, state unchanged; ×1e6 refused by the default bound", async () => {
  const server = await startServer("ushaped", {
    limits: { maxBatch: 16, maxBodyBytes: 64 * 1024, maxActivation: 1e30 },
  });
  const strict = await startServer("ushaped");
  try {
    const a = await new RawClinic(server, "a").connect();
    await a.send({ type: "TURN_REQUEST" });
    const before = await stateOf(server);
    const err = await assertError(
      await a.post(
        a.body({ type: "MIDDLE_FORWARD", stepId: "0:0", epoch: 0, activation: scaled(4, 2, 1e20) }),
      ),
      422,
      "NON_FINITE",
    );
    assert.match(
      err.message,
      /^MIDDLE_FORWARD 0:0 refused: it would make (buffer\/\S+|headInput) \(element \d+ is -?Infinity\) non-finite/,
    );
    assert.deepEqual(await stateOf(server), before);
    assert.equal(
      server.model.pendingBatch("0:0"),
      undefined,
      "a refused forward is not held for a backward",
    );
    const s = await new RawClinic(strict, "a").connect();
    await s.send({ type: "TURN_REQUEST" });
    await assertError(
      await s.post(
        s.body({ type: "MIDDLE_FORWARD", stepId: "0:0", epoch: 0, activation: scaled(4, 2, 1e6) }),
      ),
      422,
      "OUT_OF_RANGE",
    );
  } finally {
    await server.close();
    await strict.close();
  }
});
