import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ENVELOPE_CHUNK,
  ENVELOPE_PROTOCOL,
  envelopeBodyLength,
  openEnvelope,
  readEnvelopeHeader,
  runId,
  sealEnvelope,
} from "../../../crypto/seal/sealed_envelope.ts";
import { seal } from "../../../crypto/seal/sealed_box.ts";
import { generateKeyPair, type KeyPair } from "../../../crypto/noise/dh.ts";
import { HandshakeState } from "../../../crypto/noise/handshake_state.ts";
import { runVector } from "../../../crypto/noise/vectors.ts";

const a = generateKeyPair(), b = generateKeyPair(), c = generateKeyPair();
const run = runId(generateKeyPair().publicKey, "study-1");
const peers = new Map([["clinic-a", a.publicKey], ["clinic-c", c.publicKey]]);
const code = (want: string) => (e: unknown) => (e as { code?: string }).code === want;

function fromA(
  plaintext: Uint8Array,
  over: { epoch?: number; seq?: number; context?: Uint8Array } = {},
): Uint8Array {
  return sealEnvelope({
    sender: a,
    recipientPublicKey: b.publicKey,
    header: {
      sender: "clinic-a",
      recipient: "clinic-b",
      run,
      epoch: over.epoch ?? 2,
      seq: over.seq ?? 5,
    },
    plaintext,
    ...(over.context ? { context: over.context } : {}),
  });
}

function openAtB(blob: Uint8Array, context?: Uint8Array, me: KeyPair = b) {
  return openEnvelope({
    recipient: me,
    recipientName: "clinic-b",
    run,
    senderKey: (n) => peers.get(n),
    blob,
    context,
  });
}

Deno.test("envelopes round-trip at every chunk boundary, with the documented length", () => {
  for (
    const n of [
      0,
      1,
      ENVELOPE_CHUNK - 1,
      ENVELOPE_CHUNK,
      ENVELOPE_CHUNK + 1,
      3 * ENVELOPE_CHUNK + 5,
    ]
  ) {
    const pt = new Uint8Array(n).map((_, i) => i * 7);
    const blob = fromA(pt);
    const { header, headerLength } = readEnvelopeHeader(blob);
    assert.equal(headerLength, 59 + "clinic-a".length + "clinic-b".length);
    assert.equal(blob.length, headerLength + envelopeBodyLength(n));
    const got = openAtB(blob);
    assert.deepEqual(got.plaintext, pt);
    assert.deepEqual({ ...got.header, run: null }, { ...header, run: null });
    assert.equal(got.header.epoch, 2);
    assert.equal(got.header.seq, 5);
  }
});

Deno.test("a blob forged with only the recipient's public key (what a relay can do) is refused", () => {
  // The server knows clinic-b's public key and claims the blob is clinic-a's: it can build
  // every header field, but not the "ss" DH of clinic-a's static key.
  const forger = generateKeyPair();
  const forged = sealEnvelope({
    sender: forger,
    recipientPublicKey: b.publicKey,
    header: { sender: "clinic-a", recipient: "clinic-b", run, epoch: 9, seq: 99 },
    plaintext: new Uint8Array(64),
  });
  assert.throws(() => openAtB(forged), code("BAD_TAG"));
  // The old anonymous box, which anyone could make, is not an envelope at all.
  assert.throws(() => openAtB(seal(b.publicKey, new Uint8Array(64))), code("ENVELOPE_INVALID"));
});

Deno.test("a blob sealed by clinic-a but presented as clinic-c's is refused", () => {
  const blob = fromA(new Uint8Array(100).fill(1));
  const relabelled = blob.slice();
  relabelled.set(new TextEncoder().encode("clinic-c"), 6); // same length: the header still parses
  assert.equal(readEnvelopeHeader(relabelled).header.sender, "clinic-c");
  assert.throws(() => openAtB(relabelled), code("BAD_TAG"));
  // And with the original header, the sender's key is what the peers file says it is.
  const wrongBook = new Map([["clinic-a", c.publicKey]]);
  assert.throws(
    () =>
      openEnvelope({
        recipient: b,
        recipientName: "clinic-b",
        run,
        senderKey: (n) => wrongBook.get(n),
        blob,
      }),
    code("BAD_TAG"),
  );
});

