/**
 * The launcher's own part of the clinic sandbox (docs/design/security_model.md): links and overlapping
 * folders refused before anything starts, real paths in the grants, the children's cleared
 * environment, the run permission given up once both children run, and the checkpoint
 * folder's mode.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ClientConfig, parseClientConfig } from "../../../runtime/client/client_config.ts";
import { launchClinic, rawSideConfigOf } from "../../../runtime/client/launcher.ts";
import { rawSideFlags } from "../../../runtime/client/raw_side/flags.ts";
import { checkSandboxFolders } from "../../../runtime/client/sandbox_folders.ts";
import { checkCheckpointMode, prepareCheckpointDir } from "../../../runtime/client/checkpoint_dir.ts";
import { ClinicError, type ClinicErrorCode } from "../../../runtime/client/clinic_error.ts";
import { type ClinicDir, makeClinicDir } from "./sandbox_env.ts";
import { cacheFolderOfPackages, childEnv, inheritedEnv } from "../../../runtime/client/child_env.ts";

const CODE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const RUN_PROBE = fileURLToPath(new URL("./probes/launcher_run_probe.ts", import.meta.url));
/** A Deno executable that does not exist: a launch that got past its checks fails with NotFound. */
const NO_DENO = "/nonexistent/deno";

/** A free loopback port nothing listens on (the courier fails at once). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** A clinic config over a {@linkcode makeClinicDir} tree; `over` replaces fields of the file. */
function configOf(c: ClinicDir, over: Record<string, unknown> = {}): ClientConfig {
  return parseClientConfig(
    JSON.stringify({
      name: "clinic-a",
      server: `http://127.0.0.1:${closedPort()}`,
      serverPublicKey: "keys/clinic-a.pub",
      clinicKey: "keys/clinic-a.key",
      data: "data/records.npz",
      model: "model.onnx",
      cuts: c.cuts.default,
      mode: "vanilla",
      optimizer: { kind: "sgd", lr: 0.1 },
      checkpointDir: "ckpt",
      retries: 0,
      patienceMs: 1,
      ...over,
    }),
    c.root,
  );
}

