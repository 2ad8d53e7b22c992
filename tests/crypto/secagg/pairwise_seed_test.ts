import assert from "node:assert/strict";
import { pairContext, pairwiseSeed } from "../../../crypto/secagg/pairwise_seed.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";

const hexToBytes = (h: string) => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// RFC 7748 §6.1: Alice's and Bob's X25519 keys; their shared secret is 4a5d9d5b…1e161742.
const alice = generateKeyPair(
  hexToBytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
);
const bob = generateKeyPair(
  hexToBytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
);

Deno.test("KAT: the HKDF info layout of one pair", () => {
  assert.equal(
    hex(pairContext("study-1", 7, "clinic-b", "clinic-a")),
    hex(new TextEncoder().encode("splitgate/secagg/pair/v1")) +
      "0007" + hex(new TextEncoder().encode("study-1")) + "00000007" +
      "08" + hex(new TextEncoder().encode("clinic-a")) + "08" +
      hex(new TextEncoder().encode("clinic-b")),
  );
});

Deno.test("KAT: RFC 7748 keys → HKDF-SHA256 seeds (expected values from `openssl kdf … HKDF`)", () => {
  assert.equal(
    hex(alice.publicKey),
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
  const fromAlice = (round: number) =>
    pairwiseSeed({
      own: alice,
      ownName: "clinic-a",
      peerName: "clinic-b",
      peerKey: bob.publicKey,
      study: "study-1",
      round,
    });
  const fromBob = (round: number) =>
    pairwiseSeed({
      own: bob,
      ownName: "clinic-b",
      peerName: "clinic-a",
      peerKey: alice.publicKey,
      study: "study-1",
      round,
    });
  assert.equal(
    hex(fromAlice(7)),
    "108ab92af87f55b3a3f0e8ce248e0d54380e7908945e9531c7918f8789237309",
  );
  assert.equal(hex(fromBob(7)), "108ab92af87f55b3a3f0e8ce248e0d54380e7908945e9531c7918f8789237309");
  assert.equal(
    hex(fromAlice(8)),
    "cb4f36d68182453b86fe2a459b69d3a33d78cda3301079404bd2052745dd91f6",
  );
});

Deno.test("seeds differ by study, round and pair", () => {
  const c = generateKeyPair();
  const seed = (study: string, round: number, peerName: string, peerKey: Uint8Array) =>
    hex(pairwiseSeed({ own: alice, ownName: "clinic-a", peerName, peerKey, study, round }));
  const all = [
    seed("study-1", 1, "clinic-b", bob.publicKey),
    seed("study-2", 1, "clinic-b", bob.publicKey),
    seed("study-1", 2, "clinic-b", bob.publicKey),
    seed("study-1", 1, "clinic-c", bob.publicKey), // same key, other name: other seed
    seed("study-1", 1, "clinic-b", c.publicKey),
  ];
  assert.equal(new Set(all).size, all.length);
});

Deno.test("a pair of one name, a round outside u32 and a low-order peer key are refused", () => {
  assert.throws(() => pairContext("s", 1, "a", "a"), {
    code: "INVALID_PARAMS",
    message: /got a twice/,
  });
  assert.throws(() => pairContext("s", 2 ** 32, "a", "b"), {
    code: "INVALID_PARAMS",
    message: /round 4294967296/,
  });
  assert.throws(
    () =>
      pairwiseSeed({
        own: alice,
        ownName: "a",
        peerName: "b",
        peerKey: new Uint8Array(32),
        study: "s",
        round: 0,
      }),
    { name: "NoiseError", code: "LOW_ORDER_POINT" },
  );
});
