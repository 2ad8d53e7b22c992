/**
 * A clinic checks the server's study before its first step: against the digest its config
 * pins, the study its state folder holds (naming the first field that changed), its own
 * config's mode, loss, turns per epoch and defences, and refuses a first run with neither pin
 * nor stored study unless the operator trusts it (`--trust-study`). In-process: the gate
 * alone, then `runClinic` against a server running a study, refused before any step.
 */
import assert from "node:assert/strict";
import { ClinicError } from "../../../runtime/client/clinic_error.ts";
import { checkServerStudy, type StudyGate } from "../../../runtime/client/study_gate.ts";
import { runClinic } from "../../../runtime/client/clinic.ts";
import { LocalRawSide } from "../../../runtime/client/raw_side/mod.ts";
import { ServerConnection } from "../../../runtime/client/server_connection.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import { runId } from "../../../crypto/seal/sealed_envelope.ts";
import { publishStudy } from "../../../runtime/study/published_study.ts";
import type { StudyResultMessage } from "../../../runtime/protocol/mod.ts";
import {
  CLINIC_KEYS,
  SERVER_KEYS,
  startServer,
  testEngine,
  tinyConfig,
} from "../server/harness.ts";
import { tinySplits } from "./fixture.ts";

const DEF = {
  id: "s1",
  mode: "vanilla",
  loss: "bce",
  schedule: { epochs: 2, turnsPerEpoch: 1 },
  defences: { clinic: { noise: { clip: 8, sigma: 0.05 } } },
  data: {
    kind: "table",
    label: { column: "diagnosis", positive: "M", negative: "B" },
    missingTokens: [],
    columns: [{
      name: "sex",
      type: "categorical",
      categories: ["F", "M"],
      unknown: "refuse",
      missing: "other",
    }],
  },
};
const study = publishStudy(DEF);
const reply = (p = study): StudyResultMessage => ({
  type: "STUDY_RESULT",
  id: p.id,
  digest: p.digest,
  definition: new TextEncoder().encode(p.text),
});
const refused = (code: string, message: string | RegExp) => ({
  name: "ClinicError",
  code,
  message,
});

Deno.test("study gate: pin, stored study, first use and the clinic's own config", () => {
  const local = {
    mode: "vanilla",
    loss: "bce",
    turnsPerEpoch: 1,
    defence: { noise: { clip: 8, sigma: 0.05 } },
  };
  assert.equal(checkServerStudy(reply(), { pin: study.digest, local })?.id, "s1");
  assert.equal(checkServerStudy(reply(), { trustFirstUse: true })?.digest, study.digest);
  assert.throws(
    () => checkServerStudy(reply(), { pin: "sha256:" + "0".repeat(64) }),
    refused(
      "STUDY_MISMATCH",
      `config.study pins sha256:${
        "0".repeat(64)
      }, but the server's study s1 has digest ${study.digest}`,
    ),
  );
  assert.throws(
    () => checkServerStudy(reply(), {}),
    refused(
      "STUDY_MISMATCH",
      new RegExp(
        `^the server runs study s1 \\(${study.digest}\\) and this clinic pins none: set "study": "${study.digest}"`,
      ),
    ),
  );
  // the server changed the study since this clinic joined it: the field is named
  const changed = structuredClone(DEF);
  changed.data.columns[0].categories = ["F", "U"];
  const stored: StudyGate["stored"] = {
    id: "s1",
    digest: study.digest,
    definition: study.definition,
  };
  assert.throws(
    () => checkServerStudy(reply(publishStudy(changed)), { stored }),
    refused(
      "STUDY_MISMATCH",
      'study s1 changed since this clinic joined it: data.columns[0].categories[1]: "M" vs "U" (joined vs now); refusing before the first step',
    ),
  );
  assert.throws(
    () => checkServerStudy(reply(publishStudy({ ...DEF, id: "s2" })), { stored }),
    refused(
      "STUDY_MISMATCH",
      /^this clinic's state folder holds study s1; the server runs study s2: start this clinic with --new-study/,
    ),
  );
  assert.throws(
    () => checkServerStudy({ type: "STUDY_RESULT", id: "", digest: "" }, { stored }),
    refused(
      "STUDY_MISMATCH",
      /runs no study definition, but this clinic's state folder holds study s1/,
    ),
  );
  // a definition that does not hash to the digest announced
  assert.throws(
    () =>
      checkServerStudy({ ...reply(), digest: "sha256:" + "1".repeat(64) }, { trustFirstUse: true }),
    refused("STUDY_MISMATCH", /has digest sha256:[0-9a-f]{64}, but the server says sha256:1111/),
  );
  // this clinic's own config
  assert.throws(
    () => checkServerStudy(reply(), { pin: study.digest, local: { ...local, loss: "mse" } }),
    refused("CONFIG_MISMATCH", `study.loss is "bce"; this clinic's config.loss says "mse"`),
  );
  assert.throws(
    () => checkServerStudy(reply(), { pin: study.digest, local: { ...local, defence: {} } }),
    refused(
      "CONFIG_MISMATCH",
      `study.defences.clinic is {"noise":{"clip":8,"sigma":0.05}}; this clinic's config.defence says {}`,
    ),
  );
  assert.throws(
    () => checkServerStudy(reply(), { pin: study.digest, local: { ...local, turnsPerEpoch: 2 } }),
    refused("CONFIG_MISMATCH", /study\.schedule\.turnsPerEpoch is 1/),
  );
  // the clinic's declared data schema must be the study's
  const schema = structuredClone(DEF.data);
  assert.equal(
    checkServerStudy(reply(), { pin: study.digest, local: { ...local, dataSchema: schema } })?.id,
    "s1",
  );
  schema.columns[0].categories = ["F", "X"];
  assert.throws(
    () => checkServerStudy(reply(), { pin: study.digest, local: { ...local, dataSchema: schema } }),
    refused(
      "CONFIG_MISMATCH",
      `study.data and this clinic's config.dataSchema differ: data.columns[0].categories[1]: "M" vs "X" (study vs config); leave dataSchema out of the clinic config to take the study's`
        .replace("data.columns", "columns"),
    ),
  );
  // no study anywhere: the check passes (a server started without a study file)
  assert.equal(checkServerStudy({ type: "STUDY_RESULT", id: "", digest: "" }, {}), null);
});

