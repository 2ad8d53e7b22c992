import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CodecError,
  type CodecOptions,
  decodeTensor,
  encodeTensor,
} from "../../../runtime/codec/mod.ts";
import { type DType, type Tensor, tensor } from "../../../models/tensor.ts";
import { goldenCut } from "./golden_fixture.ts";
import { assertFloat16Close, assertInt8Close } from "./error_bounds.ts";

const PADDINGS = [
  { mode: "none" },
  { mode: "pow2" },
  { mode: "multiple", bucket: 1000 },
  { mode: "padme" },
] as const;

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

Deno.test("float32: bit-exact round trip, NaN payloads, −0, ±Infinity, subnormals", () => {
  const u = new Uint32Array([
    0x7fc00001, // quiet NaN with a payload
    0x7f800001, // signalling NaN
    0xffc12345, // negative NaN with a payload
    0x80000000, // −0
    0x00000001, // smallest subnormal
    0x7f800000, // +Infinity
    0xff800000, // −Infinity
    0x3f800000, // 1
  ]);
  const x = new Float32Array(u.buffer);
  for (const level of [0, 1, 9]) {
    for (const padding of PADDINGS) {
      const t = tensor("float32", [2, 4], x);
      const back = decodeTensor(encodeTensor(t, { level, padding }));
      assert.equal(back.dtype, "float32");
      assert.deepEqual(back.dims, [2, 4]);
      assert.deepEqual(
        [...bits(back.data as Float32Array)],
        [...u],
        `level ${level}, ${padding.mode}`,
      );
    }
  }
});

Deno.test("float32: the real cut activation and gradient come back bit-exact", () => {
  for (const which of ["activation", "grad"] as const) {
    const t = goldenCut(which);
    const back = decodeTensor(encodeTensor(t));
    assert.deepEqual(back.dims, [8, 32, 7, 7]);
    assert.deepEqual(bits(back.data as Float32Array), bits(t.data));
  }
});

const INTEGER_SAMPLES: Tensor[] = [
  tensor("int64", [3], new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n])),
  tensor("int32", [2, 2], new Int32Array([-(2 ** 31), -1, 0, 2 ** 31 - 1])),
  tensor("uint8", [4], new Uint8Array([0, 1, 128, 255])),
  tensor("int8", [2], new Int8Array([-128, 127])),
  tensor("int16", [2], new Int16Array([-32768, 32767])),
  tensor("uint16", [2], new Uint16Array([0, 65535])),
  tensor("uint32", [2], new Uint32Array([0, 2 ** 32 - 1])),
  tensor("bool", [3], new Uint8Array([1, 0, 1])),
  tensor("int64", [], new BigInt64Array([42n])), // a step id
  tensor("int64", [0, 5], new BigInt64Array(0)),
];

Deno.test("integer and bool tensors pass through exactly, whatever the lossy settings", () => {
  for (const t of INTEGER_SAMPLES) {
    for (
      const opts of [{}, { dtype: "int8", topK: 0.1 }, {
        dtype: "float16",
        level: 0,
      }] as CodecOptions[]
    ) {
      const back = decodeTensor(encodeTensor(t, opts));
      assert.equal(back.dtype, t.dtype);
      assert.deepEqual(back.dims, t.dims);
      assert.deepEqual(back.data, t.data);
    }
  }
});

Deno.test("float64 and float16 sources decode as float32", () => {
  const d = tensor("float64", [3], new Float64Array([1 / 3, 1e300, -0]));
  const back = decodeTensor(encodeTensor(d));
  assert.equal(back.dtype, "float32");
  assert.deepEqual([...back.data as Float32Array], [Math.fround(1 / 3), Infinity, -0]);
  const h = tensor("float16", [3], new Uint16Array([0x3c00, 0x0001, 0xfc00]));
  const hb = decodeTensor(encodeTensor(h, { dtype: "float16" }));
  assert.deepEqual([...hb.data as Float32Array], [1, 2 ** -24, -Infinity]);
});

Deno.test("float16 wire: within 2^-11 relative on the real activation and gradient", () => {
  for (const which of ["activation", "grad"] as const) {
    const t = goldenCut(which);
    const y = decodeTensor(encodeTensor(t, { dtype: "float16" })).data as Float32Array;
    assertFloat16Close(t.data, y);
    // The gradient reaches into binary16's subnormal range: check that the
    // test exercised it.
    if (which === "grad") assert.ok(t.data.some((v) => v !== 0 && Math.abs(v) < 2 ** -14));
  }
});