function refusedWith(code: ClinicErrorCode, message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof ClinicError, `expected a ClinicError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  };
}

Deno.test("launcher: a link in the data folder pointing at the PSK file is refused before anything starts", async () => {
  const c = await makeClinicDir();
  try {
    await Deno.writeTextFile(`${c.root}/keys/consortium.psk`, "00".repeat(32));
    await Deno.symlink(`${c.root}/keys/consortium.psk`, `${c.dataDir}/psk.hex`);
    const config = configOf(c, { pskFile: "keys/consortium.psk" });
    await assert.rejects(
      launchClinic(config, "train", { denoPath: NO_DENO, onLine: () => {} }),
      refusedWith("SYMLINK_REFUSED", /clinic-a: the data folder .*\/data holds a symbolic link, .*\/data\/psk\.hex -> .*\/keys\/consortium\.psk/),
    );
    // a link to a folder inside the checkpoint folder: refused too
    await Deno.remove(`${c.dataDir}/psk.hex`);
    await Deno.symlink("/etc", `${c.checkpointDir}/etc`);
    await assert.rejects(
      launchClinic(configOf(c), "train", { denoPath: NO_DENO, onLine: () => {} }),
      refusedWith("SYMLINK_REFUSED", /the checkpoint folder .*\/ckpt holds a symbolic link, .*\/ckpt\/etc -> \/etc/),
    );
  } finally {
    await c.remove();
  }
});

Deno.test("launcher: a checkpoint folder inside the code folder is refused, and not created", async () => {
  const c = await makeClinicDir();
  const inside = join(CODE_ROOT, "tests", `.ckpt-refused-${crypto.randomUUID()}`);
  try {
    await assert.rejects(
      launchClinic(configOf(c, { checkpointDir: inside }), "train", { denoPath: NO_DENO, onLine: () => {} }),
      refusedWith("FOLDER_OVERLAP", /checkpointDir .*\.ckpt-refused-.* lies inside the code folder \(the folder of deno\.json\)/),
    );
    await assert.rejects(Deno.stat(inside), Deno.errors.NotFound);
  } finally {
    await Deno.remove(inside, { recursive: true }).catch(() => {});
    await c.remove();
  }
});

Deno.test("launcher: a data folder holding the key files is refused", async () => {
  const c = await makeClinicDir();
  try {
    await Deno.copyFile(c.dataFile, `${c.root}/keys/records.npz`);
    await assert.rejects(
      launchClinic(configOf(c, { data: "keys/records.npz" }), "train", { denoPath: NO_DENO, onLine: () => {} }),
      refusedWith("FOLDER_OVERLAP", /the data folder .*\/keys holds clinicKey .*\/keys\/clinic-a\.key/),
    );
  } finally {
    await c.remove();
  }
});

Deno.test("checkSandboxFolders: checkpoint folder vs keys, code and module cache; real paths", async () => {
  const c = await makeClinicDir();
  try {
    const code = { code: `${c.root}/app`, moduleCache: `${c.root}/deno_dir` };
    await Deno.mkdir(`${c.root}/app`);
    // the peers file inside the checkpoint folder: the raw side could rewrite whom the courier seals to
    await Deno.writeTextFile(`${c.checkpointDir}/peers.json`, "[]");
    await assert.rejects(
      checkSandboxFolders(configOf(c, { peers: "ckpt/peers.json" }), code),
      refusedWith("FOLDER_OVERLAP", /the checkpoint folder .*\/ckpt holds peers .*\/ckpt\/peers\.json/),
    );
    await Deno.mkdir(`${c.checkpointDir}/app`);
    await assert.rejects(
      checkSandboxFolders(configOf(c), { code: `${c.checkpointDir}/app` }),
      refusedWith("FOLDER_OVERLAP", /checkpointDir .*\/ckpt holds the code folder \(the folder of deno\.json\) .*\/ckpt\/app/),
    );
    await assert.rejects(
      checkSandboxFolders(configOf(c, { checkpointDir: "deno_dir/npm/x" }), code),
      refusedWith("FOLDER_OVERLAP", /lies inside the Deno module cache/),
    );
    // a data folder reached through a link: accepted, and the grants name the real folder
    await Deno.symlink(c.dataDir, `${c.root}/data-link`);
    const checked = await checkSandboxFolders(configOf(c, { data: "data-link/records.npz" }), code);
    const realData = await Deno.realPath(c.dataDir);
    assert.equal(checked.data, join(realData, "records.npz"));
    const read = rawSideFlags({ ...rawSideConfigOf(checked), wasmFile: "/o.wasm" })[1];
    assert.ok(read.startsWith(`--allow-read=${realData},`), read);
    assert.ok(!read.includes("data-link"), read);
    // the data folder inside the code folder (the embedded data sets) is allowed: reading code is harmless
    const elsewhere = await Deno.makeTempDir({ prefix: "ckpt_" });
    try {
      await checkSandboxFolders(configOf(c, { checkpointDir: elsewhere }), { code: c.root });
    } finally {
      await Deno.remove(elsewhere, { recursive: true });
    }
  } finally {
    await c.remove();
  }
});

/** A file of `/proc` (Deno asks for --allow-all to read there itself, so `cat` reads it). */
async function procFile(pid: number, name: string): Promise<string> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/${name}`], stdout: "piped", stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout);
}

/**
 * The environment of a live child process (Linux), read once it runs `deno run` (after its exec;
 * before, `/proc` shows this test process's command line and environment).
 */
async function environOf(pid: number): Promise<Record<string, string>> {
  for (let i = 0; i < 1000; i++) {
    if ((await procFile(pid, "cmdline")).split("\0")[1] === "run") {
      const vars = (await procFile(pid, "environ")).split("\0").filter((l) => l);
      return Object.fromEntries(vars.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`process ${pid} never ran deno run`);
}

Deno.test({
  name: "launcher: the children's environment is empty except the listed variables",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const c = await makeClinicDir();
    // A "server" that accepts and never answers keeps both children alive until we stop them.
    const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of server) held.push(conn);
    })().catch(() => {});
    Deno.env.set("SPLITGATE_TEST_TOKEN", "must-not-reach-a-child");
    try {
      let envs: Promise<Record<string, string>[]> | undefined;
      const config = configOf(c, { server: `http://127.0.0.1:${server.addr.port}`, patienceMs: 60_000 });
      await launchClinic(config, "train", {
        onLine: () => {},
        onSpawn: ({ rawSide, courier }) => {
          envs = Promise.all([environOf(rawSide), environOf(courier)])
            .finally(() => Deno.kill(courier, "SIGKILL")); // ends the run
        },
      }).catch((e) => assert.ok(e instanceof ClinicError, String(e)));
      const [raw, courier] = await envs!;
      const denoDir = inheritedEnv().DENO_DIR ? ["DENO_DIR"] : [];
      assert.equal(raw.DENO_DIR, inheritedEnv().DENO_DIR);
      assert.deepEqual(
        Object.keys(raw).sort(),
        [...denoDir, "ALL_PROXY", "DENO_NO_UPDATE_CHECK", "HTTPS_PROXY", "HTTP_PROXY", "NO_COLOR"].sort(),
      );
      assert.equal(raw.HTTPS_PROXY, "http://127.0.0.1:9");
      assert.deepEqual(
        Object.keys(courier).sort(),
        [...denoDir, "ALL_PROXY", "DENO_NO_UPDATE_CHECK", "HTTPS_PROXY", "HTTP_PROXY", "NO_COLOR", "NO_PROXY"].sort(),
      );
      assert.equal(courier.NO_PROXY, "127.0.0.1");
    } finally {
      Deno.env.delete("SPLITGATE_TEST_TOKEN");
      server.close();
      for (const conn of held) conn.close();
      await accepting;
      await c.remove();
    }
  },
});