Deno.test("runClinic with a study gate: a wrong pin is refused before the first step; the right one trains and leaves", async () => {
  const dir = await Deno.makeTempDir({ prefix: "study_gate_" });
  const server = await startServer("vanilla", {
    epochs: 1,
    study: publishStudy({ ...DEF, schedule: { epochs: 1 }, defences: {} }),
    limits: { maxBatch: 16, maxBodyBytes: 8 << 20 },
  }, { names: ["a"] });
  const cfg = tinyConfig("vanilla");
  const { model, cuts } = buildSplitModel(cfg.model, "vanilla", "bce");
  const engine = await testEngine();
  const side = await LocalRawSide.create({
    clinic: "a",
    data: tinySplits(),
    model,
    cuts,
    mode: "vanilla",
    loss: "bce",
    optimizer: cfg.optimizer,
    seed: 7,
    batchSize: 8,
    engine,
    checkpointDir: dir,
    keyPair: CLINIC_KEYS.a,
  });
  const conn = await ServerConnection.connect({
    url: "http://server:1",
    serverPublicKey: SERVER_KEYS.publicKey,
    clinicKeyPair: CLINIC_KEYS.a,
    fetch: ((url: string, init?: RequestInit) => server.app.request(url, init)) as typeof fetch,
  });
  const base = {
    side,
    conn,
    peers: new Map(),
    run: runId(SERVER_KEYS.publicKey),
    pollMs: 1,
    evaluate: [] as ("test")[],
  };
  try {
    await assert.rejects(
      runClinic({ ...base, study: { pin: "sha256:" + "0".repeat(64) } }),
      (e) => e instanceof ClinicError && e.code === "STUDY_MISMATCH",
    );
    assert.equal(server.status().step, 0, "refused before any step");
    const accepted: string[] = [];
    const lines: string[] = [];
    const expected = publishStudy({ ...DEF, schedule: { epochs: 1 }, defences: {} }).digest;
    const r = await runClinic({
      ...base,
      study: { pin: expected, onAccepted: (p) => accepted.push(p.digest) },
      leave: true,
      onEvent: (e) => lines.push(e.kind),
    });
    assert.deepEqual(accepted, [expected]);
    assert.equal(r.turns, 1);
    assert.deepEqual([lines[0], lines.at(-1)], ["study", "left"]);
    assert.equal(server.end.stopReason(Date.now(), 60_000), "all-left");
  } finally {
    conn.close();
    await side.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
