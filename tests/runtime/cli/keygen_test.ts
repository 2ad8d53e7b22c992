import assert from "node:assert/strict";
import { loadPrivateKeyFile, loadPublicKeyFile } from "../../../runtime/keys/key_store.ts";
import { fingerprint } from "../../../crypto/keys/fingerprint.ts";

const CLI = new URL("../../../runtime/cli/keygen.ts", import.meta.url);
const ROOT = new URL("../../../", import.meta.url);

async function runCli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", CLI.pathname, ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("keygen writes <name>.key (0600) and <name>.pub and prints the fingerprint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli("--out", `${dir}/k`, "--name", "clinic-a");
    assert.equal(r.code, 0, r.stderr);
    const priv = await loadPrivateKeyFile(`${dir}/k/clinic-a.key`);
    const pub = await loadPublicKeyFile(`${dir}/k/clinic-a.pub`);
    assert.deepEqual(priv.keyPair.publicKey, pub.publicKey);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(`${dir}/k/clinic-a.key`)).mode! & 0o777, 0o600);
    }
    assert.ok(r.stdout.includes(`fingerprint ${fingerprint(pub.publicKey)}`), r.stdout);
    assert.ok(
      !r.stdout.includes(
        Array.from(priv.keyPair.secretKey.subarray(0, 8), (b) => b.toString(16).padStart(2, "0"))
          .join(""),
      ),
    );

    // Refuses to overwrite, with one line and exit 1; the key is unchanged.
    const before = await Deno.readTextFile(`${dir}/k/clinic-a.key`);
    const again = await runCli("--out", `${dir}/k`, "--name", "clinic-a");
    assert.equal(again.code, 1);
    assert.equal(again.stderr.trimEnd().split("\n").length, 1, again.stderr);
    assert.match(again.stderr, /^keygen: .*already exists/);
    assert.equal(await Deno.readTextFile(`${dir}/k/clinic-a.key`), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keygen: bad names and missing arguments are one-line errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = await runCli("--out", dir, "--name", "../escape");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr.trimEnd(), /^keygen: invalid key name "\.\.\/escape"[^\n]*$/);
    const missing = await runCli("--out", dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr.trimEnd(), /^keygen: --out and --name are required[^\n]*$/);
    const unknown = await runCli("--bogus");
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trimEnd().split("\n").length, 1);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    await Deno.writeTextFile(`${dir}/a-file`, "x");
    const notDir = await runCli("--out", `${dir}/a-file`, "--name", "k");
    assert.equal(notDir.code, 2);
    assert.match(notDir.stderr.trimEnd(), /^keygen: --out .*a-file: not a directory \(the key files go into one\)$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
