import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checkFixedPoint,
  decodeSum,
  DEFAULT_FIXED_POINT,
  encodeWeighted,
  errorBound,
  type FixedPointParams,
  maxClinics,
} from "../../../crypto/secagg/fixed_point.ts";

const addAll = (vs: Uint32Array[]) => vs.reduce((acc, v) => acc.map((x, i) => (x + v[i]) >>> 0));

Deno.test("encoding: round(m·clip(x)·s) in two's complement, then the count word", () => {
  const p = { clipRange: 4, scaleBits: 2, maxSamples: 8 };
  assert.deepEqual(
    encodeWeighted(Float32Array.of(0.5, -9, 4, -0.125, 0.124), 2, p, 3),
    Uint32Array.of(4, 2 ** 32 - 32, 32, 2 ** 32 - 1, 1, 2),
  );
});

Deno.test("the documented defaults admit 63 clinics and refuse 64", () => {
  assert.equal(maxClinics(DEFAULT_FIXED_POINT), 63);
  checkFixedPoint(DEFAULT_FIXED_POINT, 63);
  assert.throws(() => checkFixedPoint(DEFAULT_FIXED_POINT, 64), {
    name: "SecAggError",
    code: "OVERFLOW_RISK",
    message: /64 clinics .* exceeds 2\^31 − 1; at most 63 clinics fit/,
  });
});

Deno.test("the overflow refusal is tight: at the limit the worst-case sum decodes, beyond it a sum would wrap", () => {
  const p = { clipRange: 1, scaleBits: 4, maxSamples: 2 ** 20 }; // one clinic's worst word: 2^24 + 1/2
  const n = maxClinics(p);
  assert.equal(n, 127);
  const worst = Array.from(
    { length: n },
    () => encodeWeighted(Float32Array.of(1, -1), p.maxSamples, p, n),
  );
  const got = decodeSum(addAll(worst), p, n);
  assert.deepEqual(got.average, Float32Array.of(1, -1));
  // one more clinic of the same kind: the sum of the first word is 128 · 2^24 = 2^31, which wraps to −2^31
  assert.throws(() => checkFixedPoint(p, n + 1), { code: "OVERFLOW_RISK" });
  const wrapped = (128 * 2 ** 24) | 0;
  assert.equal(wrapped < 0, true, "the refused configuration would really wrap");
});

Deno.test("NaN, ±∞, sample counts out of range and bad parameters are refused", () => {
  const p = DEFAULT_FIXED_POINT;
  assert.throws(() => encodeWeighted(Float32Array.of(0, NaN), 1, p, 2), {
    code: "NON_FINITE",
    message: /weight 1 is NaN/,
  });
  assert.throws(() => encodeWeighted(Float32Array.of(Infinity), 1, p, 2), { code: "NON_FINITE" });
  assert.throws(() => encodeWeighted(Float32Array.of(0), 4097, p, 2), {
    code: "TOO_MANY_SAMPLES",
    message: /4097 is not an integer in 1\.\.4096/,
  });
  assert.throws(() => encodeWeighted(Float32Array.of(0), 0, p, 2), { code: "TOO_MANY_SAMPLES" });
  assert.throws(() => checkFixedPoint({ ...p, scaleBits: 25 }, 2), {
    code: "INVALID_PARAMS",
    message: /scaleBits 25/,
  });
  assert.throws(() => checkFixedPoint({ ...p, clipRange: 0 }, 2), {
    code: "INVALID_PARAMS",
    message: /clipRange 0/,
  });
  assert.throws(() => decodeSum(Uint32Array.of(5, 0), p, 2), {
    code: "MALFORMED_MESSAGE",
    message: /summed sample count 0/,
  });
});

Deno.test("property: the decoded sum is the weighted average within n / (2 s M) + R·2^−24", () => {
  const params = fc.record({
    clipRange: fc.constantFrom(0.5, 1, 4, 16),
    scaleBits: fc.integer({ min: 4, max: 16 }),
    maxSamples: fc.constantFrom(1, 10, 1000),
  });
  const unit = fc.array(fc.float({ min: -1, max: 1, noNaN: true }), {
    minLength: 160,
    maxLength: 160,
  });
  const counts = fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 8, maxLength: 8 });
  fc.assert(
    fc.property(
      params,
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 20 }),
      unit,
      counts,
      (p: FixedPointParams, n, len, xs, cs) => {
        fc.pre(n <= maxClinics(p));
        const ws = Array.from(
          { length: n },
          (_, u) => Float32Array.from(xs.slice(u * len, (u + 1) * len), (x) => x * p.clipRange),
        );
        const m = cs.slice(0, n).map((c) => Math.min(c, p.maxSamples));
        const { average, totalSamples } = decodeSum(
          addAll(ws.map((w, u) => encodeWeighted(w, m[u], p, n))),
          p,
          n,
        );
        const M = m.reduce((a, b) => a + b);
        assert.equal(totalSamples, M);
        const bound = errorBound(p, n, M);
        for (let i = 0; i < len; i++) {
          const exact = ws.reduce((acc, w, u) => acc + m[u] * w[i], 0) / M;
          assert.ok(
            Math.abs(average[i] - exact) <= bound,
            `weight ${i}: |${average[i]} − ${exact}| > ${bound}`,
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});
