/**
 * The command lines that read a study file: `deno task server` (`--study`, or the config's
 * `study` field; the study's fields may not be set twice, nor overridden by `--epochs`) and
 * `deno task study digest`, which prints the digest the server publishes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readServerArgs } from "../../../runtime/cli/server_args.ts";
import { UsageError } from "../../../runtime/cli/main.ts";
import { runTask } from "../../e2e/cli_harness.ts";

const STUDY = {
  id: "bc-1",
  mode: "vanilla",
  model: { name: "ehr", input: { tabular: { numeric: 0, vocabSizes: [3], codeVocab: 0 } } },
  loss: "bce",
  optimizer: { kind: "adam", lr: 0.001 },
  schedule: { epochs: 3, order: ["a", "b"] },
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

Deno.test("server args: a study file named by --study or config.study sets the training fields, once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = { serverKey: "s.key", allowlist: "a.json", checkpointDir: "ck" };
    await Deno.writeTextFile(join(dir, "study.json"), JSON.stringify(STUDY));
    await Deno.writeTextFile(
      join(dir, "server.json"),
      JSON.stringify({ ...base, study: "study.json" }),
    );
    const a = await readServerArgs(["--config", join(dir, "server.json"), "--new-study"]);
    assert.equal(a.study?.id, "bc-1");
    assert.equal(a.epochs, 3);
    assert.deepEqual(a.order, ["a", "b"]);
    assert.equal(a.model, "ehr");
    assert.equal(a.newStudy, true);
    assert.equal(a.serveFinished, false);
    // the same through --study, with a config that holds no training field
    await Deno.writeTextFile(join(dir, "plain.json"), JSON.stringify(base));
    const b = await readServerArgs([
      "--config",
      join(dir, "plain.json"),
      "--study",
      join(dir, "study.json"),
      "--serve-finished",
    ]);
    assert.equal(b.study?.digest, a.study?.digest);
    assert.equal(b.serveFinished, true);
    // a field set in both, or a schedule flag over a study
    await Deno.writeTextFile(
      join(dir, "both.json"),
      JSON.stringify({ ...base, study: "study.json", loss: "mse" }),
    );
    await assert.rejects(readServerArgs(["--config", join(dir, "both.json")]), {
      name: "UsageError",
      message: `${join(dir, "both.json")}: config.loss: set by the study file ${
        join(dir, "study.json")
      } (loss); remove it from the server config`,
    });
    await assert.rejects(
      readServerArgs(["--config", join(dir, "server.json"), "--epochs", "5"]),
      (e) =>
        e instanceof UsageError &&
        /^--epochs and --turns-per-epoch: the study file sets the schedule \(study bc-1\)/.test(
          e.message,
        ),
    );
    await Deno.writeTextFile(join(dir, "bad.json"), JSON.stringify({ ...STUDY, schedule: {} }));
    await assert.rejects(
      readServerArgs(["--config", join(dir, "plain.json"), "--study", join(dir, "bad.json")]),
      {
        name: "UsageError",
        message: `${
          join(dir, "bad.json")
        }: study.schedule.epochs: expected a positive integer (a study ends), got nothing`,
      },
    );
    // deno task study digest prints what the server publishes
    const r = await runTask("study", ["digest", join(dir, "study.json")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `bc-1 ${a.study!.digest}\n`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A server config without a study: a zoo model and its training fields. */
const CONFIG = {
  serverKey: "s.key",
  allowlist: "a.json",
  model: "cnn",
  data: { image: { channels: 1, size: 8 } },
  mode: "vanilla",
  loss: "bce",
  optimizer: { kind: "sgd", lr: 0.1 },
};

Deno.test("server args: replicas refuse a schedule they cannot run and --new-study, as usage errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = CONFIG;
    await Deno.writeTextFile(join(dir, "seq.json"), JSON.stringify(base));
    await Deno.writeTextFile(
      join(dir, "sf.json"),
      JSON.stringify({ ...base, schedule: "splitfed" }),
    );
    const nats = ["--nats", "nats://127.0.0.1:4222"];
    for (const role of ["front", "trainer"]) {
      await assert.rejects(
        readServerArgs(["--config", join(dir, "seq.json"), "--role", role, ...nats]),
        (e) =>
          e instanceof UsageError &&
          /schedule "sequential": replicas need schedule "splitfed"/.test(e.message),
      );
      await assert.rejects(
        readServerArgs(["--config", join(dir, "sf.json"), "--role", role, ...nats, "--new-study"]),
        (e) => e instanceof UsageError && /--new-study: not with --role/.test(e.message),
      );
      assert.equal(
        (await readServerArgs(["--config", join(dir, "sf.json"), "--role", role, ...nats])).role,
        role,
      );
    }
    // The single server is as before.
    assert.equal(
      (await readServerArgs(["--config", join(dir, "seq.json"), "--new-study"])).newStudy,
      true,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server args: schedule fields that do not fit together are a config error naming the file, before anything starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = CONFIG;
    const bad = [
      [{ serverBatch: "merge" }, /serverBatch "merge" needs schedule "parallel"/],
      [
        { schedule: "splitfed", serverBatch: "merge" },
        /serverBatch "merge" needs schedule "parallel"/,
      ],
      [
        { frontAggregation: "secagg" },
        /frontAggregation "secagg" needs schedule "parallel" or "splitfed"/,
      ],
    ] as const;
    for (const [fields, message] of bad) {
      const path = join(dir, "server.json");
      await Deno.writeTextFile(path, JSON.stringify({ ...base, ...fields }));
      await assert.rejects(
        readServerArgs(["--config", path]),
        (e) =>
          e instanceof UsageError && e.message.startsWith(`${path}: `) && message.test(e.message),
        JSON.stringify(fields),
      );
    }
    // the same fields where they fit
    await Deno.writeTextFile(
      join(dir, "ok.json"),
      JSON.stringify({ ...base, schedule: "parallel", serverBatch: "merge" }),
    );
    assert.equal((await readServerArgs(["--config", join(dir, "ok.json")])).serverBatch, "merge");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
