/**
 * The relay checks each TURN_DONE blob's envelope header before storing it (docs/design/security_model.md):
 * random bytes, or an envelope that names another sender, recipient or epoch, are refused
 * with 422 `BAD_ENVELOPE`, the turn stays with the sender and nothing is relayed.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { sealEnvelope } from "../../../crypto/seal/sealed_envelope.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { assertError, RawClinic, startServer } from "./harness.ts";

const envelope = (sender: string, recipient: string, epoch: number) =>
  sealEnvelope({
    sender: generateKeyPair(),
    recipientPublicKey: generateKeyPair().publicKey,
    header: { sender, recipient, run: new Uint8Array(32), epoch, seq: 1 },
    plaintext: new Uint8Array(100),
  });

Deno.test("relay: random bytes and misaddressed envelopes are refused at TURN_DONE with 422 BAD_ENVELOPE", async () => {
  const server = await startServer("vanilla", {}, { names: ["a", "b"] });
  try {
    const [a, b] = await Promise.all(["a", "b"].map((n) => new RawClinic(server, n).connect()));
    const done = (blob: Uint8Array) => ({ type: "TURN_DONE", epoch: 0, lastStepId: null, sealedWeights: { b: blob } }) as const;
    const refused = async (blob: Uint8Array, why: RegExp) => {
      const e = await assertError(await a.post(a.body(done(blob))), 422, "BAD_ENVELOPE");
      assert.match(e.message, why);
    };
    await refused(crypto.getRandomValues(new Uint8Array(4096)), /weights for b: not a sealed envelope/);
    await refused(envelope("c", "b", 0), /envelope says sender c, recipient b, epoch 0; expected sender a, recipient b, epoch 0/);
    await refused(envelope("a", "a", 0), /says sender a, recipient a/);
    await refused(envelope("a", "b", 7), /epoch 7; expected .* epoch 0/);
    const good = envelope("a", "b", 0);
    await refused(good.subarray(0, good.length - 1), /implies/);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        await assertError(await a.post(a.body(done(bytes))), 422, "BAD_ENVELOPE");
      }),
      { numRuns: 20 },
    );
    // nothing was stored or relayed, and the turn is still a's
    assert.equal(server.schedule.holder, "a");
    assert.deepEqual(await b.send({ type: "FETCH_WEIGHTS" }), { type: "WEIGHTS", from: null, seq: 0 });
    // a well-formed envelope from a to b for this epoch is relayed as it came
    assert.deepEqual(await a.send(done(good)), { type: "TURN_DONE_RESULT", epoch: 0, next: "b" });
    assert.deepEqual(await b.send({ type: "FETCH_WEIGHTS" }), { type: "WEIGHTS", from: "a", seq: 1, sealedWeights: good });
  } finally {
    await server.close();
  }
});
