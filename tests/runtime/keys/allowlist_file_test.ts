import assert from "node:assert/strict";
import { addAllowlistEntry, generateStaticKeyPair, keyToHex } from "../../../crypto/keys/mod.ts";
import { editAllowlistFile, readAllowlistFile } from "../../../runtime/keys/allowlist_file.ts";

const entry = (name: string) => ({ name, publicKey: generateStaticKeyPair().publicKey });

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("an edit creates a missing file (0644, its folder 0700) or refuses, as asked", () =>
  inTempDir(async (dir) => {
    const path = `${dir}/keys/allowlist.json`;
    await assert.rejects(editAllowlistFile(path, "refuse", (l) => l), Deno.errors.NotFound);
    assert.equal(await readAllowlistFile(path), null);
    const a = entry("clinic-a");
    await editAllowlistFile(path, "create", (l) => addAllowlistEntry(l, a));
    assert.deepEqual((await readAllowlistFile(path))?.entries, [a]);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
      assert.equal((await Deno.stat(`${dir}/keys`)).mode! & 0o777, 0o700);
    }
    assert.deepEqual([...Deno.readDirSync(`${dir}/keys`)].map((e) => e.name), ["allowlist.json"]);
  }));

Deno.test("an edit keeps the file's mode, its comments, and a symlink pointing at it", () =>
  inTempDir(async (dir) => {
    const a = generateStaticKeyPair().publicKey;
    const real = `${dir}/real.json`;
    await Deno.writeTextFile(
      real,
      JSON.stringify([{ name: "clinic-a", publicKey: keyToHex(a), comment: "east wing" }]),
    );
    await Deno.chmod(real, 0o640);
    await Deno.symlink(real, `${dir}/link.json`);
    await editAllowlistFile(`${dir}/link.json`, "refuse", (l) => addAllowlistEntry(l, entry("b")));
    assert.ok((await Deno.lstat(`${dir}/link.json`)).isSymlink, "the link is still a link");
    const list = await readAllowlistFile(real);
    assert.deepEqual(list?.entries.map((e) => [e.name, e.comment]), [
      ["clinic-a", "east wing"],
      ["b", undefined],
    ]);
    assert.equal((await Deno.stat(real)).mode! & 0o777, 0o640);
  }));

Deno.test("a malformed file, or an edit that throws, leaves the file byte for byte", () =>
  inTempDir(async (dir) => {
    const path = `${dir}/allowlist.json`;
    const bad = '[{"name": "a", "publicKey": "00"}]';
    await Deno.writeTextFile(path, bad);
    await assert.rejects(
      editAllowlistFile(path, "create", (l) => addAllowlistEntry(l, entry("b"))),
      { code: "ALLOWLIST_INVALID", message: new RegExp(`^${path}: entry 0 \\("a"\\)`) },
    );
    assert.equal(await Deno.readTextFile(path), bad);
    await Deno.writeTextFile(path, "[]");
    await assert.rejects(
      editAllowlistFile(path, "refuse", () => {
        throw new RangeError("no");
      }),
      RangeError,
    );
    assert.equal(await Deno.readTextFile(path), "[]");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["allowlist.json"], "no temp");
  }));

Deno.test("a file changed by another writer during the edit is refused, keeping that change", () =>
  inTempDir(async (dir) => {
    const path = `${dir}/allowlist.json`;
    await Deno.writeTextFile(path, "[]");
    const theirs = JSON.stringify([{ name: "theirs", publicKey: keyToHex(entry("x").publicKey) }]);
    await assert.rejects(
      editAllowlistFile(path, "refuse", (l) => {
        Deno.writeTextFileSync(path, theirs); // the other editor, between our read and write
        return addAllowlistEntry(l, entry("ours"));
      }),
      {
        code: "ALLOWLIST_CHANGED",
        message: new RegExp(`^${path} changed while it was being edited`),
      },
    );
    assert.equal(await Deno.readTextFile(path), theirs);
  }));
