import assert from "node:assert/strict";
import fc from "fast-check";
import { NoiseError } from "../../../crypto/errors.ts";
import { initiatorHandshake, responderHandshake } from "../../../crypto/channel/handshake.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import { AEAD_PATHS, aeadLabel, channelPairOn } from "./channel_pair.ts";

const MAX_FRAME = 512;

type Mutation =
  | { kind: "flip"; positions: number[]; bits: number[] }
  | { kind: "truncate"; length: number }
  | { kind: "extend"; extra: Uint8Array }
  | { kind: "overwrite"; position: number; bytes: Uint8Array }
  | { kind: "random"; bytes: Uint8Array }
  | { kind: "huge"; length: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    positions: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
    bits: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 4, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), length: fc.nat() }),
  fc.record({
    kind: fc.constant("extend" as const),
    extra: fc.uint8Array({ minLength: 1, maxLength: 600 }),
  }),
  fc.record({
    kind: fc.constant("overwrite" as const),
    position: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }),
  }),
  fc.record({ kind: fc.constant("random" as const), bytes: fc.uint8Array({ maxLength: 700 }) }),
  fc.record({
    kind: fc.constant("huge" as const),
    length: fc.integer({ min: MAX_FRAME + 1, max: 1 << 22 }),
  }),
);

function mutate(frame: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case "flip": {
      const out = frame.slice();
      m.positions.forEach((p, i) => (out[p % out.length] ^= 1 << m.bits[i]));
      return out;
    }
    case "truncate":
      return frame.slice(0, m.length % frame.length);
    case "extend": {
      const out = new Uint8Array(frame.length + m.extra.length);
      out.set(frame);
      out.set(m.extra, frame.length);
      return out;
    }
    case "overwrite": {
      const out = frame.slice();
      out.set(
        m.bytes.subarray(0, Math.max(0, out.length - (m.position % out.length))),
        m.position % out.length,
      );
      return out;
    }
    case "random":
      return m.bytes;
    case "huge": {
      const out = new Uint8Array(m.length);
      out.set(frame);
      return out;
    }
  }
}

const equal = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

// Every test of this block runs once per AEAD path (docs/design/transport.md): native and @noble,
// ChaChaPoly and AESGCM must refuse the same attacks with the same codes.
for (const aead of AEAD_PATHS) {
  const channelPair = channelPairOn(aead);

  Deno.test(`[${aeadLabel(aead)}] 10,000 random mutations of valid frames: only NoiseErrors, bound before decryption, state untouched`, () => {
    const { clinic, server } = channelPair({ maxFrameSize: MAX_FRAME, rekeyInterval: 64 });
    // A pool of valid frames in several sizes (and two epochs), never opened during the fuzzing.
    const pool = Array.from(
      { length: 80 },
      (_, i) =>
        clinic.seal(i % 5, new Uint8Array((i * 37) % (clinic.maxPayloadSize + 1)).fill(i), {
          final: i % 2 === 0,
        }),
    ).filter((_, i) => i % 10 === 0 || i >= 70);
    let runs = 0, oversize = 0;
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.nat({ max: pool.length - 1 }), mutationArb, (index, m) => {
        const bad = mutate(pool[index], m);
        if (pool.some((f) => equal(f, bad))) return; // a no-op mutation is not a mutation
        runs++;
        const before = server.stats.decryptAttempts;
        try {
          server.open(bad);
          assert.fail(`mutated frame (${m.kind}) was accepted`);
        } catch (e) {
          if (!(e instanceof NoiseError)) throw e;
          seen.set(e.code, (seen.get(e.code) ?? 0) + 1);
          const attempts = server.stats.decryptAttempts - before;
          assert.ok(attempts <= 1);
          if (bad.length > MAX_FRAME) {
            oversize++;
            assert.equal(e.code, "FRAME_TOO_LARGE");
            assert.equal(attempts, 0, "oversize frame must be refused before decryption");
          }
          if (e.code !== "BAD_TAG") {
            assert.equal(attempts, 0, `${e.code} must be decided before decryption`);
          }
        }
      }),
      { numRuns: 10_000, seed: 0x5eed },
    );
    assert.ok(runs > 9_000, `too many no-op mutations: ${runs}`);
    assert.ok(oversize > 100);
    for (const code of ["BAD_TAG", "MALFORMED_FRAME", "FRAME_TOO_LARGE"]) {
      assert.ok((seen.get(code) ?? 0) > 0, `mutations should also produce ${code}: ${[...seen]}`);
    }
    assert.equal(server.stats.opened, 0);
    assert.equal(server.stats.rekeys, 0, "no forged frame moved the receiver's epoch");
    // The channel was never half-updated: every genuine frame still opens.
    for (const f of pool) server.open(f);
    assert.equal(server.stats.opened, pool.length);
  });
}

// The handshake always runs on @noble, so only the cipher varies here.
for (const cipher of ["chachapoly", "aesgcm"] as const) {
  Deno.test(`[${cipher}] 1,000 random mutations of handshake message 1: only NoiseErrors`, () => {
    const server = generateStaticKeyPair(), clinic = generateStaticKeyPair();
    const responder = { staticKeyPair: server, lookupPeer: () => ({ name: "c" }), cipher };
    const m1 = initiatorHandshake({
      staticKeyPair: clinic,
      serverPublicKey: server.publicKey,
      cipher,
    }).message1;
    assert.equal(responderHandshake(responder, m1).peerName, "c");
    fc.assert(
      fc.property(mutationArb, (m) => {
        const bad = mutate(m1, m);
        if (equal(bad, m1)) return;
        assert.throws(() => responderHandshake(responder, bad), NoiseError);
      }),
      { numRuns: 1_000, seed: 7 },
    );
  });
}
