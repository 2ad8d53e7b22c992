import assert from "node:assert/strict";
import { isNoiseError, type NoiseErrorCode } from "../../../crypto/errors.ts";
import { FRAME_HEADER_LENGTH, MESSAGE_TYPE_CLOSE } from "../../../crypto/channel/frame.ts";
import { SecureChannel } from "../../../crypto/channel/secure_channel.ts";
import { CipherState, MAX_NONCE } from "../../../crypto/noise/cipher_state.ts";
import { AEAD_PATHS, aeadLabel, channelPair, channelPairOn } from "./channel_pair.ts";
import { startSendCounterAt } from "../../../crypto/channel/_testing.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function rejects(fn: () => unknown, code: NoiseErrorCode, msg?: string) {
  assert.throws(fn, (e) => {
    assert.ok(isNoiseError(e), `expected NoiseError ${code}, got ${e}`);
    assert.equal(e.code, code, msg ?? `expected code ${code}`);
    return true;
  });
}

// Every test of this block runs once per AEAD path (docs/design/transport.md): native and @noble,
// ChaChaPoly and AESGCM must refuse the same attacks with the same codes.
for (const aead of AEAD_PATHS) {
  const channelPair = channelPairOn(aead);

  Deno.test(`[${aeadLabel(aead)}] frames round-trip both ways and carry type, final flag and counter`, () => {
    const { clinic, server } = channelPair();
    assert.deepEqual(clinic.sessionId, server.sessionId);
    const f = clinic.seal(7, bytes("hello"), { final: false });
    assert.equal(f.length, FRAME_HEADER_LENGTH + 5 + 16);
    const o = server.open(f);
    assert.deepEqual([o.type, text(o.payload), o.final, o.counter], [7, "hello", false, 0n]);
    const back = server.open.bind(server);
    const g = server.seal(3, bytes("grad"));
    assert.equal(text(clinic.open(g).payload), "grad");
    // A frame is bound to its direction: the server cannot open its own frames as if received.
    rejects(() => back(server.seal(3, bytes("x"))), "BAD_TAG");
  });

  Deno.test(`[${aeadLabel(aead)}] a flipped bit anywhere in a frame is rejected with the code for that field, channel unaffected`, () => {
    const { clinic, server } = channelPair();
    const frame = clinic.seal(5, bytes("cut-layer activations, 32 bytes"));
    for (let byte = 0; byte < frame.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = frame.slice();
        bad[byte] ^= 1 << bit;
        let want: NoiseErrorCode;
        if (byte === 0 || byte === 3) want = "MALFORMED_FRAME"; // version, reserved
        else if (byte === 2) want = bit === 0 ? "BAD_TAG" : "MALFORMED_FRAME"; // final flag / unknown flag
        else if (byte >= 4 && byte < 12) {
          // Counter: a high bit jumps so many rekey epochs ahead that it is refused unopened.
          const counter = 1n << BigInt((11 - byte) * 8 + bit);
          want = counter / 65536n > 8n ? "OUTSIDE_WINDOW" : "BAD_TAG";
        } else want = "BAD_TAG"; // type (in the AAD), ciphertext, tag
        rejects(() => server.open(bad), want, `byte ${byte} bit ${bit}`);
      }
    }
    const stats = server.stats;
    assert.equal(stats.opened, 0);
    assert.equal(stats.rejected, frame.length * 8);
    // Nothing moved: the genuine frame still opens.
    assert.equal(text(server.open(frame).payload), "cut-layer activations, 32 bytes");
  });

  Deno.test(`[${aeadLabel(aead)}] replayed frames are rejected with REPLAY; reordering within the window works`, () => {
    const { clinic, server } = channelPair();
    const frames = Array.from({ length: 10 }, (_, i) => clinic.seal(1, bytes(`m${i}`)));
    for (const i of [3, 0, 9, 1, 2, 8, 4, 5, 7, 6]) {
      assert.equal(text(server.open(frames[i]).payload), `m${i}`);
    }
    for (const f of frames) rejects(() => server.open(f), "REPLAY");
    assert.equal(text(server.open(clinic.seal(1, bytes("next"))).payload), "next");
  });

  Deno.test(`[${aeadLabel(aead)}] a frame older than the window is rejected with OUTSIDE_WINDOW`, () => {
    const { clinic, server } = channelPair({ windowSize: 8, rekeyInterval: 0 });
    const old = clinic.seal(1, bytes("late"));
    const edge = clinic.seal(1, bytes("edge"));
    for (let i = 0; i < 7; i++) server.open(clinic.seal(1, bytes(`f${i}`)));
    // counters: old=0, edge=1, highest=8: 8-1=7 < 8 still inside, 8-0=8 is outside.
    rejects(() => server.open(old), "OUTSIDE_WINDOW");
    assert.equal(text(server.open(edge).payload), "edge");
    rejects(() => server.open(edge), "REPLAY");
  });

  Deno.test(`[${aeadLabel(aead)}] oversize frames are refused before any decryption; payload limit on seal`, () => {
    const { clinic, server } = channelPair({ maxFrameSize: 1024 });
    assert.equal(clinic.maxPayloadSize, 1024 - FRAME_HEADER_LENGTH - 16);
    rejects(() => clinic.seal(1, new Uint8Array(clinic.maxPayloadSize + 1)), "FRAME_TOO_LARGE");
    const max = clinic.seal(1, new Uint8Array(clinic.maxPayloadSize));
    assert.equal(max.length, 1024);
    const before = server.stats.decryptAttempts;
    const big = new Uint8Array(1025);
    big.set(max);
    rejects(() => server.open(big), "FRAME_TOO_LARGE");
    rejects(() => server.open(new Uint8Array(10_000_000)), "FRAME_TOO_LARGE");
    rejects(() => server.open(new Uint8Array(5)), "MALFORMED_FRAME");
    rejects(() => server.open(max.subarray(0, FRAME_HEADER_LENGTH + 15)), "MALFORMED_FRAME");
    rejects(() => server.open("nope" as unknown as Uint8Array), "MALFORMED_FRAME");
    assert.equal(server.stats.decryptAttempts, before, "no decryption for refused frames");
    assert.equal(server.open(max).payload.length, clinic.maxPayloadSize);
    assert.throws(() => channelPair({ maxFrameSize: 10 }), RangeError);
  });

  Deno.test(`[${aeadLabel(aead)}] counter exhaustion: counter 2^64-1 is never used`, () => {
    const start = MAX_NONCE - 3n;
    const { clinic, server } = channelPair({ rekeyInterval: 0, initialSendCounter: start });
    const a = clinic.seal(1, bytes("a")),
      b = clinic.seal(1, bytes("b")),
      c = clinic.seal(1, bytes("c"));
    assert.equal(clinic.sendCounter, MAX_NONCE);
    rejects(() => clinic.seal(1, bytes("d")), "NONCE_EXHAUSTED");
    rejects(() => clinic.seal(1, bytes("d")), "NONCE_EXHAUSTED");
    for (const [f, s] of [[c, "c"], [a, "a"], [b, "b"]] as const) {
      assert.equal(text(server.open(f).payload), s);
    }
    // A frame claiming counter 2^64-1 is refused before decryption.
    const forged = c.slice();
    forged.fill(0xff, 4, 12);
    const before = server.stats.decryptAttempts;
    rejects(() => server.open(forged), "NONCE_EXHAUSTED");
    assert.equal(server.stats.decryptAttempts, before);
    // The other direction is unaffected.
    assert.equal(text(clinic.open(server.seal(2, bytes("still fine"))).payload), "still fine");
    assert.throws(() => channelPair({ initialSendCounter: start }), RangeError); // rekeying on: too many epochs
  });

  Deno.test(`[${aeadLabel(aead)}] rekeying: both sides agree across many epochs, in order and reordered`, () => {
    const opts = { rekeyInterval: 16, windowSize: 16 };
    const { clinic, server } = channelPair(opts);
    // In order, 10 epochs both ways.
    for (let i = 0; i < 160; i++) {
      assert.equal(text(server.open(clinic.seal(1, bytes(`c${i}`))).payload), `c${i}`);
      assert.equal(text(clinic.open(server.seal(1, bytes(`s${i}`))).payload), `s${i}`);
    }
    assert.ok(
      clinic.stats.rekeys >= 18 && server.stats.rekeys >= 18,
      "rekeys happened on both sides",
    );
    // Reordered across an epoch boundary (counters 160..191 = epochs 10 and 11).
    const frames = Array.from({ length: 32 }, (_, i) => clinic.seal(1, bytes(`r${i}`)));
    const order = [0, 2, 1, 17, 3, 16, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 20];
    for (const i of order) assert.equal(text(server.open(frames[i]).payload), `r${i}`);
    // (frames 3..15 were epoch-10 frames opened after epoch 11 had begun.)
    for (let i = 21; i < 32; i++) server.open(frames[i]);
    rejects(() => server.open(frames[20]), "REPLAY");
    rejects(() => server.open(frames[5]), "OUTSIDE_WINDOW");
    assert.equal(text(server.open(clinic.seal(1, bytes("after"))).payload), "after");
    // Frames with lost predecessors: jump two epochs ahead.
    for (let i = 0; i < 40; i++) clinic.seal(1, bytes("lost"));
    assert.equal(text(server.open(clinic.seal(1, bytes("jump"))).payload), "jump");
    // Both sides must use the same interval: a mismatch fails with BAD_TAG once epochs diverge.
    const mismatched = channelPair({ rekeyInterval: 16, windowSize: 16 }, {
      rekeyInterval: 32,
      windowSize: 16,
    });
    for (let i = 0; i < 16; i++) mismatched.server.open(mismatched.clinic.seal(1, bytes("x")));
    rejects(() => mismatched.server.open(mismatched.clinic.seal(1, bytes("x"))), "BAD_TAG");
    assert.throws(() => channelPair({ rekeyInterval: 8, windowSize: 16 }), RangeError);
  });

  Deno.test(`[${aeadLabel(aead)}] a forged frame in a future epoch does not advance the receiver's keys`, () => {
    const { clinic, server } = channelPair({ rekeyInterval: 16, windowSize: 16 });
    const frames = Array.from({ length: 40 }, (_, i) => clinic.seal(1, bytes(`f${i}`)));
    const forged = frames[35].slice();
    forged[forged.length - 1] ^= 1;
    rejects(() => server.open(forged), "BAD_TAG");
    assert.equal(server.stats.rekeys, 0);
    assert.equal(text(server.open(frames[0]).payload), "f0");
    assert.equal(text(server.open(frames[35]).payload), "f35");
    rejects(() => server.open(frames[1]), "OUTSIDE_WINDOW");
    assert.equal(text(server.open(frames[30]).payload), "f30");
  });

  Deno.test(`[${aeadLabel(aead)}] close: a close frame closes both sides; afterwards seal and open throw CLOSED`, () => {
    const { clinic, server } = channelPair();
    const pending = clinic.seal(1, bytes("before close"));
    const bye = clinic.close(bytes("done"));
    assert.equal(clinic.isClosed, true);
    rejects(() => clinic.seal(1, bytes("x")), "CLOSED");
    rejects(() => clinic.open(pending), "CLOSED");
    rejects(() => clinic.close(), "CLOSED");
    assert.equal(text(server.open(pending).payload), "before close");
    const o = server.open(bye);
    assert.equal(o.type, MESSAGE_TYPE_CLOSE);
    assert.equal(text(o.payload), "done");
    assert.equal(server.isClosed, true);
    rejects(() => server.seal(1, bytes("x")), "CLOSED");
    rejects(() => server.open(pending), "CLOSED");
    assert.throws(() => clinic.seal(255, bytes("x")), RangeError);
  });

  Deno.test(`[${aeadLabel(aead)}] a forged close frame does not close the channel`, () => {
    const { clinic, server } = channelPair();
    const f = clinic.seal(1, bytes("x"));
    const forged = f.slice();
    forged[1] = MESSAGE_TYPE_CLOSE;
    rejects(() => server.open(forged), "BAD_TAG");
    assert.equal(server.isClosed, false);
    assert.equal(text(server.open(f).payload), "x");
  });

  Deno.test(`[${aeadLabel(aead)}] frames from another session are rejected`, () => {
    const a = channelPair(), b = channelPair();
    rejects(() => b.server.open(a.clinic.seal(1, bytes("x"))), "BAD_TAG");
    assert.throws(
      () =>
        new SecureChannel({
          initiator: true,
          send: null!,
          receive: null!,
          handshakeHash: new Uint8Array(32),
        }),
      TypeError,
    );
  });
}

Deno.test("one CipherState for both directions is refused: it would reuse key and nonce", () => {
  const both = new CipherState(new Uint8Array(32).fill(7));
  const init = { initiator: true, send: both, receive: both, handshakeHash: new Uint8Array(32) };
  assert.throws(() => new SecureChannel(init), {
    name: "TypeError",
    message: "send and receive must be two distinct CipherState objects, got the same one for both",
  });
  // Two objects holding the same key are the caller's business; the check is about identity.
  const other = new CipherState(new Uint8Array(32).fill(8));
  assert.equal(new SecureChannel({ ...init, receive: other }).isClosed, false);
});

Deno.test("the first send counter is a test seam only: moved on a fresh channel, never after", () => {
  const { clinic, server } = channelPair({ rekeyInterval: 0 });
  clinic.seal(1, bytes("a"));
  assert.throws(() => startSendCounterAt(clinic, 5n), {
    name: "TypeError",
    message: /only be moved on a fresh channel; this one sealed 1 frames/,
  });
  startSendCounterAt(server, 1000n);
  assert.equal(clinic.open(server.seal(1, bytes("b"))).counter, 1000n);
  assert.throws(() => startSendCounterAt(server, 0n), TypeError);
});
