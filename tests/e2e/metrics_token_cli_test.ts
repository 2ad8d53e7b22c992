/**
 * The server config's `metricsTokenFile`: resolved against the config's folder, read at
 * start (a short token stops the server with the file named), and `GET /metrics` answers the
 * server's own host with or without it.
 */
import assert from "node:assert/strict";
import { parseServerConfigFile } from "../../runtime/server/config_file.ts";
import { runTask } from "./cli_harness.ts";
import { makeWorld, startServerProcess } from "./split_harness.ts";

Deno.test("server: metricsTokenFile is read at start; a short token is refused, naming the file", async () => {
  const w = await makeWorld({ mode: "vanilla" });
  try {
    const config = JSON.parse(await Deno.readTextFile(w.serverConfigFile));
    assert.equal(parseServerConfigFile(JSON.stringify(config), w.root).metricsTokenFile, undefined);
    config.metricsTokenFile = "metrics.token";
    await Deno.writeTextFile(w.serverConfigFile, JSON.stringify(config));
    assert.equal(parseServerConfigFile(JSON.stringify(config), w.root).metricsTokenFile, `${w.root}/metrics.token`);

    await Deno.writeTextFile(`${w.root}/metrics.token`, "too-short\n");
    const bad = await runTask("server", ["--config", w.serverConfigFile]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /metricsTokenFile .*metrics\.token: expected a token of at least 32 characters/);
    assert.doesNotMatch(bad.stderr, /too-short/, "the refusal shows the token");

    await Deno.writeTextFile(`${w.root}/metrics.token`, "f".repeat(64) + "\n");
    const { child } = await startServerProcess(w);
    try {
      const res = await fetch(`http://127.0.0.1:${w.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^splitgate_steps_total\{clinic="clinic-a"\} 0$/m);
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  } finally {
    await w.remove();
  }
});
