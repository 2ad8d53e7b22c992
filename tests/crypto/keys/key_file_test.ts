import assert from "node:assert/strict";
import { isNoiseError, type NoiseErrorCode } from "../../../crypto/errors.ts";
import {
  assertPrivateKeyMode,
  parsePrivateKeyFile,
  parsePublicKeyFile,
  serializePrivateKeyFile,
  serializePublicKeyFile,
} from "../../../crypto/keys/key_file.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import { validateKeyName } from "../../../crypto/keys/key_name.ts";
import { fingerprint } from "../../../crypto/keys/fingerprint.ts";
import { keyToHex } from "../../../crypto/keys/hex_key.ts";

function rejects(fn: () => unknown, code: NoiseErrorCode, includes?: string) {
  assert.throws(fn, (e) => {
    assert.ok(isNoiseError(e, code), `expected ${code}, got ${e}`);
    if (includes) assert.ok(e.message.includes(includes), e.message);
    return true;
  });
}

Deno.test("private key files round-trip; the public key is cross-checked", () => {
  const kp = generateStaticKeyPair();
  const text = serializePrivateKeyFile("clinic-a", kp);
  const back = parsePrivateKeyFile(text, "clinic-a.key");
  assert.equal(back.name, "clinic-a");
  assert.deepEqual(back.keyPair.secretKey, kp.secretKey);
  assert.deepEqual(back.keyPair.publicKey, kp.publicKey);
  const doc = JSON.parse(text);
  doc.publicKey = keyToHex(generateStaticKeyPair().publicKey);
  rejects(
    () => parsePrivateKeyFile(JSON.stringify(doc), "x.key"),
    "KEY_FILE_INVALID",
    "does not match",
  );
});

Deno.test("malformed private key files are refused without echoing the secret", () => {
  const kp = generateStaticKeyPair();
  const doc = JSON.parse(serializePrivateKeyFile("c", kp));
  const secretHex = doc.secretKey as string;
  const cases: [string, unknown][] = [
    ["not json", "{"],
    ["array", "[]"],
    ["wrong type", { ...doc, type: "other" }],
    ["wrong version", { ...doc, version: 2 }],
    ["short secret", { ...doc, secretKey: secretHex.slice(0, 62) }],
    ["non-hex secret", { ...doc, secretKey: "g" + secretHex.slice(1) }],
    ["bad name", { ...doc, name: "../../etc/passwd" }],
    ["missing public", { ...doc, publicKey: undefined }],
  ];
  for (const [what, v] of cases) {
    const text = typeof v === "string" ? v : JSON.stringify(v);
    assert.throws(() => parsePrivateKeyFile(text, "c.key"), (e) => {
      assert.ok(isNoiseError(e, "KEY_FILE_INVALID"), `${what}: ${e}`);
      assert.ok(e.message.includes("c.key"), what);
      assert.ok(!e.message.includes(secretHex.slice(2, 40)), `${what}: message leaks the secret`);
      return true;
    });
  }
});

Deno.test("private key mode: group/world access refused with KEY_FILE_MODE", () => {
  for (const ok of [0o600, 0o400, 0o100600, 0o700]) assertPrivateKeyMode(ok, "k.key");
  assertPrivateKeyMode(null, "k.key"); // no POSIX modes (Windows)
  for (const bad of [0o644, 0o640, 0o604, 0o660, 0o100644, 0o777, 0o610, 0o601]) {
    rejects(() => assertPrivateKeyMode(bad, "k.key"), "KEY_FILE_MODE", "chmod 600 k.key");
  }
});

Deno.test("public key files round-trip and refuse low-order keys", () => {
  const kp = generateStaticKeyPair();
  const k = parsePublicKeyFile(serializePublicKeyFile("srv", kp.publicKey), "srv.pub");
  assert.deepEqual(k, { name: "srv", publicKey: kp.publicKey });
  rejects(
    () =>
      parsePublicKeyFile(JSON.stringify({ name: "srv", publicKey: "00".repeat(32) }), "srv.pub"),
    "KEY_FILE_INVALID",
    "low-order",
  );
  rejects(
    () => parsePublicKeyFile(JSON.stringify({ name: "srv", publicKey: "abc" }), "s.pub"),
    "KEY_FILE_INVALID",
  );
});

Deno.test("a private key file given where a public key file belongs is refused, its secret not echoed", () => {
  const kp = generateStaticKeyPair();
  const text = serializePrivateKeyFile("srv", kp);
  const secretHex = keyToHex(kp.secretKey);
  try {
    parsePublicKeyFile(text, "keys/srv.key");
    assert.fail("a private key file was taken as a public key file");
  } catch (e) {
    assert.ok(isNoiseError(e) && e.code === "KEY_FILE_INVALID", String(e));
    assert.match((e as Error).message, /^key file keys\/srv\.key: this is a private key file; give the public key file/);
    assert.ok(!(e as Error).message.includes(secretHex));
  }
});

Deno.test("key names and fingerprints", () => {
  for (const ok of ["a", "clinic-a", "Clinic_2.east", "x".repeat(64)]) {
    assert.equal(validateKeyName(ok), ok);
  }
  for (const bad of ["", ".hidden", "-x", "a/b", "a\\b", "x".repeat(65), "é", 3]) {
    rejects(() => validateKeyName(bad), "INVALID_NAME");
  }
  const kp = generateStaticKeyPair();
  const fp = fingerprint(kp.publicKey);
  assert.match(fp, /^[0-9a-f]{4}(:[0-9a-f]{4}){3}$/);
  assert.equal(fp, fingerprint(kp.publicKey.slice()));
  assert.notEqual(fp, fingerprint(generateStaticKeyPair().publicKey));
  // Known answer: SHA-256 of 32 zero bytes starts with 66687aadf862bd77.
  assert.equal(fingerprint(new Uint8Array(32)), "6668:7aad:f862:bd77");
});