Deno.test("int8 wire: within scale/2 per channel on the real activation and gradient", () => {
  for (const which of ["activation", "grad"] as const) {
    const t = goldenCut(which);
    for (const channelAxis of [1, -3, null, 0]) {
      const y = decodeTensor(encodeTensor(t, { dtype: "int8", channelAxis })).data as Float32Array;
      const axis = channelAxis === null ? null : (channelAxis + 4) % 4;
      assertInt8Close(t.data, y, t.dims, axis);
    }
  }
});

Deno.test("int8 + deflate: at most 25 % of the raw float32 bytes on the real activation", () => {
  const t = goldenCut("activation");
  const raw = t.data.byteLength;
  const size = encodeTensor(t, { dtype: "int8", level: 6 }).length; // default Padmé padding included
  assert.ok(size <= raw / 4, `${size} bytes for ${raw} raw: ${(size / raw * 100).toFixed(1)} %`);
});

Deno.test("top-k: keeps the largest magnitudes, drops the rest to 0, values within the wire bound", () => {
  const t = goldenCut("grad");
  const n = t.data.length;
  for (const dtype of ["float32", "float16", "int8"] as const) {
    for (const topK of [0.01, 0.1, 0.5, 1]) {
      const y = decodeTensor(encodeTensor(t, { dtype, topK })).data as Float32Array;
      const k = Math.round(topK * n);
      // Which elements were kept: the k largest by magnitude (ties by index).
      const order = [...t.data.keys()].sort((a, b) =>
        Math.abs(t.data[b]) - Math.abs(t.data[a]) || a - b
      );
      const kept = new Uint8Array(n);
      for (const i of order.slice(0, k)) kept[i] = 1;
      for (let i = 0; i < n; i++) if (!kept[i]) assert.equal(y[i], 0, `dropped element ${i}`);
      const mask = (i: number) => kept[i] === 1;
      if (dtype === "float32") {
        for (let i = 0; i < n; i++) assert.equal(y[i], kept[i] ? t.data[i] : 0);
      }
      if (dtype === "float16") assertFloat16Close(t.data, y, mask);
      if (dtype === "int8") assertInt8Close(t.data, y, t.dims, 1, mask);
    }
  }
});

Deno.test("padding: the message length is the bucket, and hides the compressed length", () => {
  const t = goldenCut("activation");
  const a = encodeTensor(t, { dtype: "int8", padding: { mode: "multiple", bucket: 4096 } });
  assert.equal(a.length % 4096, 0);
  const p = encodeTensor(t, { dtype: "int8", padding: { mode: "pow2" } });
  assert.equal(p.length & (p.length - 1), 0);
  // Two tensors whose payloads compress differently land in the same bucket.
  const sparse = new Float32Array(t.data.length).map((_, i) => (i % 97 === 0 ? t.data[i] : 0));
  const s = encodeTensor(tensor("float32", t.dims, sparse), {
    dtype: "int8",
    padding: { mode: "pow2" },
  });
  const s0 = encodeTensor(tensor("float32", t.dims, sparse), {
    dtype: "int8",
    padding: { mode: "none" },
  });
  const d0 = encodeTensor(t, { dtype: "int8", padding: { mode: "none" } });
  assert.notEqual(s0.length, d0.length);
  assert.ok(s.length >= s0.length);
});

Deno.test("encoder refuses bad options and bad tensors with built-in errors", () => {
  const t = tensor("float32", [2, 2], new Float32Array([1, 2, 3, NaN]));
  assert.throws(() => encodeTensor(t, { dtype: "int8" }), RangeError); // NaN under int8
  assert.throws(() => encodeTensor(t, { dtype: "bfloat16" as "int8" }), RangeError);
  assert.throws(() => encodeTensor(t, { level: 10 }), RangeError);
  assert.throws(() => encodeTensor(t, { topK: 0 }), RangeError);
  assert.throws(() => encodeTensor(t, { topK: 1.5 }), RangeError);
  assert.throws(
    () => encodeTensor(tensor("float32", [2, 2]), { dtype: "int8", channelAxis: 2 }),
    RangeError,
  );
  assert.throws(() => encodeTensor(t, { padding: { mode: "multiple", bucket: 0 } }), RangeError);
  assert.throws(() => encodeTensor(t, { padding: { mode: "zip" } as never }), RangeError);
  assert.throws(
    () => encodeTensor({ dtype: "float32", dims: [3], data: new Float32Array(2) }),
    RangeError,
  );
  assert.throws(
    () => encodeTensor({ dtype: "float32", dims: [2], data: new Float64Array(2) } as never),
    TypeError,
  );
});

