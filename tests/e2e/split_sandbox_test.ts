/**
 * The real launcher's permissions: the courier process — the one that talks to the network —
 * gets `NotCapable` reading the data directory and can reach the server; the raw-data process
 * gets `NotCapable` for `fetch` and `Deno.connect` and can read its records. The probe runs
 * with exactly the flags the launcher builds from a clinic config.
 */
import assert from "node:assert/strict";
import { courierCommandArgs, courierConfigOf, rawSideConfigOf } from "../../runtime/client/launcher.ts";
import { rawSideCommandArgs } from "../../runtime/client/raw_side/process.ts";
import { makeWorld } from "./split_harness.ts";

const PROBE = new URL("../runtime/client/probes/capability_probe.ts", import.meta.url).pathname;

/** Replaces the entry point and its argument of a `deno run` argument list with the probe. */
async function probeWith(args: string[], probeArgs: { read: string; write?: string; port: number }) {
  const flags = args.slice(0, -2); // ["run", ...flags] without the main module and its config
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...flags, PROBE, JSON.stringify(probeArgs)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, string>;
}

Deno.test("split sandbox: the launcher's courier cannot read the data dir; its raw side has no network", async () => {
  const w = await makeWorld({ mode: "vanilla" });
  const http = Deno.serve({ hostname: "127.0.0.1", port: w.port, onListen() {} }, () => new Response("ok"));
  try {
    const config = w.clientConfigs[0];
    const courier = courierCommandArgs(courierConfigOf(config, "train"));
    assert.ok(courier.includes(`--allow-net=127.0.0.1:${w.port}`));
    assert.ok(!courier.slice(0, -1).some((a) => a.includes(w.dataDir)), "courier flags must not name the data dir");
    for (const bad of ["--allow-run", "--allow-write", "--allow-ffi", "--allow-env", "--allow-sys", "-A", "--allow-all"]) {
      assert.ok(!courier.some((a) => a.startsWith(bad)), `courier: ${bad}`);
    }
    const c = await probeWith(courier, { read: w.dataFile, write: `${w.dataDir}/x.txt`, port: w.port });
    assert.equal(c.read, "NotCapable");
    assert.equal(c.write, "NotCapable");
    assert.equal(c.fetch, "ok");
    for (const k of ["connectPort1", "listen", "command", "envGet", "dlopen", "sys"]) assert.equal(c[k], "NotCapable", `courier ${k}`);

    const raw = rawSideCommandArgs(rawSideConfigOf(config));
    for (const bad of ["--allow-net", "--allow-run", "--allow-ffi", "--allow-env", "--allow-sys", "-A", "--allow-all"]) {
      assert.ok(!raw.some((a) => a.startsWith(bad)), `raw side: ${bad}`);
    }
    const r = await probeWith(raw, { read: w.dataFile, port: w.port });
    assert.equal(r.fetch, "NotCapable");
    assert.equal(r.connect, "NotCapable");
    assert.equal(r.read, "ok");
    for (const k of ["listen", "resolveDns", "command", "envGet", "dlopen", "sys"]) {
      assert.equal(r[k], "NotCapable", `raw side ${k}`);
    }
    // --cached-only refuses a module from the network before the permission check does.
    assert.notEqual(r.dynamicImport, "ok");
  } finally {
    await http.shutdown();
    await w.remove();
  }
});