Deno.test("recipient, run, sender and context are checked", () => {
  const blob = fromA(new Uint8Array(10));
  assert.throws(
    () =>
      openEnvelope({
        recipient: c,
        recipientName: "clinic-c",
        run,
        senderKey: (n) => peers.get(n),
        blob,
      }),
    code("WRONG_RECIPIENT"),
  );
  assert.throws(() => openAtB(blob, undefined, c), code("BAD_TAG")); // right name, wrong key
  assert.throws(
    () =>
      openEnvelope({
        recipient: b,
        recipientName: "clinic-b",
        run: runId(b.publicKey),
        senderKey: (n) => peers.get(n),
        blob,
      }),
    code("WRONG_RUN"),
  );
  assert.throws(
    () =>
      openEnvelope({
        recipient: b,
        recipientName: "clinic-b",
        run,
        senderKey: () => undefined,
        blob,
      }),
    code("UNKNOWN_PEER"),
  );
  const ctx = new TextEncoder().encode("mode=vanilla");
  const withCtx = fromA(new Uint8Array(10), { context: ctx });
  assert.deepEqual(openAtB(withCtx, ctx).plaintext, new Uint8Array(10));
  assert.throws(() => openAtB(withCtx, new TextEncoder().encode("mode=ushaped")), code("BAD_TAG"));
  assert.throws(() => openAtB(withCtx), code("BAD_TAG"));
});

Deno.test("epoch and seq cannot be edited (a rollback needs an old blob, which the caller refuses)", () => {
  const blob = fromA(new Uint8Array(10), { epoch: 1, seq: 3 });
  const { headerLength } = readEnvelopeHeader(blob);
  // Last byte of epoch, of seq (authenticated by the handshake), of the length (size check).
  for (
    const [at, want] of [[headerLength - 17, "BAD_TAG"], [headerLength - 9, "BAD_TAG"], [
      headerLength - 1,
      "ENVELOPE_INVALID",
    ]] as const
  ) {
    const edited = blob.slice();
    edited[at] ^= 1;
    assert.throws(() => openAtB(edited), code(want), `byte ${at}`);
  }
});

Deno.test("every flipped bit of the body, and any truncation or extension, is refused", () => {
  const blob = fromA(new Uint8Array(ENVELOPE_CHUNK + 40));
  const { headerLength } = readEnvelopeHeader(blob);
  for (
    const at of [
      headerLength,
      headerLength + 31,
      headerLength + 40,
      headerLength + 48,
      headerLength + ENVELOPE_CHUNK + 60,
      blob.length - 1,
    ]
  ) {
    const flipped = blob.slice();
    flipped[at] ^= 0x80;
    assert.throws(() => openAtB(flipped), code("BAD_TAG"), `byte ${at}`);
  }
  assert.throws(() => openAtB(blob.subarray(0, blob.length - 1)), code("ENVELOPE_INVALID"));
  assert.throws(() => openAtB(blob.subarray(0, headerLength + 48)), code("ENVELOPE_INVALID"));
  const longer = new Uint8Array(blob.length + 1);
  longer.set(blob);
  assert.throws(() => openAtB(longer), code("ENVELOPE_INVALID"));
});

Deno.test("random bytes never pass the header check", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      assert.throws(() => readEnvelopeHeader(bytes), code("ENVELOPE_INVALID"));
    }),
    { numRuns: 300 },
  );
});

Deno.test("the body is a plain Noise K message and transport messages (opens with HandshakeState)", () => {
  const pt = new Uint8Array(ENVELOPE_CHUNK + 3).map((_, i) => i);
  const blob = fromA(pt);
  const { headerLength } = readEnvelopeHeader(blob);
  const r = new HandshakeState({
    protocolName: ENVELOPE_PROTOCOL,
    initiator: false,
    prologue: blob.subarray(0, headerLength),
    staticKeyPair: b,
    remoteStaticKey: a.publicKey,
  });
  assert.equal(r.readMessage(blob.subarray(headerLength, headerLength + 48)).length, 0);
  const rx = r.split().receive!;
  const first = rx.decryptWithAd(
    new Uint8Array(0),
    blob.subarray(headerLength + 48, headerLength + 48 + ENVELOPE_CHUNK + 16),
  );
  const rest = rx.decryptWithAd(
    new Uint8Array(0),
    blob.subarray(headerLength + 48 + ENVELOPE_CHUNK + 16),
  );
  assert.deepEqual([...first, ...rest], [...pt]);
});

Deno.test("the cacophony vectors of the envelope's protocol (Noise_K_25519_ChaChaPoly_SHA256) pass", async () => {
  const doc = JSON.parse(
    await Deno.readTextFile(
      new URL("../../fixtures/vectors/noise-25519-chachapoly.json", import.meta.url),
    ),
  );
  const ks = (doc.vectors as { protocol_name: string; messages: { ciphertext: string }[] }[])
    .filter((v) => v.protocol_name === ENVELOPE_PROTOCOL);
  assert.ok(ks.length >= 1, `the vector file has ${ENVELOPE_PROTOCOL}`);
  for (const v of ks) {
    assert.deepEqual(runVector(v), { protocolName: ENVELOPE_PROTOCOL, status: "ok" });
  }
  // The check can fail: one flipped byte of the handshake message is a failed vector.
  const bad = structuredClone(ks[0]);
  const ct = bad.messages[0].ciphertext;
  bad.messages[0].ciphertext = (parseInt(ct.slice(0, 2), 16) ^ 1).toString(16).padStart(2, "0") +
    ct.slice(2);
  assert.equal(runVector(bad).status, "fail");
});
