import assert from "node:assert/strict";
import fc from "fast-check";
import { evaluateLogits, rocAuc } from "../../../runtime/train/metrics.ts";
import { tensor } from "../../../models/tensor.ts";

Deno.test("rocAuc: perfect, reversed, random-tie and half-tie cases", () => {
  assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.equal(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.ok(Number.isNaN(rocAuc([1, 2], [1, 1])));
});

Deno.test("rocAuc equals the pairwise definition (fast-check)", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 2, maxLength: 40 }), (rows) => {
      const s = rows.map((r) => r[0]), y = rows.map((r) => (r[1] ? 1 : 0));
      let num = 0, den = 0;
      for (let i = 0; i < s.length; i++) {
        for (let j = 0; j < s.length; j++) {
          if (y[i] === 1 && y[j] === 0) {
            den++;
            num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
          }
        }
      }
      const auc = rocAuc(s, y);
      if (den === 0) assert.ok(Number.isNaN(auc));
      else assert.ok(Math.abs(auc - num / den) < 1e-12);
    }),
    { numRuns: 300 },
  );
});

Deno.test("evaluateLogits: bce loss and accuracy, ce accuracy", () => {
  const m = evaluateLogits("bce", tensor("float32", [2, 1], new Float32Array([0, 0])), tensor("float32", [2, 1], new Float32Array([0, 1])));
  assert.ok(Math.abs(m.loss - Math.log(2)) < 1e-9);
  const c = evaluateLogits(
    "ce",
    tensor("float32", [2, 3], new Float32Array([5, 0, 0, 0, 0, 5])),
    tensor("int64", [2], new BigInt64Array([0n, 1n])),
  );
  assert.equal(c.accuracy, 0.5);
});
