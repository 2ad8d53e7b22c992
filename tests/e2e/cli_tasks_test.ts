/**
 * The deno tasks as the README presents them: every task it names exists, and the tasks'
 * own permission flags (not `-A`) behave as documented.
 */
import assert from "node:assert/strict";
import { ownLines, ROOT, runCli, runTask } from "./cli_harness.ts";
import { makeWorld } from "./split_harness.ts";

Deno.test("every `deno task` the README names is a task of deno.json", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const tasks = new Set(Object.keys(JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks));
  const named = new Set([...readme.matchAll(/\bdeno(?:@[\d.]+)? task ([a-z][\w:-]*)/g)].map((m) => m[1]));
  assert.ok(named.has("demo") && named.has("test") && named.size > 10, `found ${[...named]}`);
  const missing = [...named].filter((t) => !tasks.has(t));
  assert.deepEqual(missing, [], `README names tasks deno.json lacks: ${missing.join(", ")}`);
});

Deno.test("deno task client: SPLITGATE_DEBUG=1 adds the stack to the one-line error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ mode: "sideways" }));
    const plain = await runTask("client", ["--config", `${dir}/bad.json`]);
    assert.equal(plain.code, 2, plain.stderr); // a config error is a usage error
    const lines = ownLines(plain.stderr).filter((l) => !l.startsWith("usage:"));
    assert.equal(lines.length, 1, plain.stderr);
    assert.match(lines[0], /^error: .*bad\.json: config\.server: /);
    const debug = await runTask("client", ["--config", `${dir}/bad.json`], { SPLITGATE_DEBUG: "1" });
    assert.equal(debug.code, 2, debug.stderr);
    assert.match(debug.stderr, /^\s+at .*runtime\/cli\/client\.ts:\d+/m, debug.stderr);
    assert.doesNotMatch(plain.stderr, /^\s+at /m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the server refuses at start-up a checkpoint directory it may not write", async () => {
  const w = await makeWorld({ mode: "vanilla" });
  try {
    // Started by hand with a grant that misses the config's checkpointDir.
    const r = await runCli("server.ts", ["--config", w.serverConfigFile], [
      "--allow-net", "--allow-read", `--allow-write=${w.root}/elsewhere`, "--allow-ffi", "--allow-sys", "--allow-env",
    ]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.doesNotMatch(r.stdout, /splitgate server .* on /, "it must not start listening");
    assert.match(
      r.stderr,
      new RegExp(`^error: checkpoint directory ${w.root}/server-ckpt: this process may not write there`, "m"),
    );
  } finally {
    await Deno.remove(w.root, { recursive: true });
  }
});

Deno.test("deno task server runs from another folder, with a relative --config and state outside the repository", async () => {
  const w = await makeWorld({ mode: "vanilla", clinics: ["clinic-a"], serverEngine: "wasm" });
  // As an operator would type it in the config's folder: deno task --config <install>/deno.json.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", new URL("deno.json", ROOT).pathname, "server", "--config", "server.json"],
    cwd: w.root,
    stdout: "piped",
    stderr: "piped",
    // deno task (like npm) sets INIT_CWD to the folder it was typed in unless it is set
    // already, and this test runs under a task that set it: name the folder as a shell would.
    env: { NO_COLOR: "1", INIT_CWD: w.root },
  }).spawn();
  const out = new Response(child.stdout).text(), err = new Response(child.stderr).text();
  try {
    let up = false;
    const t0 = Date.now();
    while (!up && Date.now() - t0 < 60_000) {
      try {
        const r = await fetch(`http://127.0.0.1:${w.port}/health`);
        up = r.ok;
        await r.body?.cancel();
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    if (!up) {
      try {
        child.kill("SIGKILL");
      } catch { /* it exited: its output says why */ }
      assert.fail(`the server did not come up: ${await out} ${await err}`);
    }
    // The launcher passes SIGTERM on (systemd's stop), and the server stops cleanly.
    child.kill("SIGTERM");
    const status = await child.status;
    const stdout = await out, stderr = await err;
    assert.equal(status.code, 0, stderr);
    assert.match(stdout, new RegExp(`^splitgate server listening on 127\\.0\\.0\\.1:${w.port} \\(key server, vanilla mode, wasm engine\\)`, "m"));
    // Its checkpoint directory (temp folder, not out/server) passed the start-up write check.
    assert.doesNotMatch(stderr, /may not write/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* stopped */ }
    await child.status;
    await Deno.remove(w.root, { recursive: true });
  }
});

Deno.test("deno task server from another folder names a missing config in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "--config", new URL("deno.json", ROOT).pathname, "server", "--config", "nope.json"],
      cwd: dir,
      env: { NO_COLOR: "1", INIT_CWD: dir },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.deepEqual(ownLines(stderr), ["error: --config nope.json: file not found"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task client refuses, before starting anything, outputs that would overwrite its files", async () => {
  const w = await makeWorld({ mode: "vanilla", clinics: ["clinic-a"] });
  try {
    const cfg = `${w.root}/clinic-a.json`, ck = `${w.root}/ckpt-clinic-a`;
    await Deno.mkdir(ck);
    await Deno.writeTextFile(`${ck}/clinic-a.epoch-8.npz`, "trained weights");
    const predict = (out: string) => runTask("client", ["predict", "--config", cfg, "--input", w.dataFile, "--out", out]);
    let r = await predict(`${ck}/clinic-a.epoch-8.npz`);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: --out .*: it lies in the checkpoint directory .*ckpt-clinic-a, whose files must not be overwritten$/m);
    assert.equal(await Deno.readTextFile(`${ck}/clinic-a.epoch-8.npz`), "trained weights");
    r = await predict(w.dataFile.replace(/\.npz$/, ".npz"));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: --out .*records\.npz: that is the --input file; it would be overwritten$/m);
    r = await runTask("client", ["--config", cfg, "--json", cfg]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: --json .*clinic-a\.json: that is the --config file; it would be overwritten$/m);
    // A config that is not JSON is named.
    await Deno.writeTextFile(`${w.root}/broken.json`, "{ \"name\": ");
    r = await runTask("client", ["--config", `${w.root}/broken.json`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: .*broken\.json: not valid JSON \(/m);
  } finally {
    await Deno.remove(w.root, { recursive: true });
  }
});

Deno.test("deno task client: when the raw side fails, its own error is the last line, not the courier's", async () => {
  const w = await makeWorld({ mode: "vanilla", clinics: ["clinic-a"] });
  try {
    await Deno.remove(w.dataFile);
    const r = await runTask("client", ["--config", `${w.root}/clinic-a.json`]);
    assert.equal(r.code, 1, r.stderr);
    const last = ownLines(r.stderr).at(-1) ?? "";
    assert.match(last, /^error: clinic clinic-a: raw side( \[[A-Z_]+\])?: .*records\.npz: file not found/, r.stderr);
  } finally {
    await Deno.remove(w.root, { recursive: true });
  }
});

Deno.test("deno task client: a failing clinic prints each error once, not by the courier and again by the launcher", async () => {
  const w = await makeWorld({ mode: "vanilla", clinics: ["clinic-a"] });
  try {
    // What the terminal shows: both streams.
    const shown = (r: { stdout: string; stderr: string }) => ownLines(r.stdout + "\n" + r.stderr);
    // The courier fails: a consortium key file that is not 64 hex digits.
    const cfg = `${w.root}/clinic-a.json`;
    await Deno.writeTextFile(`${w.root}/psk.hex`, "not hex\n");
    await Deno.writeTextFile(cfg, JSON.stringify({ ...JSON.parse(await Deno.readTextFile(cfg)), pskFile: "psk.hex" }));
    let r = await runTask("client", ["--config", cfg]);
    assert.equal(r.code, 1, r.stderr);
    let errors = shown(r).filter((l) => l.includes("psk.hex:"));
    assert.equal(errors.length, 1, `one line for the courier's error, got:\n${errors.join("\n")}`);
    assert.match(errors[0], /^error: courier( \[[A-Z_]+\])?: pskFile .*psk\.hex: /);
    // The raw side fails: its error once, and not the courier's consequence (its pipe closed).
    await Deno.remove(w.dataFile);
    r = await runTask("client", ["--config", cfg]);
    assert.equal(r.code, 1, r.stderr);
    errors = shown(r).filter((l) => /file not found|^courier|raw side\] raw side/.test(l));
    assert.equal(errors.length, 1, `one line for the raw side's error, got:\n${errors.join("\n")}`);
    assert.match(errors[0], /^error: clinic clinic-a: raw side( \[[A-Z_]+\])?: .*records\.npz: file not found/);
  } finally {
    await Deno.remove(w.root, { recursive: true });
  }
});

Deno.test("the server names the listen address it cannot bind", async () => {
  const w = await makeWorld({ mode: "vanilla", clinics: ["clinic-a"] });
  const taken = Deno.listen({ hostname: "127.0.0.1", port: w.port });
  try {
    const r = await runCli("server.ts", ["--config", w.serverConfigFile], [
      "--allow-net", "--allow-read", `--allow-write=${w.root}`, "--allow-ffi", "--allow-sys", "--allow-env",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: listen 127\\.0\\.0\\.1:${w.port}: .*[Aa]ddress already in use`, "m"));
  } finally {
    taken.close();
    await Deno.remove(w.root, { recursive: true });
  }
});

Deno.test("the server names the config field of a key or allowlist file that is missing", async () => {
  const w = await makeWorld({ mode: "vanilla", clinics: ["clinic-a"] });
  try {
    await Deno.remove(`${w.root}/keys/allowlist.json`);
    const r = await runCli("server.ts", ["--config", w.serverConfigFile], [
      "--allow-net", "--allow-read", `--allow-write=${w.root}`, "--allow-ffi", "--allow-sys", "--allow-env",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error: config\.allowlist .*keys\/allowlist\.json: file not found$/m);
  } finally {
    await Deno.remove(w.root, { recursive: true });
  }
});

Deno.test("deno task client names a checkpointDir that is a file", async () => {
  const w = await makeWorld({ mode: "vanilla", clinics: ["clinic-a"] });
  try {
    await Deno.writeTextFile(`${w.root}/ckpt-clinic-a`, "not a folder");
    const r = await runTask("client", ["--config", `${w.root}/clinic-a.json`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error: clinic clinic-a: checkpointDir .*ckpt-clinic-a: not a directory$/m);
    assert.equal(await Deno.readTextFile(`${w.root}/ckpt-clinic-a`), "not a folder");
  } finally {
    await Deno.remove(w.root, { recursive: true });
  }
});
