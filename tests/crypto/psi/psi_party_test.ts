import assert from "node:assert/strict";
import fc from "fast-check";
import { sha512 } from "@noble/hashes/sha2.js";
import { expand_message_xmd } from "@noble/curves/abstract/hash-to-curve.js";
import {
  decodePoints,
  deriveElement,
  encodePoints,
  type GroupElement,
  hashIdentifier,
  PSI_DST,
  PsiParty,
  RistrettoPoint,
} from "../../../crypto/psi/mod.ts";
import { isNoiseError } from "../../../crypto/errors.ts";

const FORMAT = { pattern: "^[0-9]{1,9}$", name: "patient_nbr" };
const utf8 = new TextEncoder();
const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

/** Runs both rounds; returns each side's result and everything each side received. */
function run(aIds: string[], bIds: string[], opts: { padTo?: [number, number] } = {}) {
  const a = new PsiParty(aIds, { format: FORMAT, padTo: opts.padTo?.[0] });
  const b = new PsiParty(bIds, { format: FORMAT, padTo: opts.padTo?.[1] });
  const xa = a.blindedSet(), xb = b.blindedSet();
  const xbA = a.evaluate(xb), xaB = b.evaluate(xa);
  const ra = a.finish(xaB), rb = b.finish(xbA);
  // What B received from A: A's blinded set, and B's own set evaluated by A.
  return { ra, rb, bReceived: [xa, xbA], bComputed: xaB };
}

// RFC 9496 Appendix A.3: element derivation from SHA-512 of each label.
const RFC9496_A3: [string, string][] = [
  [
    "Ristretto is traditionally a short shot of espresso coffee",
    "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46",
  ],
  [
    "made with the normal amount of ground coffee but extracted with",
    "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b",
  ],
  [
    "about half the amount of water in the same amount of time",
    "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826",
  ],
  ["by using a finer grind.", "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a"],
  [
    "This produces a concentrated shot of coffee per volume.",
    "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179",
  ],
  [
    "Just pulling a normal shot short will produce a weaker shot",
    "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628",
  ],
  [
    "and is not a Ristretto as some believe.",
    "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065",
  ],
];

Deno.test("KAT: RFC 9496 A.3 element derivation (the map hashIdentifier ends with)", () => {
  for (const [label, want] of RFC9496_A3) {
    assert.equal(hexOf(deriveElement(sha512(utf8.encode(label))).toBytes()), want, label);
  }
});

Deno.test("KAT: RFC 9380 K.3 expand_message_xmd(SHA-512), and hashIdentifier = derive(expand(id, PSI_DST, 64))", () => {
  const dst = "QUUX-V01-CS02-with-expander-SHA512-256";
  assert.equal(
    hexOf(expand_message_xmd(new Uint8Array(), dst, 32, sha512)),
    "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba",
  );
  assert.equal(
    hexOf(expand_message_xmd(utf8.encode("abc"), dst, 32, sha512)),
    "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc",
  );
  assert.equal(
    hexOf(expand_message_xmd(utf8.encode("abcdef0123456789"), dst, 32, sha512)),
    "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58",
  );
  for (const id of ["0", "8222157", "123456789"]) {
    const want = deriveElement(expand_message_xmd(utf8.encode(id), PSI_DST, 64, sha512));
    assert.ok(hashIdentifier(id).equals(want), id);
  }
});

Deno.test("the intersection is exact, and both sides hold it in one order", () => {
  const idSet = fc.uniqueArray(fc.integer({ min: 0, max: 400 }).map(String), { maxLength: 25 });
  fc.assert(
    fc.property(idSet, idSet, (aIds, bIds) => {
      const { ra, rb } = run(aIds, bIds);
      const want = aIds.filter((x) => bIds.includes(x)).sort();
      assert.deepEqual([...ra.identifiers!].sort(), want);
      assert.equal(ra.size, want.length);
      assert.deepEqual(ra.identifiers, rb.identifiers); // the agreed order
      assert.deepEqual(ra.rows.map((r) => aIds[r]), ra.identifiers);
      assert.deepEqual(rb.rows.map((r) => bIds[r]), rb.identifiers);
      assert.equal(ra.peerSetSize, bIds.length);
    }),
    { numRuns: 25 },
  );
});

Deno.test("reveal: size gives the size and the aligned rows, no identifiers", () => {
  const a = new PsiParty(["1", "2", "3", "4"], { format: FORMAT, reveal: "size" });
  const b = new PsiParty(["4", "3", "9"], { format: FORMAT, reveal: "size" });
  const xa = a.blindedSet(), xb = b.blindedSet();
  const ya = b.evaluate(xa), yb = a.evaluate(xb);
  const ra = a.finish(ya), rb = b.finish(yb);
  assert.equal(ra.size, 2);
  assert.equal(ra.identifiers, undefined);
  assert.equal(rb.identifiers, undefined);
  assert.deepEqual(
    ra.rows.map((r) => ["1", "2", "3", "4"][r]),
    rb.rows.map((r) => ["4", "3", "9"][r]),
  );
});

