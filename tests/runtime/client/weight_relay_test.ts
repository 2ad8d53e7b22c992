/**
 * Relayed weights prove who sealed them (docs/design/security_model.md): the recipient's raw side refuses a
 * blob forged with only its public key (what the relay server holds), a blob sealed by one
 * clinic and presented as another's, and an older or replayed blob (no rollback), also after
 * a restart from its checkpoint.
 */
import assert from "node:assert/strict";
import { openEnvelope, sealEnvelope } from "../../../crypto/seal/sealed_envelope.ts";
import { seal } from "../../../crypto/seal/sealed_box.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { isNoiseError } from "../../../crypto/errors.ts";
import { readNpz, writeNpz } from "../../../runtime/data/npz.ts";
import { LocalRawSide, type LocalRawSideConfig, RawSideError } from "../../../runtime/client/raw_side/mod.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { rawSideTestConfig } from "./fixture.ts";

const engine = await createEngine("wasm");
const ka = generateKeyPair(), kb = generateKeyPair(), kc = generateKeyPair();
const run = new Uint8Array(32).fill(7);
const peersOfB = new Map([["clinic-a", ka.publicKey], ["clinic-c", kc.publicKey]]);
const fromPeers = { run, peers: peersOfB };
const toB = { name: "clinic-b", publicKey: kb.publicKey };
const isCode = (code: string) => (e: unknown) => e instanceof RawSideError && e.code === code;

function side(clinic: string, over: Partial<LocalRawSideConfig> = {}): Promise<LocalRawSide> {
  const keyPair = { "clinic-a": ka, "clinic-b": kb, "clinic-c": kc }[clinic];
  return LocalRawSide.create(rawSideTestConfig(engine, "vanilla", { clinic, keyPair, ...over }));
}

