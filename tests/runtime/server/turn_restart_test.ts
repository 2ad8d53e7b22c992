/**
 * `TURN_RESTART`: the turn holder restarted from its turn-start checkpoint asks the server to
 * roll back to the turn's start. The server's weights and step counts return to that point,
 * a repeat changes nothing, and only the holder of the current round may ask.
 */
import assert from "node:assert/strict";
import {
  assertError,
  binaryLabels,
  CUT_DIMS,
  paramsSnapshot,
  randomTensor,
  RawClinic,
  startServer,
} from "./harness.ts";

const step = (id: string, seed: number) =>
  ({
    type: "STEP",
    stepId: id,
    epoch: Number(id.split(":")[0]),
    activation: randomTensor([4, ...CUT_DIMS], seed),
    labels: binaryLabels(4),
  }) as const;

Deno.test("TURN_RESTART: rolls the server back to the holder's turn start, once; refused to others", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", {}, { log });
  try {
    const [a, b] = await Promise.all(["a", "b"].map((n) => new RawClinic(server, n).connect()));
    const turnStart = await paramsSnapshot(server);
    await a.send(step("0:0", 1));
    await a.send(step("0:1", 2));
    await assertError(
      await b.post(b.body({ type: "TURN_RESTART", epoch: 0, lastStepId: null })),
      409,
      "NOT_YOUR_TURN",
    );
    await assertError(
      await a.post(a.body({ type: "TURN_RESTART", epoch: 0, lastStepId: "0:0" })),
      409,
      "STEP_OUT_OF_ORDER",
    );
    assert.notDeepEqual(await paramsSnapshot(server), turnStart);
    const reply = await a.send({ type: "TURN_RESTART", epoch: 0, lastStepId: "0:1" });
    assert.deepEqual(reply, {
      type: "TURN",
      turn: "a",
      yours: true,
      epoch: 0,
      finished: false,
      lastStepId: null,
      order: ["a", "b"],
      loss: "bce",
    });
    assert.deepEqual(
      await paramsSnapshot(server),
      turnStart,
      "the weights are those of the turn's start",
    );
    assert.equal(server.status().step, 0);
    assert.ok(
      log.some((l) =>
        /clinic a restarted within its turn of .*rolled the server back 2 steps \(up to 0:1\)/.test(
          l,
        )
      ),
      log.join("\n"),
    );
    // a repeat (its reply lost) finds the server at the turn's start and changes nothing
    assert.deepEqual(await a.send({ type: "TURN_RESTART", epoch: 0, lastStepId: "0:1" }), reply);
    // the redone steps are accepted from the first
    await a.send(step("0:0", 1));
    assert.equal(server.status().step, 1);
  } finally {
    await server.close();
  }
});
