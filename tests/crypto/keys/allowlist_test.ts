import assert from "node:assert/strict";
import fc from "fast-check";
import { isNoiseError } from "../../../crypto/errors.ts";
import {
  addAllowlistEntry,
  Allowlist,
  parseAllowlist,
  removeAllowlistEntry,
  serializeAllowlist,
} from "../../../crypto/keys/allowlist.ts";
import { keyToHex } from "../../../crypto/keys/hex_key.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import { isLowOrderPoint } from "../../../crypto/noise/dh.ts";

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

// --- editing: addAllowlistEntry / removeAllowlistEntry ---

const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => !isLowOrderPoint(k));
const nameArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/);
const entriesArb = fc.uniqueArray(fc.record({ name: nameArb, publicKey: keyArb }), {
  maxLength: 8,
  selector: (e) => e.name,
}).filter((es) => new Set(es.map((e) => keyToHex(e.publicKey))).size === es.length);

Deno.test("property: adding an entry then removing it gives back the original list", () => {
  fc.assert(
    fc.property(entriesArb, nameArb, keyArb, (entries, name, publicKey) => {
      fc.pre(
        !entries.some((e) => e.name === name || keyToHex(e.publicKey) === keyToHex(publicKey)),
      );
      const list = new Allowlist(entries);
      const added = addAllowlistEntry(list, { name, publicKey });
      assert.equal(added.size, list.size + 1);
      assert.equal(added.entries.at(-1)!.name, name, "appended at the end");
      const { list: back, removed } = removeAllowlistEntry(added, name);
      assert.deepEqual(removed, { name, publicKey });
      assert.equal(serializeAllowlist(back), serializeAllowlist(list));
      assert.deepEqual(back.entries, list.entries);
    }),
  );
});

Deno.test("property: a listed name or a listed key is refused, naming the entry that has it", () => {
  fc.assert(
    fc.property(
      entriesArb.filter((es) => es.length > 0),
      fc.nat(),
      nameArb,
      keyArb,
      (entries, pick, name, publicKey) => {
        const list = new Allowlist(entries);
        const i = pick % entries.length;
        fc.pre(
          !entries.some((e) => e.name === name || keyToHex(e.publicKey) === keyToHex(publicKey)),
        );
        assert.throws(() => addAllowlistEntry(list, { name: entries[i].name, publicKey }), (e) => {
          assert.ok(isNoiseError(e, "ALLOWLIST_DUPLICATE"), String(e));
          assert.ok(
            e.message.includes(`"${entries[i].name}" is already listed (entry ${i}`),
            e.message,
          );
          return true;
        });
        assert.throws(
          () => addAllowlistEntry(list, { name, publicKey: entries[i].publicKey }),
          (e) => {
            assert.ok(isNoiseError(e, "ALLOWLIST_DUPLICATE"), String(e));
            assert.ok(
              e.message.includes(`already listed as "${entries[i].name}" (entry ${i})`),
              e.message,
            );
            return true;
          },
        );
        assert.equal(
          serializeAllowlist(list),
          serializeAllowlist(new Allowlist(entries)),
          "unchanged",
        );
      },
    ),
  );
});

Deno.test("removing an unknown name names it and lists the known names", () => {
  const list = new Allowlist([{ name: "clinic-a", publicKey: a }, {
    name: "clinic-b",
    publicKey: b,
  }]);
  assert.throws(() => removeAllowlistEntry(list, "clinic-c"), {
    name: "NoiseError",
    code: "ALLOWLIST_UNKNOWN_NAME",
    message: 'no entry is named "clinic-c"; known names: clinic-a, clinic-b',
  });
  assert.throws(() => removeAllowlistEntry(new Allowlist([]), "x"), {
    code: "ALLOWLIST_UNKNOWN_NAME",
    message: 'no entry is named "x"; the allowlist is empty',
  });
  const many = new Allowlist(
    Array.from(
      { length: 23 },
      (_, i) => ({ name: `c${i}`, publicKey: generateStaticKeyPair().publicKey }),
    ),
  );
  assert.throws(() => removeAllowlistEntry(many, "x"), { message: /c19 and 3 more$/ });
});

Deno.test("adding refuses a bad name or key with ALLOWLIST_INVALID", () => {
  const list = new Allowlist([{ name: "clinic-a", publicKey: a }]);
  assert.throws(() => addAllowlistEntry(list, { name: "../x", publicKey: b }), {
    code: "ALLOWLIST_INVALID",
    message: /cannot add "\.\.\/x"/,
  });
  assert.throws(() => addAllowlistEntry(list, { name: "y", publicKey: b.subarray(1) }), {
    code: "ALLOWLIST_INVALID",
    message: /"publicKey" must be 32 bytes/,
  });
});

Deno.test("comments survive parse, edit and serialize", () => {
  const text = JSON.stringify([
    { name: "clinic-a", publicKey: keyToHex(a), comment: "east wing, since 2024" },
  ]);
  const list = addAllowlistEntry(parseAllowlist(text, "allow.json"), {
    name: "clinic-b",
    publicKey: b,
  });
  const again = parseAllowlist(serializeAllowlist(list), "allow.json");
  assert.deepEqual(again.entries, [
    { name: "clinic-a", publicKey: a, comment: "east wing, since 2024" },
    { name: "clinic-b", publicKey: b },
  ]);
  assert.equal(
    removeAllowlistEntry(again, "clinic-b").list.entries[0].comment,
    "east wing, since 2024",
  );
});
