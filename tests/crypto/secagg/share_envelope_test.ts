import assert from "node:assert/strict";
import { openShares, sealShares, secaggRun } from "../../../crypto/secagg/share_envelope.ts";
import { openEnvelope, runId, sealEnvelope } from "../../../crypto/seal/sealed_envelope.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";

const a = generateKeyPair(), b = generateKeyPair(), c = generateKeyPair();
const keys = new Map([["clinic-a", a.publicKey], ["clinic-b", b.publicKey], [
  "clinic-c",
  c.publicKey,
]]);
const plaintext = Uint8Array.from({ length: 96 }, (_, i) => i);
const sealAB = (
  over: {
    round?: number;
    study?: string;
    to?: string;
    recipientKey?: Uint8Array;
    sender?: typeof a;
  } = {},
) =>
  sealShares({
    sender: over.sender ?? a,
    from: "clinic-a",
    to: over.to ?? "clinic-b",
    recipientKey: over.recipientKey ?? b.publicKey,
    study: over.study ?? "study-1",
    round: over.round ?? 5,
    plaintext,
  });
const openAtB = (blob: Uint8Array, over: { from?: string; round?: number } = {}) =>
  openShares({
    recipient: b,
    to: "clinic-b",
    study: "study-1",
    round: over.round ?? 5,
    from: over.from ?? "clinic-a",
    senderKey: (n) => keys.get(n),
    blob,
    expectedLength: 96,
  });

Deno.test("shares sealed by a to b in round 5 of study-1 open at b", () => {
  assert.deepEqual(openAtB(sealAB()), plaintext);
});

Deno.test("a share sealed by another key in the sender's name (the server forging) is refused: SHARE_FORGED", () => {
  const server = generateKeyPair();
  assert.throws(() => openAtB(sealAB({ sender: server })), {
    name: "SecAggError",
    code: "SHARE_FORGED",
  });
  // c seals honestly, the relay claims it came from a
  const fromC = sealShares({
    sender: c,
    from: "clinic-c",
    to: "clinic-b",
    recipientKey: b.publicKey,
    study: "study-1",
    round: 5,
    plaintext,
  });
  assert.throws(() => openAtB(fromC), {
    code: "SHARE_FORGED",
    message: /relayed as from clinic-a names clinic-c/,
  });
});

Deno.test("every flipped bit of a share envelope is refused", () => {
  const blob = sealAB();
  const codes = new Set<string>();
  for (let i = 0; i < blob.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = blob.slice();
      bad[i] ^= bit;
      assert.throws(() => openAtB(bad), (e: unknown) => {
        codes.add((e as { code: string }).code);
        return (e as { name: string }).name === "SecAggError";
      }, `byte ${i}`);
    }
  }
  assert.ok(
    codes.has("SHARE_FORGED") && codes.has("SHARE_REPLAYED") && codes.has("SHARE_MALFORMED"),
    [...codes].join(),
  );
});

Deno.test("a share of another round (replayed) is refused: SHARE_REPLAYED", () => {
  assert.throws(() => openAtB(sealAB({ round: 4 })), {
    code: "SHARE_REPLAYED",
    message: /round 4, not 5/,
  });
});

Deno.test("a share addressed to another clinic is refused: SHARE_MISADDRESSED", () => {
  assert.throws(() => openAtB(sealAB({ to: "clinic-c", recipientKey: c.publicKey })), {
    code: "SHARE_MISADDRESSED",
  });
});

Deno.test("a share of another study is refused: SHARE_WRONG_STUDY", () => {
  assert.throws(() => openAtB(sealAB({ study: "study-2" })), { code: "SHARE_WRONG_STUDY" });
});

Deno.test("a weight-relay envelope between the same clinics is not a share envelope, nor the reverse", () => {
  const run = runId(generateKeyPair().publicKey, "study-1");
  const weights = sealEnvelope({
    sender: a,
    recipientPublicKey: b.publicKey,
    header: { sender: "clinic-a", recipient: "clinic-b", run, epoch: 5, seq: 0 },
    plaintext,
  });
  assert.throws(() => openAtB(weights), { code: "SHARE_WRONG_STUDY" });
  // even under the share run id, the missing share context fails the handshake tag
  const sameRun = sealEnvelope({
    sender: a,
    recipientPublicKey: b.publicKey,
    header: {
      sender: "clinic-a",
      recipient: "clinic-b",
      run: secaggRun("study-1"),
      epoch: 5,
      seq: 0,
    },
    plaintext,
  });
  assert.throws(() => openAtB(sameRun), { code: "SHARE_FORGED" });
  assert.throws(
    () =>
      openEnvelope({
        recipient: b,
        recipientName: "clinic-b",
        run: new Uint8Array(32),
        senderKey: (n) => keys.get(n),
        blob: sealAB(),
      }),
    { name: "NoiseError", code: "WRONG_RUN" },
  );
});

Deno.test("a sender outside the allowlist and a plaintext of the wrong length are refused", () => {
  const d = generateKeyPair();
  const fromD = sealShares({
    sender: d,
    from: "clinic-d",
    to: "clinic-b",
    recipientKey: b.publicKey,
    study: "study-1",
    round: 5,
    plaintext,
  });
  assert.throws(() => openAtB(fromD, { from: "clinic-d" }), { code: "UNKNOWN_CLINIC" });
  const short = sealShares({
    sender: a,
    from: "clinic-a",
    to: "clinic-b",
    recipientKey: b.publicKey,
    study: "study-1",
    round: 5,
    plaintext: new Uint8Array(64),
  });
  assert.throws(() => openAtB(short), {
    code: "SHARE_MALFORMED",
    message: /64 bytes; the roster implies 96/,
  });
});
