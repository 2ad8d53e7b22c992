/**
 * `deno task client` gives up its `run` permission once both children run, in training and in
 * predict (`revokeRun`): from then on the launcher, which relays between the raw-data process
 * and the courier, can start nothing else. With `--verbose` the launcher says so; this test
 * reads that line from both paths of the real command.
 */
import assert from "node:assert/strict";
import { runTask } from "./cli_harness.ts";
import { makeWorld, startInProcessServer } from "./split_harness.ts";

const GIVEN_UP = (name: string) => new RegExp(`^\\[${name}\\] launcher: run permission given up \\(children \\d+, \\d+\\)$`, "m");

Deno.test("deno task client gives up its run permission once its children run, training and predicting", async () => {
  const w = await makeWorld({ mode: "vanilla", n: 32, epochs: 1, batchSize: 8 });
  const server = await startInProcessServer(w);
  try {
    const [a, b] = await Promise.all(
      ["clinic-a", "clinic-b"].map((c) => runTask("client", ["--config", `${w.root}/${c}.json`, "--verbose"], {}, 240_000)),
    );
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.match(a.stdout, GIVEN_UP("clinic-a"));
    assert.match(b.stdout, GIVEN_UP("clinic-b"));
    const out = `${w.root}/pred.csv`;
    const p = await runTask("client", ["predict", "--config", `${w.root}/clinic-a.json`, "--input", w.dataFile, "--out", out, "--verbose"], {}, 240_000);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout + p.stderr, GIVEN_UP("clinic-a")); // predict logs to stderr
  } finally {
    await server.stop();
    await w.remove();
  }
});
