/**
 * The parallel schedules' relay at the protocol level: a TURN_DONE's fronts are checked at
 * relay time like the sequential hand-off (misaddressed envelopes refused with 422
 * `BAD_ENVELOPE`, nothing changed), private fronts refuse any blob, and `FETCH_FRONTS` hands
 * each clinic only the blobs sealed to it, with the round's sample counts, and only for the
 * last ended round.
 */
import assert from "node:assert/strict";
import { sealEnvelope } from "../../../crypto/seal/sealed_envelope.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import {
  assertError,
  binaryLabels,
  CUT_DIMS,
  randomTensor,
  RawClinic,
  startServer,
} from "./harness.ts";

const envelope = (sender: string, recipient: string, epoch: number) =>
  sealEnvelope({
    sender: generateKeyPair(),
    recipientPublicKey: generateKeyPair().publicKey,
    header: { sender, recipient, run: new Uint8Array(32), epoch, seq: 1 },
    plaintext: new Uint8Array(100),
  });

Deno.test("parallel relay: fronts checked at TURN_DONE, handed out per recipient with the round's sample counts", async () => {
  const server = await startServer("vanilla", { schedule: "parallel", epochs: 2 }, {
    names: ["a", "b", "c"],
  });
  try {
    const [a, b, c] = await Promise.all(
      ["a", "b", "c"].map((n) => new RawClinic(server, n).connect()),
    );
    const turn = await b.send({ type: "TURN_REQUEST" });
    assert.deepEqual([
      turn.type,
      (turn as { yours: boolean }).yours,
      (turn as { schedule?: string }).schedule,
    ], ["TURN", true, "parallel"]);
    // b steps twice (8 + 4 samples); a and c none
    for (const [k, n] of [[0, 8], [1, 4]]) {
      const r = await b.send({
        type: "STEP",
        stepId: `0:${k}`,
        epoch: 0,
        activation: randomTensor([n, ...CUT_DIMS], k + 1),
        labels: binaryLabels(n),
      });
      assert.equal(r.type, "STEP_RESULT");
    }
    const done = (blobs: Record<string, Uint8Array>, last: string | null = null) =>
      ({ type: "TURN_DONE", epoch: 0, lastStepId: last, sealedWeights: blobs }) as const;
    const e = await assertError(
      await a.post(a.body(done({ b: envelope("a", "b", 0), c: envelope("a", "b", 0) }))),
      422,
      "BAD_ENVELOPE",
    );
    assert.match(e.message, /recipient b, epoch 0; expected sender a, recipient c/);
    await assertError(
      await a.post(a.body(done({ b: envelope("a", "b", 0) }))),
      400,
      "BAD_MESSAGE",
    );
    await assertError(await b.post(b.body({ type: "FETCH_FRONTS", epoch: 0 })), 409, "WRONG_EPOCH");
    const ab = envelope("a", "b", 0),
      ac = envelope("a", "c", 0),
      ba = envelope("b", "a", 0),
      bc = envelope("b", "c", 0);
    assert.equal((await a.send(done({ b: ab, c: ac }))).type, "TURN_DONE_RESULT");
    assert.equal((await b.send(done({ a: ba, c: bc }, "0:1"))).type, "TURN_DONE_RESULT");
    // c never finishes round 0 here: it is still stepping, so the round has not ended
    assert.equal(server.schedule.epoch, 0);
    const ca = envelope("c", "a", 0), cb = envelope("c", "b", 0);
    assert.equal((await c.send(done({ a: ca, b: cb }))).type, "TURN_DONE_RESULT");
    assert.equal(server.schedule.epoch, 1, "the last one through ended the round");
    assert.deepEqual(await b.send({ type: "FETCH_FRONTS", epoch: 0 }), {
      type: "FRONTS",
      epoch: 0,
      clinics: ["a", "b", "c"],
      samples: [0, 12, 0],
      sealedWeights: { a: ab, c: cb },
    });
    assert.deepEqual(await a.send({ type: "FETCH_FRONTS", epoch: 0 }), {
      type: "FRONTS",
      epoch: 0,
      clinics: ["a", "b", "c"],
      samples: [0, 12, 0],
      sealedWeights: { b: ba, c: ca },
    });
  } finally {
    await server.close();
  }
});

Deno.test("parallel relay: with clinicWeights private a TURN_DONE that seals a front is refused", async () => {
  const server = await startServer("vanilla", {
    schedule: "parallel",
    clinicWeights: "private",
    epochs: 1,
  }, { names: ["a", "b"] });
  try {
    const a = await new RawClinic(server, "a").connect();
    const turn = await a.send({ type: "TURN_REQUEST" }) as { clinicWeights?: string };
    assert.equal(turn.clinicWeights, "private");
    const e = await assertError(
      await a.post(
        a.body({
          type: "TURN_DONE",
          epoch: 0,
          lastStepId: null,
          sealedWeights: { b: envelope("a", "b", 0) },
        }),
      ),
      400,
      "BAD_MESSAGE",
    );
    assert.match(e.message, /clinicWeights is "private": fronts are not shared/);
    assert.deepEqual(
      await a.send({ type: "TURN_DONE", epoch: 0, lastStepId: null, sealedWeights: {} }),
      { type: "TURN_DONE_RESULT", epoch: 0, next: "b" },
    );
  } finally {
    await server.close();
  }
});