Deno.test("decodeTensor: bad inputs and limits are refused up front", () => {
  assert.throws(() => decodeTensor([1, 2, 3] as unknown as Uint8Array), TypeError);
  assert.throws(() => decodeTensor(new Uint8Array(16), { maxRank: -1 }), RangeError);
  assert.throws(
    () => decodeTensor(new TextEncoder().encode("definitely not a tensor")),
    (e) => e instanceof CodecError && e.code === "MALFORMED" && e.field === "magic",
  );
});

// ---- properties over random tensors, for every setting ----

const FLOAT_SETTINGS: CodecOptions[] = [];
for (const dtype of ["float32", "float16", "int8"] as const) {
  for (const level of [0, 1, 6]) {
    FLOAT_SETTINGS.push({ dtype, level });
    FLOAT_SETTINGS.push({ dtype, level, topK: 0.3 });
  }
  FLOAT_SETTINGS.push({ dtype, channelAxis: null, padding: { mode: "pow2" } });
  FLOAT_SETTINGS.push({ dtype, channelAxis: -1, padding: { mode: "multiple", bucket: 64 } });
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 4 });

function floatTensorArb(finiteOnly: boolean) {
  return shapeArb.chain((dims) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const value = fc.oneof(
      { weight: 4, arbitrary: fc.float({ noNaN: finiteOnly, noDefaultInfinity: finiteOnly }) },
      { weight: 2, arbitrary: fc.float({ min: -1, max: 1, noNaN: true }) },
      { weight: 1, arbitrary: fc.constant(0) },
    );
    return fc.array(value, { minLength: n, maxLength: n }).map((v) =>
      tensor("float32", dims, new Float32Array(v))
    );
  });
}

function effectiveAxis(o: CodecOptions, rank: number): number | null {
  const a = o.channelAxis === undefined ? 1 : o.channelAxis;
  if (a === null || rank < 2) return null;
  return a < 0 ? a + rank : a;
}

Deno.test("property: random float tensors round trip within the bound of every setting", () => {
  for (const opts of FLOAT_SETTINGS) {
    fc.assert(
      fc.property(floatTensorArb(opts.dtype === "int8"), (t) => {
        const x = t.data as Float32Array;
        const back = decodeTensor(encodeTensor(t, opts), { maxElements: 4096 });
        assert.equal(back.dtype, "float32");
        assert.deepEqual(back.dims, t.dims);
        const y = back.data as Float32Array;
        let mask: ((i: number) => boolean) | undefined;
        if (opts.topK !== undefined) {
          // Reference selection: the k largest magnitudes (NaN largest), ties by index.
          const k = x.length === 0 ? 0 : Math.max(1, Math.round(opts.topK * x.length));
          const mag = (v: number) => (Number.isNaN(v) ? Infinity : Math.abs(v));
          const order = [...x.keys()].sort((a, b) => mag(x[b]) - mag(x[a]) || a - b);
          const kept = new Uint8Array(x.length);
          for (const i of order.slice(0, k)) kept[i] = 1;
          for (let i = 0; i < x.length; i++) {
            if (!kept[i]) assert.ok(Object.is(y[i], 0), `dropped ${i}: ${y[i]}`);
          }
          mask = (i) => kept[i] === 1;
        }
        if (opts.dtype === "float32") {
          for (let i = 0; i < x.length; i++) {
            if (mask && !mask(i)) continue;
            assert.ok(
              Object.is(y[i], x[i]) || (Number.isNaN(x[i]) && Number.isNaN(y[i])),
              `${x[i]} → ${y[i]}`,
            );
          }
        } else if (opts.dtype === "float16") {
          assertFloat16Close(x, y, mask);
        } else {
          assertInt8Close(x, y, t.dims, effectiveAxis(opts, t.dims.length), mask);
        }
      }),
      { numRuns: 60 },
    );
  }
});

const INT_DTYPES: DType[] = [
  "int64",
  "int32",
  "uint8",
  "int8",
  "int16",
  "uint16",
  "uint32",
  "bool",
];

Deno.test("property: random integer tensors round trip exactly", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...INT_DTYPES),
      shapeArb,
      fc.integer({ min: 0, max: 9 }),
      fc.integer(),
      (dtype, dims, level, seed) => {
        const n = dims.reduce((a, b) => a * b, 1);
        const t = tensor(dtype, dims);
        const bytes = new Uint8Array(t.data.buffer);
        let s = seed >>> 0;
        for (let i = 0; i < bytes.length; i++) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          bytes[i] = dtype === "bool" ? s >>> 31 : s >>> 24;
        }
        const back = decodeTensor(encodeTensor(t, { level }));
        assert.equal(back.dtype, dtype);
        assert.equal(back.data.length, n);
        assert.deepEqual(back.data, t.data);
      },
    ),
    { numRuns: 300 },
  );
});