Deno.test("relay: weights forged with only the recipient's public key are refused, nothing applied", async () => {
  const a = await side("clinic-a"), b = await side("clinic-b", { seed: 99 });
  try {
    const before = b.weights();
    // The server holds clinic-b's public key and knows every header field; it makes a blob of
    // weights of its choice "from clinic-a" for the next epoch: here clinic-a's own state with
    // one weight changed, which clinic-b would load if it opened.
    const context = new TextEncoder().encode("splitgate/clinic-weights/v2;mode=vanilla");
    const state = readNpz(
      openEnvelope({
        recipient: kb,
        recipientName: "clinic-b",
        run,
        senderKey: () => ka.publicKey,
        blob: await a.exportWeights(toB, { run, epoch: 0 }),
        context,
      }).plaintext,
      "state",
    );
    const [name, t] = [...state].find(([, t]) => t.dtype === "float32" && t.data.length > 0)!;
    (t.data as Float32Array)[0] += 1;
    state.set(name, t);
    const forgedState = writeNpz(state);
    const forger = generateKeyPair();
    const forged = sealEnvelope({
      sender: forger,
      recipientPublicKey: kb.publicKey,
      header: { sender: "clinic-a", recipient: "clinic-b", run, epoch: 5, seq: 50 },
      plaintext: forgedState,
      context,
    });
    await assert.rejects(b.importWeights(forged, fromPeers), (e) => isNoiseError(e, "BAD_TAG"));
    // What a relay could forge before: an anonymous box to clinic-b's key.
    await assert.rejects(b.importWeights(seal(kb.publicKey, forgedState, context), fromPeers), (e) => isNoiseError(e, "ENVELOPE_INVALID"));
    assert.deepEqual(b.weights(), before);
    // clinic-a's real blob opens
    const real = await a.exportWeights(toB, { run, epoch: 0 });
    assert.deepEqual(await b.importWeights(real, fromPeers), { sender: "clinic-a", epoch: 0, seq: 2 });
    assert.deepEqual(b.weights(), a.weights());
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("relay: a blob sealed by clinic-a but presented as clinic-c's is refused", async () => {
  const a = await side("clinic-a"), b = await side("clinic-b", { seed: 99 });
  try {
    const before = b.weights();
    const blob = await a.exportWeights(toB, { run, epoch: 0 });
    const relabelled = blob.slice();
    relabelled.set(new TextEncoder().encode("clinic-c"), 6); // the sender name in the header
    await assert.rejects(b.importWeights(relabelled, fromPeers), (e) => isNoiseError(e, "BAD_TAG"));
    // a peers file that gives clinic-a's name clinic-c's key refuses the untouched blob too
    const swapped = { run, peers: new Map([["clinic-a", kc.publicKey]]) };
    await assert.rejects(b.importWeights(blob, swapped), (e) => isNoiseError(e, "BAD_TAG"));
    // another run's blob, or one from a sender missing from the peers file, is refused by name
    await assert.rejects(b.importWeights(blob, { run: new Uint8Array(32), peers: peersOfB }), (e) => isNoiseError(e, "WRONG_RUN"));
    await assert.rejects(b.importWeights(blob, { run, peers: new Map() }), (e) => isNoiseError(e, "UNKNOWN_PEER"));
    assert.deepEqual(b.weights(), before);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("relay: an older or replayed blob is refused (no rollback), also after a restart from the checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "relay_ledger_" });
  const a = await side("clinic-a");
  const b = await side("clinic-b", { seed: 99, checkpointDir: dir });
  try {
    const old = await a.exportWeights(toB, { run, epoch: 0 });
    // two rounds later clinic-a seals again
    const newer = await a.exportWeights(toB, { run, epoch: 2 });
    assert.deepEqual(await b.importWeights(newer, fromPeers), { sender: "clinic-a", epoch: 2, seq: 2 });
    const current = b.weights();
    await assert.rejects(
      b.importWeights(old, fromPeers),
      (e) => isCode("WEIGHTS_REPLAYED")(e) && /epoch 0 seq 1, not newer than the last accepted \(epoch 2 seq 2\)/.test((e as Error).message),
    );
    await assert.rejects(b.importWeights(newer, fromPeers), isCode("WEIGHTS_REPLAYED"));
    assert.deepEqual(b.weights(), current);
    // the ledger is saved with the checkpoint: a restarted clinic-b still refuses both
    await b.checkpoint(3);
    const sidecar = JSON.parse(await Deno.readTextFile(`${dir}/clinic-b.checkpoint.json`));
    assert.deepEqual(sidecar.relay, { seq: 0, accepted: { "clinic-a": { epoch: 2, seq: 2 } } });
    const restarted = await side("clinic-b", { seed: 42, checkpointDir: dir });
    try {
      assert.deepEqual(await restarted.restore(), { epoch: 3 });
      await assert.rejects(restarted.importWeights(old, fromPeers), isCode("WEIGHTS_REPLAYED"));
      await assert.rejects(restarted.importWeights(newer, fromPeers), isCode("WEIGHTS_REPLAYED"));
      // the sender's counter survives a restart too: a restarted clinic-a never reuses a seq
      const aDir = await Deno.makeTempDir({ prefix: "relay_seq_" });
      const a1 = await side("clinic-a", { checkpointDir: aDir });
      await a1.exportWeights(toB, { run, epoch: 4 });
      await a1.checkpoint(4);
      await a1.close();
      const a2 = await side("clinic-a", { checkpointDir: aDir });
      await a2.restore();
      const next = await a2.exportWeights(toB, { run, epoch: 4 });
      assert.deepEqual(await restarted.importWeights(next, fromPeers), { sender: "clinic-a", epoch: 4, seq: 2 });
      await a2.close();
      await Deno.remove(aDir, { recursive: true });
    } finally {
      await restarted.close();
    }
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("relay: a sidecar with a malformed relay ledger is refused, naming the field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "relay_sidecar_" });
  const b = await side("clinic-b", { checkpointDir: dir });
  try {
    await b.checkpoint(1);
    const path = `${dir}/clinic-b.checkpoint.json`;
    const meta = JSON.parse(await Deno.readTextFile(path));
    meta.relay.accepted = { "clinic-a": { epoch: -1, seq: 0 } };
    await Deno.writeTextFile(path, JSON.stringify(meta));
    await assert.rejects(b.restore(), (e) => isCode("CHECKPOINT_INVALID")(e) && /relay\.accepted\.clinic-a/.test((e as Error).message));
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
