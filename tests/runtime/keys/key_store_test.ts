import assert from "node:assert/strict";
import { isNoiseError } from "../../../crypto/errors.ts";
import { generateStaticKeyPair, keyToHex } from "../../../crypto/keys/mod.ts";
import {
  loadAllowlist,
  loadPrivateKeyFile,
  loadPublicKeyFile,
  writeKeyPairFiles,
} from "../../../runtime/keys/key_store.ts";

const posix = Deno.build.os !== "windows";

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "splitgate_keys_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("key pair files are written 0600/0644 and load back", async () => {
  await withTempDir(async (dir) => {
    const kp = generateStaticKeyPair();
    const p = await writeKeyPairFiles(`${dir}/keys`, "clinic-a", kp);
    assert.equal(p.privateKeyPath, `${dir}/keys/clinic-a.key`);
    if (posix) assert.equal((await Deno.stat(p.privateKeyPath)).mode! & 0o777, 0o600);
    const priv = await loadPrivateKeyFile(p.privateKeyPath);
    assert.equal(priv.name, "clinic-a");
    assert.deepEqual(priv.keyPair.secretKey, kp.secretKey);
    const pub = await loadPublicKeyFile(p.publicKeyPath);
    assert.deepEqual(pub.publicKey, kp.publicKey);
  });
});

Deno.test("existing key files are never overwritten", async () => {
  await withTempDir(async (dir) => {
    const first = generateStaticKeyPair();
    const p = await writeKeyPairFiles(dir, "srv", first);
    const before = await Deno.readTextFile(p.privateKeyPath);
    await assert.rejects(
      writeKeyPairFiles(dir, "srv", generateStaticKeyPair()),
      Deno.errors.AlreadyExists,
    );
    assert.equal(await Deno.readTextFile(p.privateKeyPath), before);
    // Only the .pub exists: still refused, and no .key is created.
    await Deno.remove(p.privateKeyPath);
    await assert.rejects(
      writeKeyPairFiles(dir, "srv", generateStaticKeyPair()),
      Deno.errors.AlreadyExists,
    );
    await assert.rejects(Deno.stat(p.privateKeyPath), Deno.errors.NotFound);
    await assert.rejects(
      writeKeyPairFiles(dir, "../evil", first),
      (e) => isNoiseError(e, "INVALID_NAME"),
    );
  });
});

Deno.test({
  name: "a group- or world-readable private key file is refused with KEY_FILE_MODE",
  ignore: !posix,
  fn: async () => {
    await withTempDir(async (dir) => {
      const p = await writeKeyPairFiles(dir, "clinic-a", generateStaticKeyPair());
      for (const mode of [0o644, 0o640, 0o604]) {
        await Deno.chmod(p.privateKeyPath, mode);
        await assert.rejects(loadPrivateKeyFile(p.privateKeyPath), (e) => {
          assert.ok(isNoiseError(e, "KEY_FILE_MODE"), String(e));
          assert.ok(e.message.includes(p.privateKeyPath) && e.message.includes(mode.toString(8)));
          return true;
        });
      }
      await Deno.chmod(p.privateKeyPath, 0o600);
      assert.equal((await loadPrivateKeyFile(p.privateKeyPath)).name, "clinic-a");
      // A key file written by other means with 0644 is refused too.
      const other = `${dir}/copied.key`;
      await Deno.writeTextFile(other, await Deno.readTextFile(p.privateKeyPath), { mode: 0o644 });
      await Deno.chmod(other, 0o644);
      await assert.rejects(loadPrivateKeyFile(other), (e) => isNoiseError(e, "KEY_FILE_MODE"));
    });
  },
});

Deno.test("allowlist files load and report invalid entries", async () => {
  await withTempDir(async (dir) => {
    const a = generateStaticKeyPair().publicKey;
    await Deno.writeTextFile(
      `${dir}/allow.json`,
      JSON.stringify([{ name: "clinic-a", publicKey: keyToHex(a) }]),
    );
    const list = await loadAllowlist(`${dir}/allow.json`);
    assert.equal(list.lookup(a)?.name, "clinic-a");
    await Deno.writeTextFile(
      `${dir}/bad.json`,
      JSON.stringify([{ name: "clinic-a", publicKey: keyToHex(a) }, {
        name: "clinic-a",
        publicKey: keyToHex(a),
      }]),
    );
    await assert.rejects(
      loadAllowlist(`${dir}/bad.json`),
      (e) =>
        isNoiseError(e, "ALLOWLIST_INVALID") && e.message.includes("bad.json") &&
        e.message.includes("entry 1"),
    );
    await assert.rejects(loadAllowlist(`${dir}/missing.json`), Deno.errors.NotFound);
    await Deno.writeTextFile(`${dir}/huge.json`, " ".repeat(1024 * 1024 + 1));
    await assert.rejects(
      loadAllowlist(`${dir}/huge.json`),
      (e) => isNoiseError(e, "KEY_FILE_INVALID"),
    );
  });
});
