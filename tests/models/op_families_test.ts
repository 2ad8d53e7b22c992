import assert from "node:assert/strict";
import fc from "fast-check";
import { mergeOpFamilies } from "../../models/op_families.ts";

const dup = (op: string, first: string, second: string) => new RangeError(`${op}: ${first}, ${second}`);

Deno.test("mergeOpFamilies: disjoint families merge in family order", () => {
  const m = mergeOpFamilies({ a: { Relu: 1, Neg: 2 }, b: { Add: 3 } }, dup);
  assert.deepEqual([...m.entries()], [["Relu", 1], ["Neg", 2], ["Add", 3]]);
});

Deno.test("mergeOpFamilies: any op in two families is refused, naming both", () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.constantFrom("Relu", "Add", "Mul", "Conv", "Gemm"), { minLength: 1 }), (ops) => {
      const op = ops[ops.length - 1];
      const first = Object.fromEntries(ops.map((o) => [o, 0]));
      assert.throws(() => mergeOpFamilies({ first, second: { [op]: 1 } }, dup), {
        name: "RangeError",
        message: `${op}: first, second`,
      });
    }),
  );
});
