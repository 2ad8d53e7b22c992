import assert from "node:assert/strict";
import fc from "fast-check";
import { isNoiseError } from "../../../crypto/errors.ts";
import { BodyFrameParser, frameStream, packFrames, unpackFrames } from "../../../runtime/protocol/body_frames.ts";

/** `body` cut at the given points (sorted, deduplicated, inside the body). */
function pieces(body: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, body.length]) {
    if (c > prev) out.push(body.subarray(prev, c));
    prev = Math.max(prev, c);
  }
  return out;
}

const malformed = (e: unknown) => isNoiseError(e) && e.code === "MALFORMED_FRAME";

Deno.test("BodyFrameParser: any cutting of a body into pieces gives the frames unpackFrames gives", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(400), { maxLength: 30 }),
      (frames, cuts) => {
        const body = packFrames(frames);
        const p = new BodyFrameParser({ maxFrameSize: 64 });
        const got = pieces(body, cuts).flatMap((piece) => p.push(piece));
        p.end();
        assert.equal(p.bytes, body.length);
        assert.deepEqual(got, frames);
        assert.deepEqual(unpackFrames(body, { maxFrameSize: 64 }), frames);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("BodyFrameParser refuses bad lengths as they arrive, and a body that ends inside a frame", () => {
  // Zero length and over the maximum: refused at the length, before the frame's bytes.
  assert.throws(() => new BodyFrameParser().push(Uint8Array.of(0, 0, 0, 0)), (e) => malformed(e) && /frame 0 declares 0 bytes/.test((e as Error).message));
  const p = new BodyFrameParser({ maxFrameSize: 8 });
  assert.deepEqual(p.push(Uint8Array.of(0, 0)), []);
  assert.throws(() => p.push(Uint8Array.of(0, 9)), (e) => malformed(e) && /frame 0 declares 9 bytes: expected 1 to 8/.test((e as Error).message));
  const many = new BodyFrameParser({ maxFrames: 2 });
  assert.throws(() => many.push(packFrames([Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)])), (e) => malformed(e) && /more than 2 frames/.test((e as Error).message));
  // Ends: nothing at all, inside a length, inside a frame.
  assert.throws(() => new BodyFrameParser().end(), (e) => malformed(e) && /no frames/.test((e as Error).message));
  const inLength = new BodyFrameParser();
  inLength.push(Uint8Array.of(0, 0, 0));
  assert.throws(() => inLength.end(), (e) => malformed(e) && /3 trailing bytes/.test((e as Error).message));
  const inFrame = new BodyFrameParser();
  inFrame.push(Uint8Array.of(0, 0, 0, 5, 1, 2));
  assert.throws(() => inFrame.end(), (e) => malformed(e) && /frame 0 declares 5 bytes, 2 remain/.test((e as Error).message));
});

Deno.test("frameStream: pulls the next frame only when read, prefixes each, reports bytes and its end", async () => {
  const frames = [Uint8Array.of(1, 2, 3), Uint8Array.of(4), Uint8Array.of(5, 6)];
  let advanced = 0;
  const it: Iterator<Uint8Array> = {
    next: () => (advanced < frames.length ? { done: false, value: frames[advanced++] } : { done: true, value: undefined }),
  };
  let bytes = 0;
  const ends: boolean[] = [];
  const s = frameStream(it, (n) => (bytes += n), (complete) => ends.push(complete));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(advanced, 0, "nothing taken before a read");
  const reader = s.getReader();
  const first = await reader.read();
  assert.deepEqual(first.value, Uint8Array.of(0, 0, 0, 3, 1, 2, 3));
  assert.equal(advanced, 1, "one frame per read");
  const rest: Uint8Array[] = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
  assert.deepEqual(unpackFrames(packFrames([first.value!.subarray(4), ...rest.map((p) => p.subarray(4))])), frames);
  assert.equal(bytes, 3 * 4 + 6);
  assert.deepEqual(ends, [true]);
  // A reader that gives up: the end is reported once, as incomplete.
  const ends2: boolean[] = [];
  const s2 = frameStream([Uint8Array.of(1), Uint8Array.of(2)][Symbol.iterator](), undefined, (c) => ends2.push(c));
  const r2 = s2.getReader();
  await r2.read();
  await r2.cancel();
  assert.deepEqual(ends2, [false]);
});