Deno.test("childEnv: only the listed variables; DENO_DIR is the launcher's cache even without env permission", () => {
  const env = childEnv({ courier: "https://gpu.example.org:8443" }, {
    DENO_DIR: "/opt/splitgate/deno_dir",
    AWS_SECRET_ACCESS_KEY: "x",
    PATH: "/bin",
  });
  assert.deepEqual(env, {
    DENO_DIR: "/opt/splitgate/deno_dir",
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    HTTP_PROXY: "http://127.0.0.1:9",
    HTTPS_PROXY: "http://127.0.0.1:9",
    ALL_PROXY: "http://127.0.0.1:9",
    NO_PROXY: "gpu.example.org",
  });
  assert.equal(childEnv({ courier: "http://[::1]:8443" }, {}).NO_PROXY, "::1");
  assert.deepEqual(Object.keys(childEnv("rawSide", {})).sort(), [
    "ALL_PROXY",
    "DENO_NO_UPDATE_CHECK",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_COLOR",
  ]);
  // This test process reads its env; where DENO_DIR is unset, the cache its packages came from.
  const cache = cacheFolderOfPackages();
  assert.ok(cache !== undefined && Deno.statSync(`${cache}/npm`).isDirectory, String(cache));
  assert.equal(inheritedEnv().DENO_DIR, Deno.env.get("DENO_DIR") || cache);
});

Deno.test("launcher: with revokeRun (the client command) it cannot spawn sh, curl or deno once both children run", async () => {
  const c = await makeClinicDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        RUN_PROBE,
        JSON.stringify(configOf(c)),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(r.before, "ok", "the control: the probe could spawn before the launch");
    assert.match(r.launch, /^ClinicError (COURIER_FAILED|RAW_SIDE_FAILED)$/, "both children ran, then failed: no server");
    for (const k of ["sh", "curl", "deno"]) assert.equal(r[k], "NotCapable", `${k}: ${r[k]}`);
  } finally {
    await c.remove();
  }
});

Deno.test("checkpoint folder: Deno lets the raw side chmod it (not link or rename); the launcher puts 0700 back", {
  ignore: Deno.build.os === "windows",
}, async () => {
  const c = await makeClinicDir();
  try {
    // What Deno 2.9 permits under the raw side's write grant: chmod of the folder itself.
    const flags = rawSideFlags(c.config);
    const script = `
      const dir = ${JSON.stringify(c.checkpointDir)};
      const out = {};
      for (const [k, f] of [["chmod", () => Deno.chmod(dir, 0o777)], ["symlink", () => Deno.symlink("/etc", dir + "/etc")],
                            ["rename", () => Deno.rename(dir, dir + "-moved")]]) {
        try { await f(); out[k] = "ok"; } catch (e) { out[k] = e instanceof Deno.errors.NotCapable ? "NotCapable" : e.name; }
      }
      console.log(JSON.stringify(out));`;
    const file = `${c.root}/chmod_probe.js`;
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, `--allow-read=${file}`, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), { chmod: "ok", symlink: "NotCapable", rename: "NotCapable" });
    assert.equal((await Deno.stat(c.checkpointDir)).mode! & 0o777, 0o777);
    // ... which the launcher notices and undoes after the run, and at the next launch
    assert.match(
      (await checkCheckpointMode(c.checkpointDir, "clinic-a"))!,
      /clinic-a: checkpoint folder .*\/ckpt had mode 777; set to 700/,
    );
    assert.equal((await Deno.stat(c.checkpointDir)).mode! & 0o777, 0o700);
    assert.equal(await checkCheckpointMode(c.checkpointDir, "clinic-a"), null);
    await Deno.chmod(c.checkpointDir, 0o755);
    assert.match((await prepareCheckpointDir(c.checkpointDir, "clinic-a"))!, /had mode 755; set to 700/);
    const fresh = `${c.root}/new-ckpt/inner`;
    assert.equal(await prepareCheckpointDir(fresh, "clinic-a"), null);
    assert.equal((await Deno.stat(fresh)).mode! & 0o777, 0o700);
  } finally {
    await c.remove();
  }
});
