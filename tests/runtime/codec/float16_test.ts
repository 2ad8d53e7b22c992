import assert from "node:assert/strict";
import fc from "fast-check";
import { float16BitsToFloat32, float32ToFloat16Bits } from "../../../runtime/codec/float16.ts";

/**
 * An independent reference: IEEE 754 binary16 rounding (roundTiesToEven) done
 * in float64 arithmetic, where scaling by powers of two is exact.
 */
function refFloat16(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? -1 : 1;
  if (a >= 65520) return sign * Infinity; // 65504 + half an ulp (16) rounds to even = Infinity
  let e = a === 0 ? -14 : Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  e = Math.max(e, -14); // below 2^-14: subnormal, fixed ulp 2^-24
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  return sign * r * ulp;
}

function roundTrip(values: number[]): Float32Array {
  return float16BitsToFloat32(float32ToFloat16Bits(new Float32Array(values)));
}

Deno.test("float16: every binary16 bit pattern survives f16 → f32 → f16", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const wide = float16BitsToFloat32(all);
  const back = float32ToFloat16Bits(wide);
  for (let i = 0; i < 65536; i++) {
    const exp = (i >> 10) & 0x1f, man = i & 0x3ff;
    if (exp === 0x1f && man !== 0) assert.ok(Number.isNaN(wide[i]), `0x${i.toString(16)} is NaN`);
    else assert.equal(back[i], i, `bits 0x${i.toString(16)}`);
  }
  // Spot values of the format (IEEE 754-2019 Table 3.5, binary16).
  assert.equal(wide[0x3c00], 1);
  assert.equal(wide[0x7bff], 65504);
  assert.equal(wide[0x0001], 2 ** -24); // smallest subnormal
  assert.equal(wide[0x0400], 2 ** -14); // smallest normal
  assert.ok(Object.is(wide[0x8000], -0));
  assert.equal(wide[0x7c00], Infinity);
});

Deno.test("float16: edge cases round to nearest, ties to even", () => {
  const cases: [number, number][] = [
    [65504, 65504],
    [65519, 65504], // below the halfway point
    [65520, Infinity], // the halfway point: ties to even = overflow
    [1e9, Infinity],
    [-1e9, -Infinity],
    [2 ** -24, 2 ** -24],
    [2 ** -25, 0], // tie between 0 and 2^-24: even is 0
    [3 * 2 ** -26, 2 ** -24], // above the tie
    [3 * 2 ** -25, 2 * 2 ** -24], // tie between 1 and 2 ulps: even is 2
    [1 + 2 ** -11, 1], // tie: even mantissa 1.0
    [1 + 3 * 2 ** -11, 1 + 2 ** -9], // tie: even mantissa
    [1e-8, 0],
  ];
  const got = roundTrip(cases.map(([x]) => x));
  cases.forEach(([x, want], i) => assert.equal(got[i], want, `f16(${x})`));
  const z = roundTrip([-0, -1e-10, NaN]);
  assert.ok(
    Object.is(z[0], -0) && Object.is(z[1], -0),
    "negative values that underflow keep the sign",
  );
  assert.ok(Number.isNaN(z[2]));
});

// Any float32 bits, or bits whose exponent lies where binary16 rounding is
// interesting (subnormal underflow through overflow: 2^-27 … 2^18).
const patterns = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.tuple(
    fc.boolean(),
    fc.integer({ min: 100, max: 145 }),
    fc.integer({ min: 0, max: 2 ** 23 - 1 }),
  )
    .map(([s, e, m]) => ((s ? 0x80000000 : 0) + e * 2 ** 23 + m) >>> 0),
);

Deno.test("float16: matches the reference on random float32 bit patterns", () => {
  fc.assert(
    fc.property(fc.array(patterns, { minLength: 1, maxLength: 512 }), (bits) => {
      const x = new Float32Array(new Uint32Array(bits).buffer);
      const got = float16BitsToFloat32(float32ToFloat16Bits(x));
      for (let i = 0; i < x.length; i++) {
        const want = refFloat16(x[i]);
        if (Number.isNaN(want)) assert.ok(Number.isNaN(got[i]));
        else assert.ok(Object.is(got[i], want), `f16(${x[i]}) = ${got[i]}, reference ${want}`);
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("float16: relative error ≤ 2^-11 in the normal range", () => {
  fc.assert(
    fc.property(
      fc.float({ min: 2 ** -14, max: 65504, noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      (m, neg) => {
        const x = Math.fround(neg ? -m : m);
        const [y] = roundTrip([x]);
        assert.ok(Math.abs(y - x) <= Math.abs(x) * 2 ** -11, `${x} → ${y}`);
      },
    ),
    { numRuns: 2000 },
  );
});
