import assert from "node:assert/strict";
import { isNoiseError, type NoiseErrorCode } from "../../../crypto/errors.ts";
import { initiatorHandshake, responderHandshake } from "../../../crypto/channel/handshake.ts";
import { Allowlist } from "../../../crypto/keys/allowlist.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import { HandshakeState } from "../../../crypto/noise/handshake_state.ts";
import { CHANNEL_PROLOGUE } from "../../../crypto/channel/handshake.ts";
import { compareTai64n, Tai64nClock, tai64nFromMs, tai64nToMs } from "../../../crypto/channel/tai64n.ts";
import { LOW_ORDER_POINTS } from "../low_order_points.ts";

function rejects(fn: () => unknown, code: NoiseErrorCode) {
  assert.throws(
    fn,
    (e) => isNoiseError(e) && e.code === code ? true : assert.fail(`${code}: got ${e}`),
  );
}

const server = generateStaticKeyPair();
const clinicA = generateStaticKeyPair();
const clinicB = generateStaticKeyPair();
const allowlist = new Allowlist([
  { name: "clinic-a", publicKey: clinicA.publicKey },
  { name: "clinic-b", publicKey: clinicB.publicKey },
]);
const responder = { staticKeyPair: server, lookupPeer: (k: Uint8Array) => allowlist.lookup(k) };

Deno.test("IK handshake: the server identifies the clinic, both channels work", () => {
  const hs = initiatorHandshake({ staticKeyPair: clinicB, serverPublicKey: server.publicKey });
  const r = responderHandshake(responder, hs.message1);
  assert.equal(r.peerName, "clinic-b");
  assert.deepEqual(r.peerPublicKey, clinicB.publicKey);
  const c = hs.finish(r.message2);
  assert.deepEqual(c.remoteStaticKey, server.publicKey);
  assert.deepEqual(r.channel.remoteStaticKey, clinicB.publicKey);
  assert.deepEqual(r.channel.open(c.seal(1, Uint8Array.of(1, 2))).payload, Uint8Array.of(1, 2));
  assert.deepEqual(c.open(r.channel.seal(1, Uint8Array.of(3))).payload, Uint8Array.of(3));
  // finish can run once only.
  rejects(() => hs.finish(r.message2), "INVALID_STATE");
});

Deno.test("an unknown clinic key is rejected with UNKNOWN_PEER", () => {
  const stranger = generateStaticKeyPair();
  const hs = initiatorHandshake({ staticKeyPair: stranger, serverPublicKey: server.publicKey });
  rejects(() => responderHandshake(responder, hs.message1), "UNKNOWN_PEER");
});

Deno.test("a wrong server key: the server cannot read message 1, the clinic cannot read a foreign message 2", () => {
  const impostor = generateStaticKeyPair();
  // Clinic pinned the impostor's key, talks to the real server.
  const hs = initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: impostor.publicKey });
  rejects(() => responderHandshake(responder, hs.message1), "BAD_TAG");
  // Clinic pinned the real server's key; an impostor answers with its own valid handshake.
  const hs2 = initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey });
  const other = initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: impostor.publicKey });
  const fake = responderHandshake(
    { staticKeyPair: impostor, lookupPeer: () => ({ name: "x" }) },
    other.message1,
  );
  rejects(() => hs2.finish(fake.message2), "BAD_TAG");
  // And a garbled message 2 from the real server.
  const hs3 = initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey });
  const good = responderHandshake(responder, hs3.message1);
  const bad = good.message2.slice();
  bad[40] ^= 1;
  rejects(() => hs3.finish(bad), "BAD_TAG");
  rejects(() => hs3.finish(good.message2.subarray(0, 20)), "INVALID_STATE");
  const hs4 = initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey });
  rejects(() => hs4.finish(new Uint8Array(20)), "MALFORMED_MESSAGE");
});

Deno.test("IKpsk2: matching psk works; missing or different psk fails", () => {
  const psk = new Uint8Array(32).fill(0x42);
  const hs = initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey, psk });
  const r = responderHandshake({ ...responder, psk }, hs.message1);
  const c = hs.finish(r.message2);
  assert.deepEqual(r.channel.open(c.seal(1, Uint8Array.of(7))).payload, Uint8Array.of(7));
  // Different protocol names (IK vs IKpsk2) diverge at once.
  const noPsk = initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey });
  rejects(() => responderHandshake({ ...responder, psk }, noPsk.message1), "BAD_TAG");
  // Same pattern, other psk: psk2 enters in message 2, so the clinic detects it.
  const hs2 = initiatorHandshake({
    staticKeyPair: clinicA,
    serverPublicKey: server.publicKey,
    psk: new Uint8Array(32).fill(1),
  });
  const r2 = responderHandshake({ ...responder, psk }, hs2.message1);
  rejects(() => hs2.finish(r2.message2), "BAD_TAG");
});

