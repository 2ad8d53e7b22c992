import assert from "node:assert/strict";
import fc from "fast-check";
import { tensor } from "../../../models/tensor.ts";
import { checkTensor } from "../../../runtime/protocol/tensor_spec.ts";

const refused = (code: string, message: RegExp) => (e: unknown) =>
  (e as { code?: string }).code === code && message.test((e as Error).message);

Deno.test("checkTensor with finite: the first NaN or infinity is named; nothing is bound", () => {
  fc.assert(fc.property(
    fc.float32Array({ minLength: 1, maxLength: 64, noNaN: true, noDefaultInfinity: true }),
    fc.nat(),
    fc.constantFrom(NaN, Infinity, -Infinity),
    (values, at, bad) => {
      const d = Float32Array.from(values.map((v) => Number.isFinite(v) ? v : 0));
      const spec = { dtype: "float32" as const, shape: ["N"], finite: true };
      const bound = new Map<string, number>();
      checkTensor("x", tensor("float32", [d.length], d), spec, bound);
      assert.equal(bound.get("N"), d.length);
      const i = at % d.length;
      d[i] = bad;
      const fresh = new Map<string, number>();
      assert.throws(() => checkTensor("x", tensor("float32", [d.length], d), spec, fresh), refused("NON_FINITE", new RegExp(`^x: element ${i} is ${bad}; expected finite values$`)));
      assert.equal(fresh.size, 0);
    },
  ));
});

Deno.test("checkTensor with range: values outside are refused, the bounds themselves pass", () => {
  const spec = { dtype: "float32" as const, shape: ["N", 1], range: [0, 1] as const };
  checkTensor("labels", tensor("float32", [3, 1], Float32Array.from([0, 1, 0.25])), spec, new Map());
  assert.throws(() => checkTensor("labels", tensor("float32", [2, 1], Float32Array.from([0, 1.5])), spec, new Map()),
    refused("OUT_OF_RANGE", /^labels: element 1 is 1\.5; expected values in \[0, 1\]$/));
  // Without finite, a NaN is still outside every range.
  assert.throws(() => checkTensor("labels", tensor("float32", [1, 1], Float32Array.from([NaN])), spec, new Map()),
    refused("OUT_OF_RANGE", /element 0 is NaN/));
  // And with neither, values are not looked at.
  checkTensor("z", tensor("float32", [1], Float32Array.from([NaN])), { dtype: "float32", shape: [1] }, new Map());
});
