/**
 * deploy/: the systemd units pass `systemd-analyze verify` (when the tool exists), and the
 * Deno flags they, and the container recipe, start the server and the clinic with are the
 * ones the code grants (`serverFlags`, the `client` task), so the two cannot drift.
 */
import assert from "node:assert/strict";
import { serverFlags } from "../../runtime/server/server_flags.ts";
import { ROOT } from "./cli_harness.ts";

const SERVER_UNIT = new URL("deploy/systemd/splitgate-server.service", ROOT);
const CLINIC_UNIT = new URL("deploy/systemd/splitgate-clinic@.service", ROOT);
const CONTAINERFILE = new URL("deploy/container/Containerfile", ROOT);
const INSTALL = "/opt/splitgate";

/** The words of the unit's ExecStart= line (the units quote nothing). */
async function execStart(unit: URL): Promise<string[]> {
  const line = (await Deno.readTextFile(unit)).split("\n").find((l) => l.startsWith("ExecStart="));
  assert.ok(line, `${unit.pathname}: no ExecStart=`);
  return line.slice("ExecStart=".length).trim().split(/\s+/);
}

/** The permission flags of a `deno run` command: the words between `run` and the first of `stop`. */
function runFlags(words: string[], stop: RegExp): string[] {
  const start = words.indexOf("run");
  const end = words.findIndex((w, i) => i > start && stop.test(w));
  assert.ok(start >= 0 && end > start, words.join(" "));
  return words.slice(start + 1, end);
}

/** The value following `flag` in `words`. */
function after(words: string[], flag: string): string | undefined {
  const i = words.indexOf(flag);
  return i < 0 ? undefined : words[i + 1];
}

Deno.test("the server unit starts server.ts with exactly serverFlags of its listen address and state directory", async () => {
  const words = await execStart(SERVER_UNIT);
  assert.equal(words[0], `${INSTALL}/bin/deno`);
  const listen = after(words, "--listen")!, checkpointDir = after(words, "--checkpoint-dir")!;
  assert.equal(checkpointDir, "/var/lib/splitgate/server");
  const [hostname, port] = listen.split(":");
  assert.deepEqual(
    runFlags(words, /^--cached-only$/),
    serverFlags({ hostname, port: Number(port), checkpointDir }),
  );
  assert.ok(words.includes(`${INSTALL}/app/runtime/cli/server.ts`));
  assert.equal(after(words, "--config"), "/etc/splitgate/server.json");
  const unit = await Deno.readTextFile(SERVER_UNIT);
  assert.match(
    unit,
    /^StateDirectory=splitgate\/server$/m,
    "systemd must create the directory the flags grant",
  );
});

Deno.test("the clinic unit starts client.ts with exactly the client task's flags", async () => {
  const words = await execStart(CLINIC_UNIT);
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks;
  const task = (tasks.client as string).split(/\s+/);
  assert.deepEqual(
    runFlags(words, /^--cached-only$/),
    runFlags(task, /^runtime\/cli\/client\.ts$/),
  );
  assert.ok(words.includes(`${INSTALL}/app/runtime/cli/client.ts`));
  assert.equal(after(words, "--config"), "/etc/splitgate/%i.json");
  assert.equal(after(words, "--checkpoint-dir"), "/var/lib/splitgate/%i");
  assert.match(await Deno.readTextFile(CLINIC_UNIT), /^StateDirectory=splitgate\/%i$/m);
  // a config error (2) or the hijack guard's alarm (3) must not restart the gateway
  assert.match(await Deno.readTextFile(CLINIC_UNIT), /^RestartPreventExitStatus=2 3$/m);
});

Deno.test("the units hold systemd's hardening, restart policy and journal logging", async () => {
  for (const unit of [SERVER_UNIT, CLINIC_UNIT]) {
    const text = await Deno.readTextFile(unit);
    for (
      const line of [
        "User=splitgate",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "StandardOutput=journal",
        "StandardError=journal",
      ]
    ) assert.match(text, new RegExp(`^${line}$`, "m"), `${unit.pathname}: ${line}`);
    assert.doesNotMatch(text, /^MemoryDenyWriteExecute=yes/m, "V8's JIT needs writable code pages");
  }
});

Deno.test("the container recipe runs the server unit's command on the port it exposes", async () => {
  const text = await Deno.readTextFile(CONTAINERFILE);
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(text);
  assert.ok(entry, "no ENTRYPOINT");
  const words = JSON.parse(entry[1]) as string[];
  assert.deepEqual(words, await execStart(SERVER_UNIT));
  const port = after(words, "--listen")!.split(":")[1];
  assert.match(text, new RegExp(`^EXPOSE ${port}$`, "m"));
  assert.match(text, /^USER splitgate$/m);
  assert.match(text, /^VOLUME \["\/var\/lib\/splitgate"\]$/m);
});

const ANALYZE = await (async () => {
  try {
    return (await new Deno.Command("systemd-analyze", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
})();
if (!ANALYZE) {
  console.log(
    "systemd-analyze verify test ignored: systemd-analyze is not installed (apt-get install systemd)",
  );
}

Deno.test({
  name: "systemd-analyze verify accepts both units",
  ignore: !ANALYZE,
  async fn() {
    // verify wants ExecStart's binary to exist: the units go into a temp tree whose
    // opt/splitgate/bin/deno is this Deno, with /opt/splitgate rewritten to that tree.
    const tmp = await Deno.makeTempDir({ prefix: "units_" });
    try {
      await Deno.mkdir(`${tmp}/opt/splitgate/bin`, { recursive: true });
      await Deno.symlink(Deno.execPath(), `${tmp}/opt/splitgate/bin/deno`);
      const files = [];
      for (
        const [unit, name] of [[SERVER_UNIT, "splitgate-server.service"], [
          CLINIC_UNIT,
          "splitgate-clinic@clinic-a.service",
        ]] as const
      ) {
        const text = (await Deno.readTextFile(unit)).replaceAll(INSTALL, `${tmp}/opt/splitgate`);
        await Deno.writeTextFile(`${tmp}/${name}`, text);
        files.push(`${tmp}/${name}`);
      }
      const out = await new Deno.Command("systemd-analyze", {
        args: ["verify", ...files],
        cwd: tmp,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      const said = (dec.decode(out.stdout) + dec.decode(out.stderr)).trim();
      assert.equal(out.code, 0, said);
      assert.equal(said, "", "verify printed warnings");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
