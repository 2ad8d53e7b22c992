/** Round-robin turns, offline skipping, relayed sealed weights, checkpoints and resume. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CHECKPOINT_FILE, readCheckpoint, TurnSchedule, writeCheckpoint } from "../../../runtime/server/mod.ts";
import { tensor } from "../../../models/tensor.ts";
import { HANDSHAKE_TIMESTAMPS_FILE } from "../../../runtime/server/handshake_timestamps.ts";
import { sealEnvelope } from "../../../crypto/seal/sealed_envelope.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { assertError, binaryLabels, CUT_DIMS, paramsSnapshot, randomTensor, RawClinic, startServer } from "./harness.ts";

// Relayed blobs are sealed envelopes (the server checks their header); one per (n, from, to),
// so a blob compares equal to itself after the relay.
const blobs = new Map<string, Uint8Array>();
const blob = (n: number, from: string, to: string) => {
  const key = `${n}/${from}/${to}`;
  if (!blobs.has(key)) {
    const header = { sender: from, recipient: to, run: new Uint8Array(32), epoch: 0, seq: n };
    const plaintext = Uint8Array.from({ length: 60 }, (_, i) => (i * n) & 255);
    blobs.set(key, sealEnvelope({ sender: generateKeyPair(), recipientPublicKey: generateKeyPair().publicKey, header, plaintext }));
  }
  return blobs.get(key)!;
};
const step = (id: string, seed: number) => ({
  type: "STEP",
  stepId: id,
  epoch: Number(id.split(":")[0]),
  activation: randomTensor([4, ...CUT_DIMS], seed),
  labels: binaryLabels(4),
}) as const;

Deno.test("TurnSchedule: order, epochs, skipping a silent holder", () => {
  const s = new TurnSchedule(["a", "b", "c"], { timeoutMs: 100, epochs: 2 }, 0);
  assert.equal(s.poll("b", 50).turn, "a");
  assert.deepEqual(s.finishTurn("a", 60), { skipped: [], epochsEnded: [] });
  assert.equal(s.holder, "b");
  s.seen("b", 150); // activity resets the holder's clock
  assert.equal(s.poll("c", 200).turn, "b");
  const ev = s.poll("c", 300);
  assert.deepEqual(ev, { turn: "c", skipped: ["b"], epochsEnded: [] });
  assert.deepEqual(s.finishTurn("c", 310).epochsEnded, [0]);
  assert.deepEqual(s.state, { epoch: 1, index: 0 });
  s.finishTurn("a", 320);
  s.finishTurn("b", 330);
  s.finishTurn("c", 340);
  assert.equal(s.finished, true);
  assert.equal(s.holder, null);
  assert.throws(() => new TurnSchedule([], { timeoutMs: 1 }, 0), RangeError);
  assert.throws(() => s.restore({ epoch: 0, index: 3 }, 0), RangeError);
});

Deno.test("turns: TURN_DONE relays blobs to every other clinic; an offline clinic is skipped", async () => {
  let clock = 0;
  const log: string[] = [];
  const dir = await Deno.makeTempDir();
  const server = await startServer("vanilla", { checkpointDir: dir }, { names: ["a", "b", "c"], now: () => clock, log });
  try {
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((n) => new RawClinic(server, n).connect()));
    const t = await a.send({ type: "TURN_REQUEST" });
    assert.deepEqual(t, { type: "TURN", turn: "a", yours: true, epoch: 0, finished: false, lastStepId: null, order: ["a", "b", "c"], loss: "bce" });
    assert.equal((await a.send(step("0:0", 1))).type, "STEP_RESULT");
    assert.equal((await a.send(step("0:1", 2))).type, "STEP_RESULT");
    assert.equal((await a.send({ type: "TURN_REQUEST" }) as { lastStepId: string }).lastStepId, "0:1");
    // a TURN_DONE must seal to every other clinic
    await assertError(await a.post(a.body({ type: "TURN_DONE", epoch: 0, lastStepId: "0:1", sealedWeights: { b: blob(1, "a", "b") } })), 400, "BAD_MESSAGE");
    await assertError(
      await a.post(a.body({ type: "TURN_DONE", epoch: 0, lastStepId: "0:1", sealedWeights: { b: blob(1, "a", "b"), c: blob(2, "a", "c"), a: blob(3, "a", "a") } })),
      400,
      "BAD_MESSAGE",
    );
    const doneReq = { type: "TURN_DONE", epoch: 0, lastStepId: "0:1", sealedWeights: { b: blob(1, "a", "b"), c: blob(2, "a", "c") } } as const;
    const done = await a.send(doneReq);
    assert.deepEqual(done, { type: "TURN_DONE_RESULT", epoch: 0, next: "b" });
    assert.deepEqual(await a.send(doneReq), done, "a retried TURN_DONE does not advance twice");
    assert.equal(server.schedule.holder, "b");
    // b stays silent past the timeout; c asks and gets the turn
    clock = 500;
    assert.equal((await c.send({ type: "TURN_REQUEST" }) as { turn: string }).turn, "b");
    clock = 1600;
    const tc = await c.send({ type: "TURN_REQUEST" });
    assert.deepEqual(tc, { type: "TURN", turn: "c", yours: true, epoch: 0, finished: false, lastStepId: null, order: ["a", "b", "c"], loss: "bce" });
    assert.ok(log.includes("clinic b offline, skipped"), log.join("\n"));
    // c can open what a sealed to it; a gets nothing back of its own
    const wc = await c.send({ type: "FETCH_WEIGHTS" });
    assert.deepEqual(wc, { type: "WEIGHTS", from: "a", seq: 1, sealedWeights: blob(2, "a", "c") });
    assert.deepEqual(await a.send({ type: "FETCH_WEIGHTS" }), { type: "WEIGHTS", from: "a", seq: 1 });
    // b comes back: its step is refused, the turn is c's
    await assertError(await b.post(b.body(step("0:0", 3))), 409, "NOT_YOUR_TURN");
    assert.equal((await c.send(step("0:0", 4))).type, "STEP_RESULT");
    const cd = await c.send({ type: "TURN_DONE", epoch: 0, lastStepId: "0:0", sealedWeights: { a: blob(4, "c", "a"), b: blob(5, "c", "b") } });
    assert.deepEqual(cd, { type: "TURN_DONE_RESULT", epoch: 1, next: "a" });
    assert.ok(log.includes("epoch 1 done"), log.join("\n")); // the data epoch, 1-based (it said "epoch 0")
    await assertError(await a.post(a.body(step("0:2", 5))), 409, "WRONG_EPOCH");
    const st = server.status();
    assert.deepEqual(st.clinics.map((x) => x.steps), [2, 0, 1]);
    assert.equal(st.epoch, 1);
    assert.equal(st.turn, "a");
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint: written atomically after each turn, resumed by a new server", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = { checkpointDir: dir, optimizer: { kind: "adam" as const, lr: 0.01 } };
  const first = await startServer("vanilla", cfg);
  let weights: Map<string, Float32Array>;
  let doneReply;
  const doneReq = { type: "TURN_DONE", epoch: 0, lastStepId: "0:1", sealedWeights: { b: blob(7, "a", "b") } } as const;
  try {
    assert.equal(first.resumed, false);
    const a = await new RawClinic(first, "a").connect();
    await a.send(step("0:0", 1));
    await a.send(step("0:1", 2));
    assert.equal(await readCheckpoint(dir), null, "no checkpoint before the first turn ends");
    doneReply = await a.send(doneReq);
    weights = await paramsSnapshot(first);
    // Beside the checkpoint only the handshake timestamps and the study's metrics log, no temp file.
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      [CHECKPOINT_FILE, HANDSHAKE_TIMESTAMPS_FILE, "metrics.jsonl"].sort(),
      "no temp file left",
    );
    const ck = (await readCheckpoint(dir))!;
    assert.deepEqual((ck.meta as { schedule: unknown }).schedule, { epoch: 0, index: 1 });
    assert.ok(ck.tensors.has("opt/steps"));
  } finally {
    await first.close();
  }
  const second = await startServer("vanilla", cfg);
  try {
    assert.equal(second.resumed, true);
    assert.deepEqual(await paramsSnapshot(second), weights);
    assert.equal(second.model.optimizer.steps, 2);
    assert.equal(second.schedule.holder, "b");
    const a = await new RawClinic(second, "a").connect();
    // the reply of the last TURN_DONE survives the restart: a retry is answered, not re-applied
    assert.deepEqual(await a.send(doneReq), doneReply);
    assert.equal(second.schedule.holder, "b");
    const b = await new RawClinic(second, "b").connect();
    assert.deepEqual(await b.send({ type: "FETCH_WEIGHTS" }), { type: "WEIGHTS", from: "a", seq: 1, sealedWeights: blob(7, "a", "b") });
    assert.equal(second.status().step, 2);
  } finally {
    await second.close();
  }
  // a checkpoint of another mode is refused
  await assert.rejects(startServer("ushaped", cfg), /not a version 1 ushaped server checkpoint/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TURN_DONE after a crash before its checkpoint: refused on the rolled-back state, the redone turn is accepted", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = { checkpointDir: dir };
  const first = await startServer("vanilla", cfg);
  let turnStart: Map<string, Float32Array>;
  try {
    const a = await new RawClinic(first, "a").connect();
    await a.send(step("0:0", 1));
    // a TURN_DONE that claims fewer or more steps than the server applied is refused
    await assertError(
      await a.post(a.body({ type: "TURN_DONE", epoch: 0, lastStepId: null, sealedWeights: { b: blob(1, "a", "b") } })),
      409,
      "STEP_OUT_OF_ORDER",
    );
    await assertError(
      await a.post(a.body({ type: "TURN_DONE", epoch: 0, lastStepId: "0:1", sealedWeights: { b: blob(1, "a", "b") } })),
      409,
      "STEP_OUT_OF_ORDER",
    );
    assert.equal(first.schedule.holder, "a", "a refused TURN_DONE does not end the turn");
    await a.send({ type: "TURN_DONE", epoch: 0, lastStepId: "0:0", sealedWeights: { b: blob(1, "a", "b") } });
    turnStart = await paramsSnapshot(first); // what the checkpoint at the start of b's turn holds
    const b = await new RawClinic(first, "b").connect();
    await b.send(step("0:0", 2));
    await b.send(step("0:1", 3));
    // the server dies here: after b's last step, before b's TURN_DONE is checkpointed
  } finally {
    await first.close();
  }
  const second = await startServer("vanilla", cfg);
  try {
    assert.equal(second.resumed, true);
    assert.deepEqual(await paramsSnapshot(second), turnStart, "the restarted server stands at the start of b's turn");
    const b = await new RawClinic(second, "b").connect();
    const retried = { type: "TURN_DONE", epoch: 0, lastStepId: "0:1", sealedWeights: { a: blob(2, "b", "a") } } as const;
    await assertError(await b.post(b.body(retried)), 409, "STEP_OUT_OF_ORDER");
    assert.equal(second.schedule.holder, "b", "the turn is not ended on the rolled-back state");
    assert.equal(second.schedule.epoch, 0);
    // what the clinic does next (clinic.ts): ask where the server stands, roll back, redo the turn
    assert.deepEqual(await b.send({ type: "TURN_REQUEST" }), {
      type: "TURN",
      turn: "b",
      yours: true,
      epoch: 0,
      finished: false,
      lastStepId: null,
      order: ["a", "b"],
      loss: "bce",
    });
    await b.send(step("0:0", 2));
    await b.send(step("0:1", 3));
    assert.deepEqual(await b.send(retried), { type: "TURN_DONE_RESULT", epoch: 1, next: "a" });
    assert.equal(second.status().step, 3, "a's one step and b's two redone steps, each applied once");
    assert.notDeepEqual(await paramsSnapshot(second), turnStart, "b's steps are in the weights");
  } finally {
    await second.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeCheckpoint replaces the file by rename; a stale temp never shadows it", async () => {
  const dir = await Deno.makeTempDir();
  await writeCheckpoint(dir, { meta: { n: 1 }, tensors: new Map([["x", tensor("float32", [1], new Float32Array([1]))]]) });
  const inode1 = (await Deno.stat(join(dir, CHECKPOINT_FILE))).ino;
  await Deno.writeTextFile(join(dir, `.${CHECKPOINT_FILE}.crashed.tmp`), "half-written"); // a crash mid-write
  await writeCheckpoint(dir, { meta: { n: 2 }, tensors: new Map() });
  const ck = (await readCheckpoint(dir))!;
  assert.deepEqual(ck.meta, { n: 2 });
  assert.equal(ck.tensors.size, 0);
  const inode2 = (await Deno.stat(join(dir, CHECKPOINT_FILE))).ino;
  if (inode1 !== null && inode2 !== null) assert.notEqual(inode1, inode2, "a new file was renamed over the old one");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readCheckpoint refuses a damaged checkpoint, naming the array, and leaves the file as it is", async () => {
  const dir = await Deno.makeTempDir();
  const n = 20_000;
  await writeCheckpoint(dir, { meta: { n: 1 }, tensors: new Map([["param/w", tensor("float32", [n], Float32Array.from({ length: n }, (_, i) => Math.cos(i)))]]) });
  const path = join(dir, CHECKPOINT_FILE);
  const bytes = await Deno.readFile(path);
  // A disk error in the middle of the largest array: without the CRC-32 check it may inflate.
  for (let i = 0; i < 64; i++) bytes[Math.floor(bytes.length / 2) + i] = 0;
  await Deno.writeFile(path, bytes);
  await assert.rejects(readCheckpoint(dir), /server_checkpoint\.npz: array 'param\/w' fails its CRC-32 check/);
  assert.deepEqual(await Deno.readFile(path), bytes, "the damaged file is kept for the operator");
  await Deno.remove(dir, { recursive: true });
});
