import assert from "node:assert/strict";
import fc from "fast-check";
import { checkShareIndices, combineShares, splitSecret } from "../../../crypto/secagg/shamir.ts";

const code = (want: string) => (e: unknown) => (e as { code?: string }).code === want;
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fixed = (bytes: Uint8Array) => (n: number) => {
  assert.equal(n, bytes.length);
  return bytes.slice();
};

Deno.test("KAT: one-coefficient polynomials evaluate to the FIPS-197 products", () => {
  // f(x) = 0 + {57}·x; f({83}) = {c1}, f({13}) = {fe} (FIPS-197 §4.2)
  const shares = splitSecret(Uint8Array.of(0), 2, [0x83, 0x13], fixed(Uint8Array.of(0x57)));
  assert.deepEqual(shares.map((s) => s.value[0]), [0xc1, 0xfe]);
});

Deno.test("KAT: 3-of-5 split of 'splitgate' with fixed coefficients (computed by an independent log/exp-table implementation)", () => {
  const secret = new TextEncoder().encode("splitgate");
  const coef = Uint8Array.from({ length: 18 }, (_, i) => i + 1);
  const shares = splitSecret(secret, 3, [1, 2, 3, 5, 255], fixed(coef));
  assert.deepEqual(shares.map((s) => [s.index, hex(s.value)]), [
    [1, "787963607f6e766d7e"],
    [2, "59585a5546572f203f"],
    [3, "5251555c4d5e383924"],
    [5, "dcc1afa08b86714661"],
    [255, "3238a27fa8b281f52e"],
  ]);
  // and back, from known shares only
  const known = [
    { index: 255, value: Uint8Array.from([0x32, 0x38, 0xa2, 0x7f, 0xa8, 0xb2, 0x81, 0xf5, 0x2e]) },
    { index: 2, value: Uint8Array.from([0x59, 0x58, 0x5a, 0x55, 0x46, 0x57, 0x2f, 0x20, 0x3f]) },
    { index: 5, value: Uint8Array.from([0xdc, 0xc1, 0xaf, 0xa0, 0x8b, 0x86, 0x71, 0x46, 0x61]) },
  ];
  assert.equal(new TextDecoder().decode(combineShares(known, 3)), "splitgate");
  assert.equal(coef.some((x) => x !== 0), true, "the caller's buffer is not the one wiped");
});

Deno.test("any t of n shares rebuild the secret, in any order", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
      fc.integer({ min: 2, max: 12 }),
      fc.integer({ min: 0, max: 10 }),
      fc.infiniteStream(fc.nat()),
      (secret, t, extra, picks) => {
        const n = Math.min(t + extra, 20);
        const indices = Array.from({ length: n }, (_, i) => 1 + ((i * 37) % 255));
        const shares = splitSecret(secret, t, indices);
        const pool = [...shares];
        const chosen = [];
        const it = picks[Symbol.iterator]();
        for (let k = 0; k < t; k++) chosen.push(pool.splice(it.next().value % pool.length, 1)[0]);
        assert.deepEqual(combineShares(chosen, t), secret);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("t − 1 shares say nothing: over all polynomials, every pair of share values is equally likely for any secret", () => {
  // t = 3: the shares at x = 1, 2 of s + a·x + b·x² for all 65536 (a, b); for a fixed secret
  // byte the map (a, b) → (f(1), f(2)) is a bijection, so each pair occurs exactly once.
  for (const s of [0x00, 0xff]) {
    const seen = new Uint8Array(65536);
    const coef = new Uint8Array(2);
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        coef[0] = a, coef[1] = b;
        const [f1, f2] = splitSecret(Uint8Array.of(s), 3, [1, 2, 3], fixed(coef));
        seen[(f1.value[0] << 8) | f2.value[0]]++;
      }
    }
    assert.equal(seen.every((c) => c === 1), true, `secret ${s}`);
  }
});

Deno.test("zero, duplicate, fractional and out-of-range share indices are refused", () => {
  for (const bad of [[0, 1], [1, 1], [1.5, 2], [256, 1], [-1, 2], [NaN, 1]]) {
    assert.throws(() => checkShareIndices(bad), code("BAD_SHARE_INDEX"), `indices ${bad}`);
    assert.throws(
      () => splitSecret(Uint8Array.of(1), 2, bad),
      code("BAD_SHARE_INDEX"),
      `split ${bad}`,
    );
  }
  const v = Uint8Array.of(1);
  assert.throws(
    () => combineShares([{ index: 3, value: v }, { index: 3, value: v }], 2),
    { name: "SecAggError", code: "BAD_SHARE_INDEX", message: /share index 3 appears twice/ },
  );
  assert.throws(
    () => combineShares([{ index: 0, value: v }, { index: 3, value: v }], 2),
    {
      name: "SecAggError",
      code: "BAD_SHARE_INDEX",
      message: /share index 0 is not an integer in 1\.\.255/,
    },
  );
});

Deno.test("too few shares, a threshold above the holders, and shares of unequal length are refused", () => {
  const s = splitSecret(Uint8Array.of(1, 2), 3, [1, 2, 3]);
  assert.throws(() => combineShares(s.slice(0, 2), 3), {
    code: "TOO_FEW_SHARES",
    message: /2 shares given; the threshold is 3/,
  });
  assert.throws(() => splitSecret(Uint8Array.of(1), 4, [1, 2, 3]), {
    code: "INVALID_PARAMS",
    message: /threshold 4/,
  });
  assert.throws(
    () =>
      combineShares([{ index: 1, value: Uint8Array.of(1) }, {
        index: 2,
        value: Uint8Array.of(1, 2),
      }], 2),
    code("MALFORMED_MESSAGE"),
  );
});
