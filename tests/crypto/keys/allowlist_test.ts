import assert from "node:assert/strict";
import { isNoiseError } from "../../../crypto/errors.ts";
import { Allowlist, parseAllowlist, serializeAllowlist } from "../../../crypto/keys/allowlist.ts";
import { keyToHex } from "../../../crypto/keys/hex_key.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";

const a = generateStaticKeyPair().publicKey;
const b = generateStaticKeyPair().publicKey;

function invalid(text: string, ...includes: string[]) {
  assert.throws(() => parseAllowlist(text, "allow.json"), (e) => {
    assert.ok(isNoiseError(e, "ALLOWLIST_INVALID"), String(e));
    for (const s of ["allow.json", ...includes]) {
      assert.ok(e.message.includes(s), `"${e.message}" lacks "${s}"`);
    }
    return true;
  });
}

Deno.test("a valid allowlist parses, looks up by key, and round-trips", () => {
  const text = JSON.stringify([
    { name: "clinic-a", publicKey: keyToHex(a) },
    { name: "clinic-b", publicKey: keyToHex(b).toUpperCase(), comment: "east wing" },
  ]);
  const list = parseAllowlist(text, "allow.json");
  assert.equal(list.size, 2);
  assert.equal(list.lookup(a)?.name, "clinic-a");
  assert.equal(list.lookup(b.slice())?.name, "clinic-b");
  assert.equal(list.lookup(generateStaticKeyPair().publicKey), undefined);
  assert.equal(list.lookup(a.subarray(0, 31)), undefined);
  // Mutating a returned entry does not change the list.
  list.lookup(a)!.publicKey.fill(0);
  assert.equal(list.lookup(a)?.name, "clinic-a");
  assert.equal(parseAllowlist(serializeAllowlist(list)).size, 2);
});

Deno.test("allowlist validation errors name the entry and the problem", () => {
  const ha = keyToHex(a), hb = keyToHex(b);
  invalid("{", "not valid JSON");
  invalid('{"name": "x"}', "JSON array");
  invalid("[1]", "entry 0", "object");
  invalid(
    JSON.stringify([{ name: "ok", publicKey: ha }, { name: "bad/name", publicKey: hb }]),
    "entry 1",
    '"bad/name"',
  );
  invalid(
    JSON.stringify([{ name: "x", publicKey: ha.slice(2) }]),
    "entry 0",
    '"x"',
    "64 hex digits",
  );
  invalid(JSON.stringify([{ name: "x", publicKey: "zz" + ha.slice(2) }]), "entry 0", "hex digits");
  invalid(JSON.stringify([{ name: "x", publicKey: 5 }]), "entry 0", "hex string");
  invalid(
    JSON.stringify([{ name: "x", publicKey: ha }, { name: "x", publicKey: hb }]),
    "entry 1",
    "duplicate name",
    "entry 0",
  );
  invalid(
    JSON.stringify([{ name: "x", publicKey: ha }, { name: "y", publicKey: ha.toUpperCase() }]),
    "entry 1",
    '"y"',
    "duplicate publicKey",
  );
  invalid(JSON.stringify([{ name: "x", publicKey: "00".repeat(32) }]), "entry 0", "low-order");
  invalid(
    JSON.stringify([{ name: "x", publicKey: ha, publickey: ha }]),
    "entry 0",
    'unknown field "publickey"',
  );
  invalid(JSON.stringify([{ name: "x", publicKey: ha, comment: 1 }]), "comment");
  assert.equal(parseAllowlist("[]").size, 0);
});

Deno.test("the Allowlist constructor validates too", () => {
  assert.throws(
    () => new Allowlist([{ name: "x", publicKey: new Uint8Array(31) }]),
    (e) => isNoiseError(e, "ALLOWLIST_INVALID"),
  );
  assert.throws(
    () => new Allowlist([{ name: "x", publicKey: a }, { name: "y", publicKey: a }]),
    (e) => isNoiseError(e, "ALLOWLIST_INVALID") && e.message.includes("entry 1"),
  );
});
