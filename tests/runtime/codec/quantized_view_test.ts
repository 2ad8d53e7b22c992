/**
 * Int8 views (runtime/codec/quantized_view.ts): a view's values are exactly the codec's int8
 * decoding, and the receiver's checks decide on a view — from its codes and scales — exactly
 * as on the decoded floats, tampered scales and zero points included.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { tensor } from "../../../models/tensor.ts";
import { decodeTensors, encodeTensors } from "../../../runtime/codec/bundle.ts";
import {
  quantizedOf,
  quantizedRecord,
  quantizedView,
} from "../../../runtime/codec/quantized_view.ts";
import { int8Rms } from "../../../runtime/codec/int8_rms.ts";
import { wireRecordOf } from "../../../runtime/codec/wire_records.ts";
import { checkTensor, type TensorSpec } from "../../../runtime/protocol/tensor_spec.ts";
import { ProtocolError } from "../../../runtime/protocol/protocol_error.ts";

const C = 3;
/** Codes, scales (tiny to overflowing) and zero points of an [n, C, 2] tensor. */
const quantised = fc.integer({ min: 1, max: 3 }).chain((n) =>
  fc.record({
    dims: fc.constant([n, C, 2]),
    q: fc.array(fc.integer({ min: -128, max: 127 }), { minLength: n * C * 2, maxLength: n * C * 2 })
      .map((v) => Int8Array.from(v)),
    params: fc.record({
      axis: fc.constant(1),
      scales: fc.array(
        fc.oneof(
          fc.constantFrom(1e-30, 1e-3, 0.5, 40, 1e4, 1e30, 3e38),
          fc.float({ min: Math.fround(1e-6), max: Math.fround(100), noNaN: true }),
        ),
        { minLength: C, maxLength: C },
      ).map((v) => Float32Array.from(v)),
      zeroPoints: fc.array(fc.integer({ min: -128, max: 127 }), { minLength: C, maxLength: C })
        .map((v) => Int8Array.from(v)),
    }),
  })
);

function outcome(f: () => void): string {
  try {
    f();
    return "ok";
  } catch (e) {
    assert.ok(e instanceof ProtocolError, String(e));
    return `${e.code}: ${e.message}`;
  }
}

Deno.test("an int8 view decodes to the codec's floats and keeps its codes and record", () => {
  fc.assert(
    fc.property(quantised, (qt) => {
      const bytes = encodeTensors({ a: quantizedView(qt, quantizedRecord(qt, 0)) }, {
        reuseRecords: true,
      });
      const plain = decodeTensors(bytes).get("a")!;
      const view = decodeTensors(bytes, undefined, { int8Views: true }).get("a")!;
      assert.equal(quantizedOf(plain), undefined);
      assert.deepEqual(quantizedOf(view)?.q, qt.q);
      assert.ok(wireRecordOf(view));
      assert.deepEqual(
        Array.from(view.data as Float32Array),
        Array.from(plain.data as Float32Array),
      );
    }),
    { numRuns: 100 },
  );
});

Deno.test("checks decide on a view as on its floats: same refusal code and message, tampered scales and zero points included", () => {
  const specs: TensorSpec[] = [
    { dtype: "float32", shape: ["N", C, 2], finite: true },
    {
      dtype: "float32",
      shape: ["N", C, 2],
      finite: true,
      range: [-1e4, 1e4],
      rangeSource: "limits.maxActivation",
    },
    { dtype: "float32", shape: ["N", C, 2], finite: true, range: [-10, 10] },
    { dtype: "float32", shape: ["N", C, 2], range: [0, 1e38] },
  ];
  let refused = 0;
  fc.assert(
    fc.property(quantised, fc.constantFrom(...specs), (qt, spec) => {
      const view = quantizedView(qt);
      const floats = tensor("float32", [...qt.dims], view.data.slice());
      const fresh = quantizedView(qt); // data never read: checked from codes alone
      const a = outcome(() => checkTensor("activation", fresh, spec, new Map()));
      const b = outcome(() => checkTensor("activation", floats, spec, new Map()));
      assert.equal(a, b);
      if (a !== "ok") refused++;
    }),
    { numRuns: 400 },
  );
  assert.ok(
    refused > 20,
    `only ${refused} cases were refused: the property barely tested refusals`,
  );
});

Deno.test("int8Rms of the codes is the RMS of the view's floats, to float32 rounding", () => {
  fc.assert(
    fc.property(quantised, (qt) => {
      const d = quantizedView(qt).data;
      let s = 0;
      for (const v of d) s += v * v;
      const want = Math.sqrt(s / d.length), got = int8Rms(qt);
      assert.ok(Math.abs(got - want) <= 1e-6 * want + 1e-300, `${got} vs ${want}`);
    }),
    { numRuns: 200 },
  );
});
