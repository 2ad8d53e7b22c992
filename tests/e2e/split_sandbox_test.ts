/**
 * The real launcher's permissions: the courier process — the one that talks to the network —
 * gets `NotCapable` reading the data directory and can reach the server; the raw-data process
 * gets `NotCapable` for `fetch` and `Deno.connect` and can read its records. The probe runs
 * with exactly the flags the launcher builds from a clinic config.
 */
import assert from "node:assert/strict";
import { courierCommandArgs, courierConfigOf, rawSideConfigOf } from "../../runtime/client/launcher.ts";
import { rawSideCommandArgs } from "../../runtime/client/raw_side/process.ts";
import { childEnv, DOWNLOAD_SINK } from "../../runtime/client/child_env.ts";
import { makeWorld } from "./split_harness.ts";

const PROBE = new URL("../runtime/client/probes/capability_probe.ts", import.meta.url).pathname;
const IMPORT_PROBE = new URL("../runtime/client/probes/import_probe.ts", import.meta.url).pathname;

/**
 * Replaces the entry point and its argument of a `deno run` argument list with the probe, run
 * in the environment the launcher gives that child.
 */
async function probeWith(
  args: string[],
  env: Record<string, string>,
  probeArgs: { read: string; write?: string; port: number },
) {
  const flags = args.slice(0, -2); // ["run", ...flags] without the main module and its config
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...flags, PROBE, JSON.stringify(probeArgs)],
    clearEnv: true,
    env,
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
    // fetch "ok": the courier's environment (download sink, NO_PROXY) still lets it reach its server
    const c = await probeWith(courier, childEnv({ courier: config.server }), { read: w.dataFile, write: `${w.dataDir}/x.txt`, port: w.port });
    assert.equal(c.read, "NotCapable");
    assert.equal(c.write, "NotCapable");
    assert.equal(c.fetch, "ok");
    for (const k of ["connectPort1", "listen", "command", "envGet", "dlopen", "sys"]) assert.equal(c[k], "NotCapable", `courier ${k}`);

    const raw = rawSideCommandArgs(rawSideConfigOf(config));
    for (const bad of ["--allow-net", "--allow-run", "--allow-ffi", "--allow-env", "--allow-sys", "-A", "--allow-all"]) {
      assert.ok(!raw.some((a) => a.startsWith(bad)), `raw side: ${bad}`);
    }
    const r = await probeWith(raw, childEnv("rawSide"), { read: w.dataFile, port: w.port });
    assert.equal(r.fetch, "NotCapable");
    assert.equal(r.connect, "NotCapable");
    assert.equal(r.read, "ok");
    for (const k of ["listen", "resolveDns", "command", "envGet", "dlopen", "sys"]) {
      assert.equal(r[k], "NotCapable", `raw side ${k}`);
    }
    // A loopback import is refused by the import permission; the default import hosts are not
    // (see the module-loading test below).
    assert.notEqual(r.dynamicImport, "ok");
  } finally {
    await http.shutdown();
    await w.remove();
  }
});

/** Data a compromised dependency would try to carry out in a module URL. */
const SECRET = "dfe1c2a9";
const REMOTE = [
  `https://deno.land/x/splitgate_${SECRET}/mod.ts`, // a default --allow-import host
  `jsr:@splitgate/leak-${SECRET}`,
];
const NPM = `npm:splitgate-leak-${SECRET}`;

/** A loopback TCP listener standing in for the download sink: records each request line. */
function recordingSink() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: string[] = [];
  const done = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(512);
      const n = await conn.read(buf).catch(() => null);
      seen.push(new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0]);
      conn.close();
    }
  })().catch(() => {});
  return { url: `http://127.0.0.1:${listener.addr.port}`, seen, close: async () => (listener.close(), await done) };
}

/** Runs the import probe with a child's flags (its entry point replaced) and a given environment. */
async function importWith(args: string[], env: Record<string, string>, specifiers: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args.slice(0, -2), IMPORT_PROBE, JSON.stringify(specifiers)],
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, string>;
}

Deno.test("split sandbox: module loading cannot carry data out of either child, even without --cached-only", async () => {
  const w = await makeWorld({ mode: "vanilla" });
  const sink = recordingSink();
  try {
    const config = w.clientConfigs[0];
    // The production flags less --cached-only, the one flag that stopped this before.
    const raw = rawSideCommandArgs(rawSideConfigOf(config), { cachedOnly: false });
    const courier = courierCommandArgs(courierConfigOf(config, "train")).filter((a) => a !== "--cached-only");
    assert.ok(!raw.includes("--cached-only") && !courier.includes("--cached-only"));
    for (const [who, args] of [["raw side", raw], ["courier", courier]] as const) {
      const r = await importWith(args, childEnv(who === "raw side" ? "rawSide" : { courier: config.server }, {}), REMOTE);
      for (const s of REMOTE) {
        // Refused by Deno before any request (--no-remote), whatever the network.
        assert.match(r[s], /^TypeError: .*A remote specifier was requested: .*but --no-remote is specified/, `${who} ${s}`);
      }
    }
    // npm: no Deno 2.9 flag refuses it without refusing the children's own packages; their
    // downloads go to the download sink. Here the sink is a listener of ours, to see that the
    // request for the package reaches it (and so no other host): the import fails.
    assert.equal(new URL(DOWNLOAD_SINK).hostname, "127.0.0.1");
    for (const [who, args] of [["rawSide", raw], [{ courier: config.server }, courier]] as const) {
      const env = childEnv(who, {});
      assert.equal(env.HTTPS_PROXY, DOWNLOAD_SINK);
      for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]) env[k] = sink.url;
      sink.seen.length = 0;
      const n = await importWith(args, env, [NPM]);
      assert.match(n[NPM], /^TypeError: Failed loading https:\/\/registry\.npmjs\.org\/splitgate-leak-/);
      assert.ok(sink.seen.includes("CONNECT registry.npmjs.org:443 HTTP/1.1"), JSON.stringify(sink.seen));
    }
    // The production sink itself: the import fails there too (nothing listens on the discard
    // port). Its message alone would also fit a registry answering 404; that the request goes
    // to the sink and nowhere else is what the listener above shows.
    const p = await importWith(raw, childEnv("rawSide", {}), [NPM]);
    assert.match(p[NPM], /^TypeError: Failed loading https:\/\/registry\.npmjs\.org\/splitgate-leak-/);
    // --frozen: a child cannot add an entry to deno.lock, a file of the code folder
    assert.ok(raw.includes("--frozen") && courier.includes("--frozen"));
  } finally {
    await sink.close();
    await w.remove();
  }
});
