/**
 * The study on the server: `STUDY` publishes the definition it was started with (or none);
 * once the last epoch is done the server writes `final/metrics.json` and
 * `final/server_segment.npz`, counts the clinics that leave, and may stop when all have left
 * or none was heard from for the idle time. The checkpoint directory names its study: a new
 * id or `--new-study` keeps the former state under `studies/`, a changed definition under the
 * same id is refused naming the field.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readNpz } from "../../../runtime/data/npz.ts";
import { sealEnvelope } from "../../../crypto/seal/sealed_envelope.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { publishStudy, receiveStudy } from "../../../runtime/study/published_study.ts";
import { prepareStudyFolder } from "../../../runtime/server/study_folder.ts";
import { binaryLabels, CUT_DIMS, randomTensor, RawClinic, startServer } from "./harness.ts";

const step = (id: string, seed: number) =>
  ({
    type: "STEP",
    stepId: id,
    epoch: Number(id.split(":")[0]),
    activation: randomTensor([4, ...CUT_DIMS], seed),
    labels: binaryLabels(4),
  }) as const;

Deno.test("STUDY publishes the server's study; without one, an empty id and no definition", async () => {
  const study = publishStudy({ id: "s1", schedule: { epochs: 1 } });
  const server = await startServer("vanilla", { study });
  const plain = await startServer("vanilla");
  try {
    const r = await (await new RawClinic(server, "a").connect()).send({ type: "STUDY" });
    assert.equal(r.type, "STUDY_RESULT");
    if (r.type !== "STUDY_RESULT") return;
    assert.deepEqual(receiveStudy(r.id, r.digest, r.definition!), study);
    assert.deepEqual(await (await new RawClinic(plain, "a").connect()).send({ type: "STUDY" }), {
      type: "STUDY_RESULT",
      id: "",
      digest: "",
    });
  } finally {
    await server.close();
    await plain.close();
  }
});

Deno.test("study end: final files at the last TURN_DONE, LEAVE counted, stop when all have left or on silence", async () => {
  const dir = await Deno.makeTempDir();
  let t = 1_000;
  const log: string[] = [];
  const study = publishStudy({ id: "s1", schedule: { epochs: 1 } });
  const server = await startServer("vanilla", { epochs: 1, checkpointDir: dir, study }, {
    now: () => t,
    log,
  });
  try {
    const [a, b] = await Promise.all(["a", "b"].map((n) => new RawClinic(server, n).connect()));
    // before the end a LEAVE changes nothing
    assert.deepEqual(await a.send({ type: "LEAVE" }), {
      type: "LEAVE_RESULT",
      finished: false,
      waitingFor: ["a", "b"],
    });
    await a.send(step("0:0", 1));
    await a.send({
      type: "TURN_DONE",
      epoch: 0,
      lastStepId: "0:0",
      sealedWeights: { b: blob("a", "b") },
    });
    await assert.rejects(Deno.stat(join(dir, "final")), Deno.errors.NotFound);
    assert.equal(server.end.stopReason(t, 60_000), null);
    await b.send(step("0:0", 2));
    await b.send(step("0:1", 3));
    await b.send({
      type: "TURN_DONE",
      epoch: 0,
      lastStepId: "0:1",
      sealedWeights: { a: blob("b", "a") },
    });
    assert.equal(server.schedule.finished, true);
    const m = JSON.parse(await Deno.readTextFile(join(dir, "final", "metrics.json")));
    assert.deepEqual(m.study, { id: "s1", digest: study.digest });
    assert.equal(m.totalSteps, 3);
    assert.deepEqual(m.clinics.map((c: { name: string; steps: number }) => [c.name, c.steps]), [[
      "a",
      1,
    ], ["b", 2]]);
    assert.equal(m.epochs, 1);
    assert.equal(m.meanLossByRound.length, 1);
    assert.equal(typeof m.meanLossByRound[0], "number");
    const segment = readNpz(await Deno.readFile(join(dir, "final", "server_segment.npz")));
    const exported = server.model.exportState();
    for (const [k, v] of segment) {
      assert.deepEqual(
        v.data,
        exported.get(`param/${k}`)?.data ?? exported.get(`buffer/${k}`)!.data,
        k,
      );
    }
    assert.ok(
      log.some((l) =>
        l.startsWith("study finished: final metrics and the server segment written to")
      ),
      log.join("\n"),
    );
    // leaving
    assert.equal(server.end.stopReason(t, 60_000), null);
    assert.deepEqual(await a.send({ type: "LEAVE" }), {
      type: "LEAVE_RESULT",
      finished: true,
      waitingFor: ["b"],
    });
    t += 59_999;
    assert.equal(server.end.stopReason(t, 60_000), null);
    t += 1;
    assert.equal(server.end.stopReason(t, 60_000), "idle", "b was silent for the whole idle time");
    assert.deepEqual(await b.send({ type: "LEAVE" }), {
      type: "LEAVE_RESULT",
      finished: true,
      waitingFor: [],
    });
    assert.equal(server.end.stopReason(t, 60_000), "all-left");
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("study folder: resume the same study; a new id or --new-study keeps the old state; a changed definition is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s1 = publishStudy({ id: "s1", schedule: { epochs: 2 }, data: { columns: ["age"] } });
    assert.match(
      (await prepareStudyFolder(dir, s1, false))!,
      /^study s1 \(sha256:[0-9a-f]{64}\): a fresh start in /,
    );
    await Deno.writeTextFile(join(dir, "server_checkpoint.npz"), "state of s1");
    await Deno.writeTextFile(join(dir, "handshake_timestamps.json"), "{}");
    assert.equal(await prepareStudyFolder(dir, s1, false), null, "the same study resumes");
    const changed = publishStudy({ id: "s1", schedule: { epochs: 3 }, data: { columns: ["age"] } });
    await assert.rejects(prepareStudyFolder(dir, changed, false), {
      message: new RegExp(
        `holds study s1 with another definition \\(schedule\\.epochs: 2 vs 3; stored vs study file\\)`,
      ),
    });
    await assert.rejects(prepareStudyFolder(dir, undefined, false), {
      message: /holds study s1: start the server with its study file/,
    });
    // a new id: s1's state is kept under studies/s1/, s2 starts afresh; the handshake timestamps stay
    const s2 = publishStudy({ id: "s2", schedule: { epochs: 1 } });
    assert.match(
      (await prepareStudyFolder(dir, s2, false))!,
      /^kept the former state in .*studies\/s1; study s2 .*: a fresh start$/,
    );
    assert.equal(
      await Deno.readTextFile(join(dir, "studies", "s1", "server_checkpoint.npz")),
      "state of s1",
    );
    assert.equal(
      JSON.parse(await Deno.readTextFile(join(dir, "studies", "s1", "study.json"))).id,
      "s1",
    );
    assert.equal(await Deno.readTextFile(join(dir, "handshake_timestamps.json")), "{}");
    assert.equal(JSON.parse(await Deno.readTextFile(join(dir, "study.json"))).id, "s2");
    await assert.rejects(Deno.stat(join(dir, "server_checkpoint.npz")), Deno.errors.NotFound);
    // --new-study with the same id: kept under studies/s2/; then again: studies/s2-2/
    await Deno.writeTextFile(join(dir, "server_checkpoint.npz"), "state of s2");
    await prepareStudyFolder(dir, s2, true);
    await Deno.writeTextFile(join(dir, "server_checkpoint.npz"), "state of s2 again");
    await prepareStudyFolder(dir, s2, true);
    assert.equal(
      await Deno.readTextFile(join(dir, "studies", "s2", "server_checkpoint.npz")),
      "state of s2",
    );
    assert.equal(
      await Deno.readTextFile(join(dir, "studies", "s2-2", "server_checkpoint.npz")),
      "state of s2 again",
    );
    // a run without a study file, then a study: refused unless --new-study
    const legacy = await Deno.makeTempDir();
    await Deno.writeTextFile(join(legacy, "server_checkpoint.npz"), "old run");
    await assert.rejects(prepareStudyFolder(legacy, s1, false), {
      message: /holds a run without a study definition: start with --new-study/,
    });
    await prepareStudyFolder(legacy, s1, true);
    assert.equal(
      await Deno.readTextFile(join(legacy, "studies", "unnamed", "server_checkpoint.npz")),
      "old run",
    );
    await Deno.remove(legacy, { recursive: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A sealed envelope from `from` to `to` at epoch 0 (the relay checks its header). */
function blob(from: string, to: string): Uint8Array {
  const header = { sender: from, recipient: to, run: new Uint8Array(32), epoch: 0, seq: 1 };
  return sealEnvelope({
    sender: generateKeyPair(),
    recipientPublicKey: generateKeyPair().publicKey,
    header,
    plaintext: new Uint8Array(8),
  });
}