Deno.test("padTo hides the set size and changes nothing else", () => {
  const { ra, rb } = run(["1", "2", "3"], ["3", "4"], { padTo: [10, 10] });
  assert.equal(ra.peerSetSize, 10);
  assert.equal(rb.peerSetSize, 10);
  assert.deepEqual(ra.identifiers, ["3"]);
  assert.deepEqual(rb.identifiers, ["3"]);
});

/** Every point in `view` (encoded lists). */
function points(view: Uint8Array[]): GroupElement[] {
  return view.flatMap((b) => decodePoints(b));
}

Deno.test("what B receives reveals none of A's non-matching identifiers to any key B knows", () => {
  const aIds = ["101", "102", "103", "104", "105"], bIds = ["104", "105", "106"];
  // B's own key is not exposed by the API; B's view is checked against k = 1 (H(id) itself)
  // and against every scalar B could try: here, a fresh scalar stands in for "not A's key".
  const { rb, bReceived, bComputed } = run(aIds, bIds);
  assert.deepEqual([...rb.identifiers!].sort(), ["104", "105"]);
  const view = points([...bReceived, bComputed]);
  const guesses = [...aIds, ...bIds];
  const otherKey = 0x1234567890abcdefn;
  for (const id of guesses) {
    const h = hashIdentifier(id);
    for (const p of view) {
      assert.ok(!p.equals(h), `H(${id}) appears in B's view`);
      assert.ok(!p.equals(h.multiply(otherKey)), `H(${id})^k appears for a key B knows`);
    }
  }
  // The non-matching identifiers of A are not in B's result, and B's blinded view of A's set
  // has exactly |A| elements: their count, nothing about which ones.
  assert.equal(decodePoints(bReceived[0]).length, aIds.length);
});

Deno.test("without the peer's key the blinded sets cannot be matched: A's and B's blinded sets share no element", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 99 }).map(String), { minLength: 1, maxLength: 10 }),
      (ids) => {
        const a = new PsiParty(ids, { format: FORMAT }), b = new PsiParty(ids, { format: FORMAT });
        const xa = points([a.blindedSet()]).map((p) => hexOf(p.toBytes()));
        const xb = new Set(points([b.blindedSet()]).map((p) => hexOf(p.toBytes())));
        assert.ok(xa.every((x) => !xb.has(x))); // the same identifiers, unlinkable under one key each
      },
    ),
    { numRuns: 10 },
  );
});

Deno.test("identifiers not of the agreed form are refused, naming the row (not the value)", () => {
  for (
    const [ids, row] of [[["1", "2", "x7"], "row 2"], [["1", " 2"], "row 1"], [
      ["1", "1234567890"],
      "row 1",
    ], [["5", "5"], "rows 0 and 1"]] as const
  ) {
    assert.throws(() => new PsiParty([...ids], { format: FORMAT }), (e) => {
      assert.ok(isNoiseError(e) && e.code === "PSI_INVALID_IDENTIFIER", String(e));
      assert.ok((e as Error).message.includes(row), (e as Error).message);
      assert.ok(!(e as Error).message.includes("x7"));
      return true;
    });
  }
  // A pattern without anchors still has to match the whole identifier.
  assert.throws(() => new PsiParty(["12ab"], { format: { pattern: "[0-9]+" } }), /row 0/);
  assert.throws(
    () => new PsiParty(["1"], { format: { pattern: "(" } }),
    /not a valid regular expression/,
  );
});

Deno.test("malformed messages and misuse are refused; the party is then dead", () => {
  const a = new PsiParty(["1", "2"], { format: FORMAT });
  assert.throws(() => a.evaluate(new Uint8Array(32)), /stage new/);
  const b = new PsiParty(["1", "2"], { format: FORMAT });
  b.blindedSet();
  assert.throws(() => b.blindedSet(), (e) => isNoiseError(e) && e.code === "PSI_INVALID_STATE");
  const c = new PsiParty(["1", "2"], { format: FORMAT });
  c.blindedSet();
  assert.throws(() => c.evaluate(new Uint8Array(33)), /not a multiple of 32/);
  const d = new PsiParty(["1"], { format: FORMAT });
  d.blindedSet();
  assert.throws(() => d.evaluate(encodePoints([RistrettoPoint.ZERO])), /identity/);
  const e = new PsiParty(["1"], { format: FORMAT });
  e.blindedSet();
  assert.throws(() => e.evaluate(fromHex("ff".repeat(32))), /canonical/);
  const f = new PsiParty(["1", "2"], { format: FORMAT }),
    g = new PsiParty(["2"], { format: FORMAT });
  f.blindedSet();
  f.evaluate(g.blindedSet());
  assert.throws(
    () => f.finish(encodePoints([hashIdentifier("1")])),
    /32 bytes, expected 2 elements/,
  );
  assert.throws(() => f.finish(new Uint8Array(64)), /stage dead/);
  assert.throws(() => new PsiParty(["1", "2"], { format: FORMAT, padTo: 1 }), /padTo 1/);
});
