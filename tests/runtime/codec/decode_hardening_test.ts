import assert from "node:assert/strict";
import fc from "fast-check";
import { deflateSync } from "fflate";
import {
  CodecError,
  type CodecOptions,
  decodeTensor,
  decodeTensors,
  encodeTensor,
  encodeTensors,
} from "../../../runtime/codec/mod.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { goldenCut } from "./golden_fixture.ts";
import { envelope, record, type RecordFields } from "./wire_builder.ts";

const F32 = 1, U8 = 2, INT8 = 3, INT64 = 7, BOOL = 9, F16 = 10;

function refusedWith(code: string, field: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof CodecError, `expected a CodecError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.field, field, e.message);
    return true;
  };
}

/** Decodes a hand-built single-tensor message. */
function decodeRecord(f: RecordFields, limits = {}): Tensor {
  return decodeTensor(envelope(1, record(f)), limits);
}

const f32bytes = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);

Deno.test("hand-built valid records decode (the builder is faithful)", () => {
  const t = decodeRecord({ src: F32, wire: F32, dims: [2], payload: f32bytes([1.5, -2]) });
  assert.deepEqual([...t.data as Float32Array], [1.5, -2]);
  const q = decodeRecord({
    src: F32,
    wire: INT8,
    flags: 2,
    axis: 1,
    dims: [1, 2],
    quant: { scales: [0.5, 2], zeroPoints: [0, -128] },
    payload: new Uint8Array([4, 0x82]), // 4 → 2.0; −126 → (−126 + 128) · 2 = 4
  });
  assert.deepEqual([...q.data as Float32Array], [2, 4]);
  const s = decodeRecord({
    src: F32,
    wire: F32,
    flags: 1,
    indexEncoding: 1,
    dims: [5],
    count: 2,
    payload: new Uint8Array([1, 2, ...f32bytes([7, 8])]), // indices 1, 1 + 1 + 2 = 4
  });
  assert.deepEqual([...s.data as Float32Array], [0, 7, 0, 0, 8]);
});

Deno.test("a header claiming 2^40 elements fails fast, before any allocation", () => {
  const t0 = performance.now();
  assert.throws(
    () =>
      decodeRecord({ src: F32, wire: F32, dims: [2 ** 20, 2 ** 20], payload: new Uint8Array(0) }),
    refusedWith("TOO_LARGE", /^dims$/),
  );
  assert.throws(
    () =>
      decodeRecord({ src: INT64, wire: INT64, dims: [2 ** 32 - 1], payload: new Uint8Array(0) }),
    refusedWith("TOO_LARGE", /^dims\[0\]$/),
  );
  // 255 dims of 2^26: a float64 product of Infinity, refused as too large.
  assert.throws(
    () =>
      decodeRecord({
        src: F32,
        wire: F32,
        dims: Array(255).fill(2 ** 26),
        payload: new Uint8Array(0),
      }, { maxRank: 255 }),
    refusedWith("TOO_LARGE", /^dims$/),
  );
  // …and so is an "empty" tensor whose other dims multiply beyond the limit.
  assert.throws(
    () =>
      decodeRecord({
        src: F32,
        wire: F32,
        dims: [...Array(200).fill(2 ** 26), 0],
        payload: new Uint8Array(0),
      }, { maxRank: 255 }),
    refusedWith("TOO_LARGE", /^dims$/),
  );
  const empty = decodeRecord({
    src: F32,
    wire: F32,
    dims: [0, 5000, 5000],
    payload: new Uint8Array(0),
  });
  assert.deepEqual([empty.dims, empty.data.length], [[0, 5000, 5000], 0]);
  assert.ok(performance.now() - t0 < 1000);
});

Deno.test("limits: rank, dims and elements are bounded by the receiver", () => {
  const ok = { src: INT64, wire: INT64, dims: [2, 3], payload: new Uint8Array(48) };
  assert.equal(decodeRecord(ok, { maxElements: 6 }).data.length, 6);
  assert.throws(() => decodeRecord(ok, { maxElements: 5 }), refusedWith("TOO_LARGE", /^dims$/));
  assert.throws(() => decodeRecord(ok, { maxDim: 2 }), refusedWith("TOO_LARGE", /^dims\[1\]$/));
  assert.throws(() => decodeRecord(ok, { maxRank: 1 }), refusedWith("TOO_LARGE", /^rank$/));
  assert.throws(
    () => decodeRecord({ ...ok, dims: Array(9).fill(1), payload: new Uint8Array(8) }),
    refusedWith("TOO_LARGE", /^rank$/),
  );
  // The rank is checked before the dims are read.
  assert.throws(
    () => decodeTensor(envelope(1, new Uint8Array([F32, F32, 0, 0, 200, 0, 0, 0]))),
    refusedWith("TOO_LARGE", /^rank$/),
  );
  assert.throws(
    () =>
      decodeTensor(envelope(1, new Uint8Array([F32, F32, 0, 0, 200, 0, 0, 0])), { maxRank: 255 }),
    refusedWith("TRUNCATED", /^dims$/),
  );
});

Deno.test("lying shapes and lengths are refused", () => {
  const base = { src: F32, wire: F32, dims: [2, 4], payload: f32bytes([1, 2, 3, 4, 5, 6, 7, 8]) };
  decodeRecord(base);
  assert.throws(
    () => decodeRecord({ ...base, dims: [4, 4] }),
    refusedWith("MALFORMED", /payload\.raw length/),
  );
  assert.throws(
    () => decodeRecord({ ...base, dims: [2, 2] }),
    refusedWith("MALFORMED", /payload\.raw length/),
  );
  assert.throws(
    () => decodeRecord({ ...base, storedLength: 31 }),
    refusedWith("MALFORMED", /payload\.stored length/),
  );
  assert.throws(
    () => decodeRecord({ ...base, rawLength: 64, storedLength: 64, dims: [4, 4] }),
    refusedWith("TRUNCATED", /^payload$/),
  );
  // Compressed: the stored length may be anything, but the stream must inflate to exactly the raw length.
  const z = deflateSync(base.payload);
  decodeRecord({ ...base, compression: 1, payload: z, rawLength: 32 });
  assert.throws(
    () =>
      decodeRecord({
        ...base,
        compression: 1,
        payload: z.subarray(0, z.length - 3),
        rawLength: 32,
      }),
    (e) =>
      e instanceof CodecError && (e.code === "TRUNCATED" || e.code === "MALFORMED") &&
      e.field === "payload",
  );
  const trailing = new Uint8Array([...record(base), 0]);
  assert.throws(
    () => decodeTensor(envelope(1, trailing)),
    refusedWith("MALFORMED", /^body length$/),
  );
});

Deno.test("a deflate bomb in a message is refused: 100 MB of zeros declared as 4 kB", () => {
  const bomb = deflateSync(new Uint8Array(100_000_000), { level: 1 });
  const t0 = performance.now();
  assert.throws(
    () =>
      decodeRecord({
        src: F32,
        wire: INT8,
        compression: 1,
        dims: [4096],
        quant: { scales: [1], zeroPoints: [0] },
        rawLength: 4096,
        payload: bomb,
      }),
    refusedWith("BOMB", /^payload$/),
  );
  assert.ok(performance.now() - t0 < 2000);
});

Deno.test("dtype, compression, flags, axis, index encoding and reserved fields are checked", () => {
  const base: RecordFields = { src: F32, wire: F32, dims: [1], payload: f32bytes([1]) };
  assert.throws(() => decodeRecord({ ...base, src: 8 }), refusedWith("BAD_DTYPE", /^dtype$/)); // ONNX STRING
  assert.throws(() => decodeRecord({ ...base, src: 0 }), refusedWith("BAD_DTYPE", /^dtype$/));
  assert.throws(() => decodeRecord({ ...base, wire: 2 }), refusedWith("BAD_DTYPE", /^wire dtype$/));
  assert.throws(
    () => decodeRecord({ ...base, src: INT64 }),
    refusedWith("BAD_DTYPE", /^wire dtype$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, compression: 2 }),
    refusedWith("UNSUPPORTED", /^compression$/),
  );
  assert.throws(() => decodeRecord({ ...base, flags: 4 }), refusedWith("MALFORMED", /^flags$/));
  assert.throws(
    () => decodeRecord({ ...base, src: U8, wire: U8, flags: 1, payload: new Uint8Array(1) }),
    refusedWith("MALFORMED", /^flags$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, wire: F16, flags: 2 }),
    refusedWith("MALFORMED", /^flags$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, axis: 1 }),
    refusedWith("MALFORMED", /^channel axis$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, indexEncoding: 1 }),
    refusedWith("MALFORMED", /^index encoding$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, reserved: 1 }),
    refusedWith("MALFORMED", /^reserved$/),
  );
  assert.throws(
    () => decodeRecord({ src: BOOL, wire: BOOL, dims: [3], payload: new Uint8Array([1, 0, 2]) }),
    refusedWith("MALFORMED", /^payload$/),
  );
});

Deno.test("quantisation parameters are checked against the channel dim before allocation", () => {
  const base: RecordFields = {
    src: F32,
    wire: INT8,
    flags: 2,
    axis: 1,
    dims: [1, 2, 1],
    quant: { scales: [1, 1], zeroPoints: [0, 0] },
    payload: new Uint8Array(2),
  };
  decodeRecord(base);
  assert.throws(
    () => decodeRecord({ ...base, axis: 3 }),
    refusedWith("MALFORMED", /^channel axis$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, quant: { channels: 3, scales: [1, 1], zeroPoints: [0, 0] } }),
    refusedWith("MALFORMED", /^quant\.channels$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, flags: 0, axis: 0 }),
    refusedWith("MALFORMED", /^quant\.channels$/),
  ); // per-tensor: 1
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(
      () => decodeRecord({ ...base, quant: { scales: [1, bad], zeroPoints: [0, 0] } }),
      refusedWith("MALFORMED", /^quant\.scale\[1\]$/),
    );
  }
  // A channel dim of 2^26 with no parameters behind it: refused by length, not by allocating 2^26 scales.
  assert.throws(
    () =>
      decodeRecord({
        ...base,
        dims: [1, 2 ** 26, 1],
        quant: { scales: [], zeroPoints: [], channels: 2 ** 26 },
      }),
    refusedWith("TRUNCATED", /^quant$/),
  );
});

Deno.test("sparse counts and indices are checked", () => {
  const base: RecordFields = {
    src: F32,
    wire: F32,
    flags: 1,
    indexEncoding: 1,
    dims: [5],
    count: 2,
    payload: new Uint8Array([1, 2, ...f32bytes([7, 8])]),
  };
  decodeRecord(base);
  assert.throws(
    () => decodeRecord({ ...base, count: 6 }),
    refusedWith("MALFORMED", /^sparse\.count$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, count: 3 }),
    refusedWith("MALFORMED", /^payload\.raw length$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, payload: new Uint8Array([1, 3, ...f32bytes([7, 8])]) }),
    refusedWith("MALFORMED", /^sparse\.indices\[1\]$/),
  );
  assert.throws(
    () => decodeRecord({ ...base, indexEncoding: 0 }),
    refusedWith("MALFORMED", /^index encoding$/),
  );
  // Bitmap: exactly ⌈n/8⌉ bytes.
  decodeRecord({
    ...base,
    indexEncoding: 2,
    payload: new Uint8Array([0b10010, ...f32bytes([7, 8])]),
  });
  assert.throws(
    () =>
      decodeRecord({
        ...base,
        indexEncoding: 2,
        payload: new Uint8Array([0b10011, ...f32bytes([7, 8])]),
      }),
    refusedWith("MALFORMED", /^sparse\.indices$/),
  );
});

Deno.test("envelope fields and padding are checked", () => {
  const rec = record({ src: INT64, wire: INT64, dims: [], payload: new Uint8Array(8) });
  decodeTensor(envelope(1, rec));
  assert.throws(() => decodeTensor(new Uint8Array(15)), refusedWith("TRUNCATED", /^envelope$/));
  assert.throws(
    () => decodeTensor(envelope(1, rec, { magic: [0x53, 0x47, 0x54, 0x44] })),
    refusedWith("MALFORMED", /^magic$/),
  );
  assert.throws(
    () => decodeTensor(envelope(1, rec, { version: 2 })),
    refusedWith("UNSUPPORTED", /^version$/),
  );
  assert.throws(() => decodeTensor(envelope(3, rec)), refusedWith("MALFORMED", /^kind$/));
  assert.throws(
    () => decodeTensor(envelope(1, rec, { scheme: 9 })),
    refusedWith("UNSUPPORTED", /^padding scheme$/),
  );
  assert.throws(
    () => decodeTensor(envelope(1, rec, { reserved: 1 })),
    refusedWith("MALFORMED", /^reserved$/),
  );
  assert.throws(
    () => decodeTensor(envelope(1, rec, { param: 4 })),
    refusedWith("MALFORMED", /^padding parameter$/),
  );
  assert.throws(
    () => decodeTensor(envelope(1, rec, { scheme: 2, param: 0 })),
    refusedWith("MALFORMED", /^padding parameter$/),
  );
  assert.throws(
    () => decodeTensor(envelope(1, rec, { bodyLength: rec.length + 1 })),
    refusedWith("TRUNCATED", /^body length$/),
  );
  assert.throws(
    () => decodeTensor(envelope(1, rec, { extra: new Uint8Array(1) })),
    refusedWith("MALFORMED", /^padding$/),
  );
  // pow2: 16 + 26 = 42 → 64 bytes; the padding must be there and be zeros.
  const padded = envelope(1, rec, { scheme: 1, extra: new Uint8Array(64 - 16 - rec.length) });
  assert.equal(padded.length, 64);
  decodeTensor(padded);
  padded[63] = 1;
  assert.throws(() => decodeTensor(padded), refusedWith("MALFORMED", /^padding$/));
  assert.throws(() => decodeTensor(padded.subarray(0, 63)), refusedWith("MALFORMED", /^padding$/));
});

// ---- 10,000 random mutations of valid messages ----

const LIMITS = { maxElements: 4096, maxTensors: 8, maxDim: 4096 };

function seeds(): { bytes: Uint8Array; bundle: boolean }[] {
  const act = goldenCut("activation");
  const small = tensor("float32", [2, 3, 4, 4], act.data.slice(0, 96));
  const grad = tensor("float32", [1, 32, 3], goldenCut("grad").data.slice(0, 96));
  const out: { bytes: Uint8Array; bundle: boolean }[] = [];
  const settings: CodecOptions[] = [
    { level: 0, padding: { mode: "none" } },
    { level: 6, padding: { mode: "none" } },
    { dtype: "float16", level: 6, padding: { mode: "none" } },
    { dtype: "int8", level: 0, padding: { mode: "none" } },
    { dtype: "int8", level: 6, padding: { mode: "padme" } },
    { dtype: "int8", topK: 0.3, level: 0, padding: { mode: "none" } },
    { dtype: "float32", topK: 0.9, level: 1, padding: { mode: "none" } }, // bitmap indices
    { dtype: "float16", topK: 0.1, level: 6, padding: { mode: "pow2" } },
  ];
  for (const s of settings) {
    out.push({ bytes: encodeTensor(small, s), bundle: false });
    out.push({ bytes: encodeTensor(grad, s), bundle: false });
  }
  const labels = tensor("int64", [2], new BigInt64Array([0n, 1n]));
  out.push({ bytes: encodeTensor(labels, { padding: { mode: "none" } }), bundle: false });
  out.push({
    bytes: encodeTensors({ act: small, labels, step: tensor("int32", [], new Int32Array([7])) }, {
      dtype: "int8",
      padding: { mode: "none" },
    }),
    bundle: true,
  });
  return out;
}

type Mutation =
  | { t: "flip"; pos: number; bit: number }
  | { t: "set"; pos: number; value: number }
  | { t: "u32"; pos: number; value: number }
  | { t: "truncate"; pos: number }
  | { t: "extend"; bytes: Uint8Array }
  | { t: "zeros"; n: number }
  | { t: "reframe" };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    t: fc.constant("flip" as const),
    pos: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    t: fc.constant("set" as const),
    pos: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    t: fc.constant("u32" as const),
    pos: fc.nat({ max: 96 }), // the header region, where sizes and counts live
    value: fc.oneof(
      fc.constantFrom(0, 1, 2, 3, 255, 256, 4096, 4097, 2 ** 16, 2 ** 31, 2 ** 32 - 1),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    ),
  }),
  fc.record({ t: fc.constant("truncate" as const), pos: fc.nat() }),
  fc.record({
    t: fc.constant("extend" as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({ t: fc.constant("zeros" as const), n: fc.integer({ min: 1, max: 5000 }) }),
  // Make the envelope consistent again (no padding, body = the rest), so that
  // length changes reach the record parser instead of stopping at the envelope.
  fc.constant({ t: "reframe" as const }),
);

function mutate(src: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = src.slice();
  for (const m of ms) {
    const at = (p: number) => (b.length === 0 ? 0 : p % b.length);
    switch (m.t) {
      case "flip":
        if (b.length) b[at(m.pos)] ^= 1 << m.bit;
        break;
      case "set":
        if (b.length) b[at(m.pos)] = m.value;
        break;
      case "u32":
        if (b.length >= 4) new DataView(b.buffer).setUint32(m.pos % (b.length - 3), m.value, true);
        break;
      case "truncate":
        b = b.slice(0, m.pos % (b.length + 1));
        break;
      case "extend":
        b = new Uint8Array([...b, ...m.bytes]);
        break;
      case "zeros": {
        const c = new Uint8Array(b.length + m.n);
        c.set(b);
        b = c;
        break;
      }
      case "reframe":
        if (b.length >= 16) {
          const v = new DataView(b.buffer);
          v.setUint8(6, 0), v.setUint32(8, 0, true), v.setUint32(12, b.length - 16, true);
        }
        break;
    }
  }
  return b;
}

Deno.test("fuzz: 10,000 mutated messages decode within limits or fail with a CodecError", () => {
  const valid = seeds();
  for (const s of valid) (s.bundle ? decodeTensors : decodeTensor)(s.bytes, LIMITS); // seeds are valid
  let refused = 0, accepted = 0, slowest = 0;
  const codes = new Map<string, number>();
  fc.assert(
    fc.property(
      fc.nat({ max: valid.length - 1 }),
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      (i, ms, swapKind) => {
        const bytes = mutate(valid[i].bytes, ms);
        const asBundle = valid[i].bundle !== (swapKind && ms.length === 1);
        const t0 = performance.now();
        try {
          const out = asBundle
            ? [...decodeTensors(bytes, LIMITS).values()]
            : [decodeTensor(bytes, LIMITS)];
          let total = 0;
          for (const t of out) {
            const n = t.dims.reduce((a, b) => a * b, 1);
            assert.equal(t.data.length, n);
            total += n;
          }
          assert.ok(total <= LIMITS.maxElements, `decoded ${total} elements`);
          accepted++;
        } catch (e) {
          if (!(e instanceof CodecError)) throw e; // anything else is a crash
          codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
          refused++;
        }
        slowest = Math.max(slowest, performance.now() - t0);
      },
    ),
    { numRuns: 10_000 },
  );
  assert.equal(refused + accepted, 10_000);
  // The mutations reach deep into the format: most codes show up.
  for (const code of ["MALFORMED", "TRUNCATED", "TOO_LARGE", "BAD_DTYPE", "UNSUPPORTED"]) {
    assert.ok((codes.get(code) ?? 0) > 0, `no ${code} among ${JSON.stringify([...codes])}`);
  }
  assert.ok(slowest < 1000, `slowest decode took ${slowest.toFixed(0)} ms`);
});
