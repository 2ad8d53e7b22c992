import assert from "node:assert/strict";
import fc from "fast-check";
import { StandardScaler, Vocabulary } from "../../../runtime/data/encoders.ts";

Deno.test("encoders: Vocabulary orders by count, keeps reserved values, maps unseen and rare to 0", () => {
  const v = Vocabulary.fit(["b", "a", "b", "?", "c", "c", "c", "rare"], {
    minCount: 2,
    reserved: ["?"],
  });
  assert.deepEqual(v.values, ["?", "c", "b"]);
  assert.equal(v.size, 4);
  assert.equal(v.index("?"), 1);
  assert.equal(v.index("c"), 2);
  assert.equal(v.index("rare"), 0);
  assert.equal(v.index("never seen"), 0);
  assert.throws(() => new Vocabulary(["x", "x"]), /distinct/);
  fc.assert(fc.property(fc.array(fc.string()), (xs) => {
    const voc = Vocabulary.fit(xs);
    assert.equal(voc.size, new Set(xs).size + 1);
    for (const x of xs) assert.equal(voc.values[voc.index(x) - 1], x);
  }));
});

Deno.test("encoders: StandardScaler gives mean 0 / std 1 on its training rows, ignores NaN", () => {
  fc.assert(fc.property(
    fc.array(
      fc.tuple(
        fc.double({ min: -1e3, max: 1e3, noNaN: true }),
        fc.double({ min: -1e3, max: 1e3, noNaN: true }),
      ),
      { minLength: 2 },
    ),
    (rows) => {
      const s = StandardScaler.fit(rows);
      const z = rows.map((r) => s.transform(r) as number[]);
      for (let j = 0; j < 2; j++) {
        const col = z.map((r) => r[j]);
        const m = col.reduce((a, x) => a + x, 0) / col.length;
        assert.ok(Math.abs(m) < 1e-6, `mean ${m}`);
        const raw = rows.map((r) => r[j]);
        if (Math.max(...raw) - Math.min(...raw) > 1e-3) {
          const v = col.reduce((a, x) => a + (x - m) ** 2, 0) / col.length;
          assert.ok(Math.abs(v - 1) < 1e-6, `variance ${v}`);
        }
      }
    },
  ));
  const s = StandardScaler.fit([[1, 5], [3, 5], [NaN, 5]]);
  assert.deepEqual(s.mean, [2, 5]);
  assert.deepEqual(s.std, [1, 1]); // constant column: std 1, not 0
  assert.deepEqual(s.transform([NaN, 7]), [0, 2]);
  assert.throws(() => StandardScaler.fit([]), /zero rows/);
  assert.throws(() => StandardScaler.fit([[1], [1, 2]]), /must all have 1 columns, got 2/);
});
