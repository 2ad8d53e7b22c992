import assert from "node:assert/strict";
import fc from "fast-check";
import { dequantizeInt8, quantizeInt8 } from "../../../runtime/codec/quantize.ts";
import { goldenCut } from "./golden_fixture.ts";
import { assertInt8Close, int8Bounds } from "./error_bounds.ts";

function roundTrip(x: Float32Array, dims: number[], axis: number | null): Float32Array {
  const { q, params } = quantizeInt8(x, dims, axis);
  const out = new Float32Array(x.length);
  dequantizeInt8(q, params, dims, null, out);
  return out;
}

const assertWithin = assertInt8Close;

Deno.test("int8: error ≤ scale/2 per channel on the real cut activation and gradient", () => {
  for (const which of ["activation", "grad"] as const) {
    const t = goldenCut(which);
    const dims = [...t.dims];
    for (const axis of [1, null, 3]) {
      const y = roundTrip(t.data, dims, axis);
      assertWithin(t.data, y, dims, axis);
      // Zeros (20 % of ReLU outputs) come back exactly zero.
      for (let i = 0; i < y.length; i++) if (t.data[i] === 0) assert.equal(y[i], 0);
    }
    // Per-channel quantisation is what makes the gradient usable: its channels
    // differ in scale, so the per-channel error is well below the per-tensor one.
    const perChannel = int8Bounds(t.data, dims, 1);
    const perTensor = int8Bounds(t.data, dims, null)[0];
    assert.ok(Math.min(...perChannel) < perTensor, `${which}: per-channel bound below per-tensor`);
  }
});

Deno.test("int8: parameters: positive scales, zero points in range, zero exact", () => {
  const x = new Float32Array([5, 6, 7, 8, -1, -2, -3, -4, 0, 0, 0, 0, 1e-40, 2e-40, 0, 3e-40]);
  const { q, params } = quantizeInt8(x, [1, 4, 4], 1);
  assert.equal(params.scales.length, 4);
  for (const s of params.scales) assert.ok(s > 0 && Number.isFinite(s));
  assert.deepEqual([...params.zeroPoints], [-128, 127, -128, -128]);
  assert.equal(q.length, 16);
  const y = roundTrip(x, [1, 4, 4], 1);
  assertWithin(x, y, [1, 4, 4], 1);
  assert.deepEqual([...y.subarray(8, 12)], [0, 0, 0, 0]); // all-zero channel
});

Deno.test("int8: NaN and infinities are refused, not clamped", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => quantizeInt8(new Float32Array([1, bad]), [2], null), RangeError);
  }
});

Deno.test("int8: random tensors stay within scale/2 for every axis", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      fc.float({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      (dims, amplitude, seed) => {
        const n = dims.reduce((a, b) => a * b, 1);
        let s = seed;
        const x = new Float32Array(n).map(() => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          return (s / 2 ** 32 - 0.3) * amplitude;
        });
        for (const axis of [null, ...dims.map((_, i) => i)]) {
          assertWithin(x, roundTrip(x, dims, axis), dims, axis);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("int8: the dense path gives the same bytes and parameters as the indexed path over every element", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      fc.float32Array({ noNaN: true, noDefaultInfinity: true, minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      (dims, [amplitude], seed) => {
        const n = dims.reduce((a, b) => a * b, 1);
        let s = seed;
        const x = Float32Array.from({ length: n }, () => {
          s = (s * 1103515245 + 12345) % 2 ** 31;
          return (s / 2 ** 31 - 0.5) * amplitude;
        });
        const all = Uint32Array.from({ length: n }, (_, i) => i);
        for (const axis of [null, ...dims.keys()]) {
          const dense = quantizeInt8(x, dims, axis);
          const indexed = quantizeInt8(x, dims, axis, all);
          assert.deepEqual(dense.q, indexed.q);
          assert.deepEqual(dense.params, indexed.params);
        }
      },
    ),
  );
});

Deno.test("int8: the dense path names the first non-finite element it meets", () => {
  assert.throws(() => quantizeInt8(new Float32Array([1, 2, NaN, 4]), [2, 2], 0), /element 2 = NaN/);
  assert.throws(() => quantizeInt8(new Float32Array([1, 2, 3, -Infinity]), [2, 2], 1), /element 3 = -Infinity/);
  assert.throws(() => quantizeInt8(new Float32Array([Infinity, 0]), [2], null), /element 0 = Infinity/);
});
