import assert from "node:assert/strict";
import { isNoiseError, type NoiseErrorCode } from "../../../crypto/errors.ts";
import { MessageOpener, openChunked, Reassembler, sealChunked, sealFrames } from "../../../crypto/channel/chunker.ts";
import { channelPair } from "./channel_pair.ts";

function rejects(fn: () => unknown, code: NoiseErrorCode) {
  assert.throws(
    fn,
    (e) => isNoiseError(e) && e.code === code ? true : assert.fail(`${code}: got ${e}`),
  );
}

function randomBytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

Deno.test("a payload larger than a frame is split and reassembled exactly", () => {
  const { clinic, server } = channelPair({ maxFrameSize: 1024 });
  for (
    const n of [
      0,
      1,
      clinic.maxPayloadSize,
      clinic.maxPayloadSize + 1,
      10 * clinic.maxPayloadSize + 7,
    ]
  ) {
    const payload = randomBytes(n, n + 1);
    const frames = sealChunked(clinic, 9, payload);
    assert.equal(frames.length, Math.max(1, Math.ceil(n / clinic.maxPayloadSize)));
    assert.ok(frames.every((f) => f.length <= 1024));
    const m = openChunked(server, frames);
    assert.equal(m.type, 9);
    assert.deepEqual(m.payload, payload);
  }
});

Deno.test("a truncated chunk stream is detected (TRUNCATED)", () => {
  const { clinic, server } = channelPair({ maxFrameSize: 256 });
  const frames = sealChunked(clinic, 2, randomBytes(2000));
  rejects(() => openChunked(server, frames.slice(0, -1)), "TRUNCATED");
  rejects(() => openChunked(server, []), "TRUNCATED");
  // The same, frame by frame with the Reassembler.
  const more = sealChunked(clinic, 2, randomBytes(1000));
  const r = new Reassembler();
  for (const f of more.slice(0, -1)) assert.equal(r.push(server.open(f)), null);
  assert.equal(r.inProgress, true);
  rejects(() => r.finish(), "TRUNCATED");
  assert.equal(r.inProgress, false);
});

Deno.test("missing, reordered, duplicate and foreign chunks are detected", () => {
  const { clinic, server } = channelPair({ maxFrameSize: 256 });
  const frames = sealChunked(clinic, 2, randomBytes(1500));
  assert.ok(frames.length >= 5);
  // A chunk missing from the middle.
  rejects(() => openChunked(server, [frames[0], frames[2]]), "OUT_OF_ORDER");
  // Reordered (the channel accepts it within the window; the reassembler does not).
  const g = sealChunked(clinic, 2, randomBytes(1500));
  rejects(() => openChunked(server, [g[1], g[0]]), "OUT_OF_ORDER");
  // Duplicate chunk fed to the reassembler directly.
  const h = sealChunked(clinic, 2, randomBytes(1500)).map((f) => server.open(f));
  const r = new Reassembler();
  r.push(h[0]);
  r.push(h[1]);
  rejects(() => r.push(h[1]), "DUPLICATE_CHUNK");
  assert.equal(r.inProgress, false, "an error discards the partial message");
  // A chunk of a different type inside a message.
  const r2 = new Reassembler();
  r2.push(h[0]);
  rejects(() => r2.push({ ...h[1], type: 3 }), "CHUNK_TYPE_MISMATCH");
  // Frames after the final chunk.
  const one = sealChunked(clinic, 2, randomBytes(10));
  const extra = clinic.seal(2, randomBytes(3));
  rejects(() => openChunked(server, [...one, extra]), "MALFORMED_FRAME");
  // Empty non-final chunk.
  rejects(
    () =>
      new Reassembler().push({ type: 1, payload: new Uint8Array(0), final: false, counter: 0n }),
    "MALFORMED_FRAME",
  );
});

Deno.test("the reassembled size is capped (MESSAGE_TOO_LARGE) before it is buffered", () => {
  const { clinic, server } = channelPair({ maxFrameSize: 256 });
  const frames = sealChunked(clinic, 2, randomBytes(2000));
  rejects(() => openChunked(server, frames, { maxMessageSize: 1999 }), "MESSAGE_TOO_LARGE");
  const ok = sealChunked(clinic, 2, randomBytes(2000));
  assert.equal(openChunked(server, ok, { maxMessageSize: 2000 }).payload.length, 2000);
});

Deno.test("a close frame in the middle of a message ends it with CLOSED", () => {
  const { clinic, server } = channelPair({ maxFrameSize: 256 });
  const frames = sealChunked(clinic, 2, randomBytes(1000));
  const bye = clinic.close();
  rejects(() => openChunked(server, [frames[0], bye]), "CLOSED");
  assert.equal(server.isClosed, true);
});

Deno.test("sealFrames seals lazily, one frame per step; MessageOpener opens them one by one like openChunked", () => {
  const { clinic, server } = channelPair({ maxFrameSize: 256 });
  const payload = randomBytes(5 * clinic.maxPayloadSize + 3, 4);
  const start = clinic.sendCounter;
  const it = sealFrames(clinic, 7, payload);
  // Nothing is sealed before the first step: the channel's counter has not moved.
  assert.equal(clinic.sendCounter, start);
  const probe = channelPair({ maxFrameSize: 256 });
  const opener = new MessageOpener(server);
  let n = 0;
  for (let r = it.next(); !r.done; r = it.next()) {
    n++;
    assert.equal(clinic.sendCounter, start + BigInt(n), "one frame sealed per step");
    assert.ok(!opener.done);
    opener.push(r.value);
  }
  assert.equal(n, 6);
  assert.ok(opener.done);
  const m = opener.finish();
  assert.equal(m.type, 7);
  assert.deepEqual(m.payload, payload);
  // A frame after the final one, and a finish with nothing pushed, are refused.
  rejects(() => opener.push(sealChunked(clinic, 7, Uint8Array.of(1))[0]), "MALFORMED_FRAME");
  rejects(() => new MessageOpener(probe.server).finish(), "TRUNCATED");
  // A stream cut after some chunks is TRUNCATED at finish.
  const cut = new MessageOpener(server);
  const frames = sealChunked(clinic, 7, payload);
  for (const f of frames.slice(0, 3)) cut.push(f);
  rejects(() => cut.finish(), "TRUNCATED");
});
