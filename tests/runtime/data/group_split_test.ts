import assert from "node:assert/strict";
import fc from "fast-check";
import { groupSplit } from "../../../runtime/data/group_split.ts";

Deno.test("group_split: no group in two splits, every row once, fractions of groups (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 300 }),
      fc.integer(),
      (ids, seed) => {
        const groups = ids.map((i) => `p${i}`);
        const s = groupSplit(groups, { seed });
        const all = [...s.train, ...s.val, ...s.test].sort((a, b) => a - b);
        assert.deepEqual(all, groups.map((_, i) => i));
        const sets = [s.train, s.val, s.test].map((rows) =>
          new Set(Array.from(rows, (r) => groups[r]))
        );
        for (const g of sets[0]) assert.ok(!sets[1].has(g) && !sets[2].has(g), `group ${g} leaks`);
        for (const g of sets[1]) assert.ok(!sets[2].has(g), `group ${g} leaks`);
        const distinct = new Set(groups).size;
        assert.equal(sets[0].size, Math.round(0.7 * distinct));
        assert.equal(sets[1].size, Math.round(0.1 * distinct));
      },
    ),
  );
});

Deno.test("group_split: seeded; bad fractions are refused", () => {
  const groups = Array.from({ length: 200 }, (_, i) => String(i % 50));
  assert.deepEqual(groupSplit(groups, { seed: 4 }), groupSplit(groups, { seed: 4 }));
  assert.notDeepEqual(groupSplit(groups, { seed: 4 }).test, groupSplit(groups, { seed: 5 }).test);
  const s = groupSplit(groups, { seed: 1, fractions: [0.5, 0, 0.5] });
  assert.equal(s.val.length, 0);
  assert.throws(
    () => groupSplit(groups, { seed: 1, fractions: [0.5, 0.2, 0.2] }),
    /sum(ming)? to 1, got \[0.5, 0.2, 0.2\]/,
  );
  assert.throws(
    () => groupSplit(groups, { seed: 1, fractions: [1.2, -0.1, -0.1] }),
    /fractions must be/,
  );
});
