/**
 * The server's log names data epochs, not rounds: three epochs of four turns each used to
 * end with "epoch 11 done"; now the last line is "epoch 3/3 done (round 11)".
 */
import assert from "node:assert/strict";
import { roundEndLine, roundLabel } from "../../../runtime/server/mod.ts";
import { assertError, binaryLabels, CUT_DIMS, randomTensor, RawClinic, startServer } from "./harness.ts";

/** Runs clinic a (alone in the order) through `rounds` turns of one step each. */
async function runTurns(a: RawClinic, rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    const stepId = `${r}:0`;
    const step = { type: "STEP", stepId, epoch: r, activation: randomTensor([4, ...CUT_DIMS], r + 1), labels: binaryLabels(4) } as const;
    assert.equal((await a.send(step)).type, "STEP_RESULT");
    assert.equal((await a.send({ type: "TURN_DONE", epoch: r, lastStepId: stepId, sealedWeights: {} })).type, "TURN_DONE_RESULT");
  }
}

Deno.test("round log: three epochs of one turn each are logged as epoch 1/3 .. 3/3", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", { epochs: 3 }, { names: ["a"], log });
  try {
    const a = await new RawClinic(server, "a").connect();
    await runTurns(a, 3);
    const ends = log.filter((l) => l.includes(" done"));
    assert.deepEqual(ends, ["epoch 1/3 done", "epoch 2/3 done", "epoch 3/3 done"], log.join("\n"));
    assert.ok(log.includes("clinic a finished its turn of epoch 3/3; next: none (finished)"), log.join("\n"));
    assert.equal(server.status().finished, true);
  } finally {
    await server.close();
  }
});

Deno.test("round log: with turnsPerEpoch 2 the server runs epochs × 2 rounds and names epoch and part", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", { epochs: 2, turnsPerEpoch: 2 }, { names: ["a"], log });
  try {
    const a = await new RawClinic(server, "a").connect();
    await runTurns(a, 4);
    assert.equal(server.status().finished, true, "finished after 2 epochs × 2 turns");
    const ends = log.filter((l) => l.includes(" done"));
    assert.deepEqual(ends, [
      "round 0 (epoch 1/2, part 1/2) done",
      "epoch 1/2 done (round 1)",
      "round 2 (epoch 2/2, part 1/2) done",
      "epoch 2/2 done (round 3)",
    ], log.join("\n"));
    assert.ok(log.includes("clinic a finished its turn of round 3 (epoch 2/2, part 2/2); next: none (finished)"), log.join("\n"));
    const late = { type: "STEP", stepId: "4:0", epoch: 4, activation: randomTensor([4, ...CUT_DIMS], 9), labels: binaryLabels(4) } as const;
    const e = await assertError(await a.post(a.body(late)), 409, "FINISHED");
    assert.equal(e.message, "training finished after 2 epochs");
  } finally {
    await server.close();
  }
});

Deno.test("round log: labels without an epoch limit, and the demo's last round", () => {
  assert.equal(roundLabel(0, { turnsPerEpoch: 1 }), "epoch 1");
  assert.equal(roundEndLine(11, { turnsPerEpoch: 4, epochs: 3 }), "epoch 3/3 done (round 11)");
  assert.equal(roundLabel(5, { turnsPerEpoch: 4 }), "round 5 (epoch 2, part 2/4)");
});

Deno.test("round log: a turnsPerEpoch that is not a positive integer is refused, naming it", async () => {
  await assert.rejects(startServer("vanilla", { turnsPerEpoch: 0 }), { name: "RangeError", message: "turnsPerEpoch 0: expected an integer >= 1" });
});
