/**
 * `deno task allowlist` run as a user runs it (the task's own permissions), with the key
 * files `deno task keygen` writes; the server and the clinics read the result with
 * `loadAllowlist`.
 */
import assert from "node:assert/strict";
import { fingerprint } from "../../../crypto/keys/fingerprint.ts";
import { loadAllowlist, loadPublicKeyFile } from "../../../runtime/keys/key_store.ts";
import { type CliRun, runTask } from "../../e2e/cli_harness.ts";

/** One line on stderr matching `pattern`, nothing on stdout, exit status `code`. */
function failsWith(r: CliRun, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  assert.match(r.stderr.trimEnd(), pattern);
}

async function keygen(dir: string, name: string): Promise<string> {
  const r = await runTask("keygen", ["--out", dir, "--name", name]);
  assert.equal(r.code, 0, r.stderr);
  return `${dir}/${name}.pub`;
}

Deno.test("allowlist add/list/remove on keygen's .pub files; the server's loader accepts the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/allowlist.json`;
    const [a, b] = [await keygen(dir, "clinic-a"), await keygen(dir, "clinic-b")];
    const [ka, kb] = [await loadPublicKeyFile(a), await loadPublicKeyFile(b)];
    const [fa, fb] = [fingerprint(ka.publicKey), fingerprint(kb.publicKey)];
    const task = (...args: string[]) => runTask("allowlist", [...args, "--allowlist", file]);

    assert.deepEqual(await task("add", a), {
      code: 0,
      stdout: `added clinic-a ${fa}\n`,
      stderr: "",
    });
    assert.equal((await task("add", b)).stdout, `added clinic-b ${fb}\n`);
    assert.deepEqual(await task("list"), {
      code: 0,
      stdout: `clinic-a ${fa}\nclinic-b ${fb}\n`,
      stderr: "",
    });
    const list = await loadAllowlist(file);
    assert.equal(list.lookup(ka.publicKey)?.name, "clinic-a");
    assert.equal(list.lookup(kb.publicKey)?.name, "clinic-b");

    // Refusals: one line, exit 1, the file unchanged.
    const before = await Deno.readTextFile(file);
    failsWith(
      await task("add", a),
      1,
      new RegExp(
        `^allowlist: ${file}: the name "clinic-a" is already listed \\(entry 0, key ${fa}\\)`,
      ),
    );
    await Deno.writeTextFile(
      `${dir}/renamed.pub`,
      (await Deno.readTextFile(b)).replace("clinic-b", "clinic-c"),
    );
    failsWith(
      await task("add", `${dir}/renamed.pub`),
      1,
      /the key of "clinic-c" \([0-9a-f:]+\) is already listed as "clinic-b" \(entry 1\)/,
    );
    failsWith(
      await task("add", a.replace(".pub", ".key")),
      1,
      /^allowlist: key file .*clinic-a\.key: this is a private key file/,
    );
    failsWith(
      await task("add", `${dir}/none.pub`),
      1,
      new RegExp(`^allowlist: ${dir}/none.pub: no such file$`),
    );
    failsWith(
      await task("remove", "clinic-x"),
      1,
      /^allowlist: .*: no entry is named "clinic-x"; known names: clinic-a, clinic-b$/,
    );
    assert.equal(await Deno.readTextFile(file), before);

    assert.deepEqual(await task("remove", "clinic-a"), {
      code: 0,
      stdout: `removed clinic-a ${fa}\n`,
      stderr: "",
    });
    assert.equal((await task("list")).stdout, `clinic-b ${fb}\n`);
    assert.deepEqual((await loadAllowlist(file)).entries.map((e) => e.name), ["clinic-b"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("allowlist and keygen take relative paths from the folder the command was typed in", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // deno task runs in the folder of deno.json and keeps the user's folder in INIT_CWD.
    const at = { INIT_CWD: dir };
    assert.equal((await runTask("keygen", ["--out", "keys", "--name", "clinic-a"], at)).code, 0);
    const r = await runTask("allowlist", ["add", "keys/clinic-a.pub"], at);
    assert.equal(r.code, 0, r.stderr);
    const list = await loadAllowlist(`${dir}/keys/allowlist.json`); // the default file
    assert.deepEqual(list.entries.map((e) => e.name), ["clinic-a"]);
    failsWith(
      await runTask("allowlist", ["list", "--allowlist", "none.json"], at),
      1,
      new RegExp(
        `^allowlist: none.json \\(in ${dir}\\): no such file; \`deno task allowlist add <clinic.pub>\` creates it$`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("allowlist: a malformed file is named and kept; usage errors exit 2; --help for each command", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/allowlist.json`;
    const pub = await keygen(dir, "clinic-a");
    await Deno.writeTextFile(file, '[{"name": "x"}');
    failsWith(
      await runTask("allowlist", ["add", pub, "--allowlist", file]),
      1,
      new RegExp(`^allowlist: ${file}: not valid JSON`),
    );
    assert.equal(await Deno.readTextFile(file), '[{"name": "x"}');

    failsWith(
      await runTask("allowlist", []),
      2,
      /^allowlist: a command is required .*; usage: deno task allowlist add <clinic\.pub> \| list \| remove <name>/,
    );
    failsWith(
      await runTask("allowlist", ["frob"]),
      2,
      /^allowlist: unknown command "frob" \(expected add, list or remove\); usage:/,
    );
    failsWith(
      await runTask("allowlist", ["remove"]),
      2,
      /^allowlist: remove takes one argument, got 0; usage: deno task allowlist remove <name>/,
    );
    for (const command of ["add", "list", "remove"]) {
      const help = await runTask("allowlist", [command, "--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^usage: deno task allowlist ${command}`));
      assert.match(help.stdout, /default keys\/allowlist\.json/);
    }
    assert.match(
      (await runTask("allowlist", ["--help"])).stdout,
      /add <clinic\.pub>[\s\S]*list[\s\S]*remove <name>/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
