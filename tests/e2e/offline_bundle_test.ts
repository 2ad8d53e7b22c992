/**
 * The offline gateway bundle (`deno task bundle:gateway`), end to end: built from this
 * checkout, unpacked into an empty folder, then a server (with the systemd unit's command
 * line) and one clinic (with the start script) run from the unpacked copy inside a network namespace that has only loopback (`unshare -n`), with HOME
 * pointing at an empty folder, so nothing can come from a registry or a user cache.
 *
 * Needs root (a network namespace) and `unshare`/`ip`; without them the test is ignored and
 * says why.
 */
import assert from "node:assert/strict";
import {
  buildGatewayBundle,
  npmPackageName,
  trimLock,
} from "../../runtime/deploy/gateway_bundle.ts";
import { makeWorld } from "./split_harness.ts";

async function commandWorks(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

const WHY_IGNORED = Deno.uid() !== 0
  ? "not root: cannot create a network namespace"
  : !(await commandWorks("unshare", ["-n", "true"]))
  ? "`unshare -n` is unavailable or not permitted here"
  : !(await commandWorks("ip", ["-V"]))
  ? "`ip` (iproute2) is missing"
  : undefined;
if (WHY_IGNORED) console.log(`offline bundle test ignored: ${WHY_IGNORED}`);

Deno.test({
  name:
    "the gateway bundle runs a server and a clinic offline, from an empty folder, with loopback only",
  ignore: WHY_IGNORED !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "bundle_e2e_" });
    const w = await makeWorld({
      mode: "vanilla",
      clinics: ["clinic-a"],
      serverEngine: "wasm",
      n: 16,
    });
    try {
      const archive = `${tmp}/splitgate-gateway.tar.gz`;
      const built = await buildGatewayBundle({ out: archive });
      assert.ok(built.bytes < 80e6, `the archive is ${built.bytes} bytes`);
      assert.ok(
        !built.packages.some((p) => p.startsWith("onnxruntime-node@")),
        built.packages.join(", "),
      );
      const listing = new TextDecoder().decode(
        (await new Deno.Command("tar", { args: ["-tzf", archive], stdout: "piped" }).output())
          .stdout,
      ).split("\n");
      for (const left of ["tests/", "bench/", "data/"]) {
        assert.ok(
          !listing.some((f) => f.startsWith(`splitgate/app/${left}`)),
          `${left} is in the archive`,
        );
      }
      const install = `${tmp}/install`, home = `${tmp}/home`;
      await Deno.mkdir(install);
      await Deno.mkdir(home);
      const untar = await new Deno.Command("tar", { args: ["-xzf", archive, "-C", install] })
        .output();
      assert.ok(untar.success);
      const sg = `${install}/splitgate/splitgate`;
      // The server runs the systemd unit's own command line, pointed at this install, the
      // world's config and state; the clinic runs through the start script.
      const unit = await Deno.readTextFile(
        new URL("../../deploy/systemd/splitgate-server.service", import.meta.url),
      );
      const serverCommand = /^ExecStart=(.*)$/m.exec(unit)![1]
        .replaceAll("/opt/splitgate", `${install}/splitgate`)
        .replaceAll("/etc/splitgate/server.json", w.serverConfigFile)
        .replaceAll("/var/lib/splitgate/server", `${w.root}/server-ckpt`)
        .replaceAll("0.0.0.0:8443", `127.0.0.1:${w.port}`);
      const script = `ip link set lo up
${sg} check || exit 90
DENO_DIR=${install}/splitgate/deno_dir ${serverCommand} > server.log 2>&1 &
server=$!
${sg} client --config clinic-a.json
rc=$?
kill -TERM $server; wait $server
exit $rc`;
      const out = await new Deno.Command("unshare", {
        args: ["-n", "sh", "-c", script],
        cwd: w.root,
        clearEnv: true,
        env: {
          PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
          HOME: home,
          XDG_CACHE_HOME: `${home}/.cache`,
          NO_COLOR: "1",
        },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(120_000),
      }).output();
      const dec = new TextDecoder();
      const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
      const serverLog = await Deno.readTextFile(`${w.root}/server.log`).catch(() =>
        "(no server.log)"
      );
      const all = `${stdout}\n${stderr}\nserver.log:\n${serverLog}`;
      assert.equal(out.code, 0, all);
      assert.match(stdout, /^1 turns, 2 steps, 16 samples in /m, all);
      assert.match(serverLog, /^splitgate server listening on 127\.0\.0\.1:\d+ \(key server, vanilla mode, wasm engine\)/m, all);
      assert.match(serverLog, /^epoch 1\/1 done$/m, all);
      assert.doesNotMatch(all, /registry\.npmjs\.org|dns error/);
      // Nothing was cached in the user's home: Deno used the bundle's own cache.
      assert.deepEqual([...Deno.readDirSync(home)], []);
    } finally {
      await w.remove();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("the bundle's deno.lock keeps exactly the bundled packages", () => {
  assert.equal(npmPackageName("npm:/@noble/ciphers@2.4.0/"), "@noble/ciphers");
  assert.equal(npmPackageName("npm:hono@4.13.19"), "hono");
  assert.equal(npmPackageName("@protobufjs/base64@1.1.2"), "@protobufjs/base64");
  const lock = JSON.stringify({
    version: "5",
    specifiers: { "npm:hono@4.13.19": "4.13.19", "npm:vega@6.4.0": "6.4.0" },
    npm: { "hono@4.13.19": { integrity: "sha512-a" }, "vega@6.4.0": { integrity: "sha512-b" } },
    workspace: { dependencies: ["npm:hono@4.13.19", "npm:vega@6.4.0"] },
  });
  assert.deepEqual(JSON.parse(trimLock(lock, new Set(["hono"]))), {
    version: "5",
    specifiers: { "npm:hono@4.13.19": "4.13.19" },
    npm: { "hono@4.13.19": { integrity: "sha512-a" } },
    workspace: { dependencies: ["npm:hono@4.13.19"] },
  });
  assert.throws(() => trimLock('{"version":"4"}', new Set()), {
    message: /deno\.lock: expected version "5", found "4"/,
  });
});
