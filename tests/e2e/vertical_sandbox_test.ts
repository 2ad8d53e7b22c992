/**
 * A vertical party's processes (`runtime/client/vertical_launcher.ts`) as the horizontal
 * clinic's (tests/e2e/split_sandbox_test.ts): the raw-data process — it holds the records, the
 * PSI secret and the front's weights — gets `NotCapable` for `fetch` and `Deno.connect`, reads
 * its data and writes only its state folder; the courier reaches the server and cannot read the
 * data folder. The probe runs with exactly the flags and environment the launcher builds. The
 * launcher also refuses a key file inside the data folder before anything starts.
 */
import assert from "node:assert/strict";
import { childEnv } from "../../runtime/client/child_env.ts";
import { ClinicError } from "../../runtime/client/clinic_error.ts";
import {
  launchVerticalParty,
  verticalCommandArgs,
  type VerticalPartyLaunchConfig,
} from "../../runtime/client/vertical_launcher.ts";

const PROBE = new URL("../runtime/client/probes/capability_probe.ts", import.meta.url).pathname;

/** The launcher's flags for a child, its entry point replaced by the probe, in that child's environment. */
async function probeWith(
  args: string[],
  env: Record<string, string>,
  probeArgs: { read: string; write?: string; port: number },
) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args.slice(0, -2), PROBE, JSON.stringify(probeArgs)],
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, string>;
}

const STUDY = {
  parties: ["hospital", "pharmacy"],
  labels: { holder: "server", party: "hospital" },
  idFormat: { pattern: "^[0-9]+$" },
};

/** A party's folders: data/ (raw side reads), state/ (raw side writes), keys/ (courier reads). */
async function partyFolders(root: string, port: number): Promise<VerticalPartyLaunchConfig> {
  for (const d of ["data", "state", "keys"]) await Deno.mkdir(`${root}/${d}`);
  await Deno.writeTextFile(`${root}/data/party.npz`, "records");
  await Deno.writeTextFile(`${root}/keys/pharmacy.key`, "key");
  await Deno.writeTextFile(`${root}/keys/server.pub`, "pub");
  return {
    name: "pharmacy",
    server: `http://127.0.0.1:${port}`,
    keyFile: `${root}/keys/pharmacy.key`,
    serverPublicKeyFile: `${root}/keys/server.pub`,
    dataFile: `${root}/data/party.npz`,
    stateDir: `${root}/state`,
    study: STUDY,
  };
}

Deno.test("vertical sandbox: the party's raw side has no network; its courier cannot read the data", async () => {
  const root = await Deno.makeTempDir();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("ok"),
  );
  try {
    const c = await partyFolders(root, http.addr.port);
    const { rawSide, courier } = verticalCommandArgs(c);
    for (
      const bad of [
        "--allow-net",
        "--allow-run",
        "--allow-ffi",
        "--allow-env",
        "--allow-sys",
        "-A",
        "--allow-all",
      ]
    ) {
      assert.ok(!rawSide.some((a) => a.startsWith(bad)), `raw side: ${bad}`);
    }
    assert.ok(rawSide.includes(`--allow-write=${c.stateDir}`));
    const r = await probeWith(rawSide, childEnv("rawSide"), {
      read: c.dataFile,
      write: `${root}/data/leak.txt`,
      port: http.addr.port,
    });
    assert.equal(r.fetch, "NotCapable");
    assert.equal(r.connect, "NotCapable");
    assert.equal(r.read, "ok");
    assert.equal(r.write, "NotCapable", "the raw side writes its state folder only");
    for (const k of ["listen", "resolveDns", "command", "envGet", "dlopen", "sys"]) {
      assert.equal(r[k], "NotCapable", `raw side ${k}`);
    }
    const w = await probeWith(rawSide, childEnv("rawSide"), {
      read: c.dataFile,
      write: `${c.stateDir}/x`,
      port: http.addr.port,
    });
    assert.equal(w.write, "ok");

    assert.ok(courier.includes(`--allow-net=127.0.0.1:${http.addr.port}`));
    assert.ok(
      !courier.slice(0, -1).some((a) => a.includes(`${root}/data`)),
      "courier flags must not name the data folder",
    );
    const k = await probeWith(courier, childEnv({ courier: c.server }), {
      read: c.dataFile,
      write: `${c.stateDir}/y`,
      port: http.addr.port,
    });
    assert.equal(k.read, "NotCapable");
    assert.equal(k.write, "NotCapable");
    assert.equal(k.fetch, "ok");
    for (const x of ["connectPort1", "listen", "command", "envGet", "dlopen", "sys"]) {
      assert.equal(k[x], "NotCapable", `courier ${x}`);
    }
  } finally {
    await http.shutdown();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("vertical sandbox: a key file inside the data folder is refused before anything starts", async () => {
  const root = await Deno.makeTempDir();
  try {
    const c = await partyFolders(root, 9);
    await Deno.writeTextFile(`${root}/data/pharmacy.key`, "key");
    await assert.rejects(
      launchVerticalParty({ ...c, keyFile: `${root}/data/pharmacy.key` }, { onLine: () => {} }),
      (e) =>
        e instanceof ClinicError && e.code === "FOLDER_OVERLAP" &&
        /keyFile|clinicKey/.test(e.message),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