Deno.test("application data in handshake message 1 is refused (UNEXPECTED_PAYLOAD)", () => {
  // Build an IK message 1 with a payload by hand, with the same prologue and protocol.
  const hs = new HandshakeState({
    protocolName: "Noise_IK_25519_ChaChaPoly_SHA256",
    initiator: true,
    prologue: new TextEncoder().encode(CHANNEL_PROLOGUE),
    staticKeyPair: clinicA,
    remoteStaticKey: server.publicKey,
  });
  const m1 = hs.writeMessage(new TextEncoder().encode("replayable early data"));
  rejects(() => responderHandshake(responder, m1), "UNEXPECTED_PAYLOAD");
});

Deno.test("low-order keys in the handshake are rejected with LOW_ORDER_POINT", () => {
  for (const p of LOW_ORDER_POINTS) {
    rejects(
      () => initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: p }),
      "LOW_ORDER_POINT",
    );
    const hs = initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey });
    const m1 = hs.message1.slice();
    m1.set(p, 0); // clinic ephemeral replaced
    rejects(() => responderHandshake(responder, m1), "LOW_ORDER_POINT");
  }
});

Deno.test("handshakes with different prologues do not interoperate", () => {
  const hs = initiatorHandshake({
    staticKeyPair: clinicA,
    serverPublicKey: server.publicKey,
    prologue: Uint8Array.of(1),
  });
  rejects(
    () => responderHandshake({ ...responder, prologue: Uint8Array.of(2) }, hs.message1),
    "BAD_TAG",
  );
});

Deno.test("message 1 carries its TAI64N timestamp, encrypted; without one it is refused (UNEXPECTED_PAYLOAD)", () => {
  const ts = tai64nFromMs(1_765_000_000_123);
  const hs = initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey, timestamp: ts });
  assert.equal(hs.message1.length, 32 + 48 + 12 + 16);
  // Encrypted: the label's bytes do not appear in the message.
  const at = (hay: Uint8Array, needle: Uint8Array) =>
    hay.some((_, i) => needle.every((b, j) => hay[i + j] === b));
  assert.equal(at(hs.message1, ts), false);
  const r = responderHandshake(responder, hs.message1);
  assert.deepEqual(r.timestamp, ts);
  assert.equal(tai64nToMs(r.timestamp), 1_765_000_000_123);
  // A message 1 of the previous wire format (empty payload) names what is missing.
  const old = new HandshakeState({
    protocolName: "Noise_IK_25519_ChaChaPoly_SHA256",
    initiator: true,
    prologue: new TextEncoder().encode(CHANNEL_PROLOGUE),
    staticKeyPair: clinicA,
    remoteStaticKey: server.publicKey,
  });
  assert.throws(() => responderHandshake(responder, old.writeMessage(new Uint8Array(0))), {
    name: "NoiseError",
    message: /carries 0 payload bytes; expected a 12-byte TAI64N timestamp/,
  });
  assert.throws(
    () => initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey, timestamp: new Uint8Array(8) }),
    { name: "RangeError", message: /timestamp of 8 bytes: expected a 12-byte TAI64N label/ },
  );
});

Deno.test("default timestamps increase strictly, also within one millisecond", () => {
  const a = responderHandshake(responder, initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey }).message1);
  const b = responderHandshake(responder, initiatorHandshake({ staticKeyPair: clinicA, serverPublicKey: server.publicKey }).message1);
  assert.equal(compareTai64n(a.timestamp, b.timestamp), -1);
});

Deno.test("TAI64N: WireGuard's label layout, byte order is time order, the clock never repeats", () => {
  // 2^62 + 10 + 1 s, then 5 ms as nanoseconds (D. J. Bernstein, "TAI64, TAI64N").
  assert.deepEqual(tai64nFromMs(1005), Uint8Array.of(0x40, 0, 0, 0, 0, 0, 0, 11, 0x00, 0x4c, 0x4b, 0x40));
  assert.equal(compareTai64n(tai64nFromMs(999), tai64nFromMs(1000)), -1);
  assert.equal(compareTai64n(tai64nFromMs(2000), tai64nFromMs(1999)), 1);
  let t = 50;
  const clock = new Tai64nClock(() => t);
  const seen = [clock.next(), clock.next()];
  t = 10; // the wall clock steps back
  seen.push(clock.next());
  assert.deepEqual(seen.map(tai64nToMs), [50, 51, 52]);
  assert.throws(() => tai64nFromMs(-1), { name: "RangeError", message: /timestamp -1: expected a non-negative integer/ });
});
