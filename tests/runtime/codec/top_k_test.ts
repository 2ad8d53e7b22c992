import assert from "node:assert/strict";
import fc from "fast-check";
import { topKIndices } from "../../../runtime/codec/top_k.ts";

/** Reference: stable sort by descending magnitude (NaN largest), take k, sort indices. */
function reference(x: Float32Array, k: number): number[] {
  const mag = (v: number) => (Number.isNaN(v) ? Infinity : Math.abs(v));
  return [...x.keys()]
    .sort((a, b) => mag(x[b]) - mag(x[a]) || a - b)
    .slice(0, k)
    .sort((a, b) => a - b);
}

Deno.test("top-k: agrees with a sort-based reference, ties kept in index order", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(fc.constant(0), fc.constant(-1), fc.constant(1), fc.float({ noNaN: true })),
        {
          maxLength: 300,
        },
      ),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (values, f) => {
        const x = new Float32Array(values);
        const k = Math.round(f * x.length);
        assert.deepEqual([...topKIndices(x, k)], reference(x, k));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("top-k: NaN counts as largest; edge counts", () => {
  const x = new Float32Array([1, NaN, -3, 2]);
  assert.deepEqual([...topKIndices(x, 1)], [1]);
  assert.deepEqual([...topKIndices(x, 2)], [1, 2]);
  assert.deepEqual([...topKIndices(x, 0)], []);
  assert.deepEqual([...topKIndices(x, 4)], [0, 1, 2, 3]);
  assert.throws(() => topKIndices(x, 5), RangeError);
  assert.throws(() => topKIndices(x, 1.5), RangeError);
});
