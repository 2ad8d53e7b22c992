import assert from "node:assert/strict";
import fc from "fast-check";
import { checkPadding, paddedLength } from "../../../runtime/codec/padding.ts";

Deno.test("padding: each scheme gives the smallest bucket ≥ the length", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 ** 30 }),
      fc.integer({ min: 1, max: 1 << 24 }),
      (len, bucket) => {
        const p2 = paddedLength({ mode: "pow2" }, len);
        assert.ok(p2 >= len && p2 / 2 < len && Number.isInteger(Math.log2(p2)));
        const m = paddedLength({ mode: "multiple", bucket }, len);
        assert.ok(m >= len && m - len < bucket && m % bucket === 0);
        assert.equal(paddedLength({ mode: "none" }, len), len);
        // Padmé (PURBs §4): overhead ≤ 12 %, and the result is a leading 1 plus
        // at most S = ⌊log2 ⌊log2 L⌋⌋ + 1 further significant bits.
        const pm = paddedLength({ mode: "padme" }, len);
        assert.ok(pm >= len && pm <= len * 1.12, `padme(${len}) = ${pm}`);
        if (len >= 2) {
          const e = Math.floor(Math.log2(len));
          const sig = pm.toString(2).replace(/0+$/, "").length;
          assert.ok(
            sig <= Math.floor(Math.log2(e)) + 2,
            `padme(${len}) = ${pm} has ${sig} significant bits`,
          );
        }
      },
    ),
    { numRuns: 2000 },
  );
  assert.equal(paddedLength({ mode: "padme" }, 100_000), 100_352);
  assert.equal(paddedLength({ mode: "pow2" }, 2 ** 31), Infinity);
});

Deno.test("padding: bad schemes are refused", () => {
  assert.throws(() => checkPadding({ mode: "multiple", bucket: 1.5 }), RangeError);
  assert.throws(() => checkPadding({ mode: "multiple", bucket: 2 ** 25 }), RangeError);
  assert.throws(() => checkPadding({ mode: "random" } as never), RangeError);
  checkPadding({ mode: "padme" });
});
