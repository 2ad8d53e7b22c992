import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeTensors, encodeTensors, wireRecordOf } from "../../../runtime/codec/mod.ts";
import { tensor } from "../../../models/tensor.ts";

// A relay that decodes with keepRecords and encodes with reuseRecords must send each record
// byte for byte as it arrived, so the receiver decodes exactly what the sender encoded (one
// int8 rounding, not two); without reuseRecords the encoding options apply as usual.

const NONE = { mode: "none" } as const;

/** What a relay sends on after decoding `bytes`. */
function roundTrip(bytes: Uint8Array, reuse: boolean) {
  const got = decodeTensors(bytes, undefined, { keepRecords: true });
  return encodeTensors(got, { dtype: "float32", level: 0, padding: NONE, reuseRecords: reuse });
}

Deno.test("wire records: a kept int8 record is relayed byte for byte, labels included", () => {
  fc.assert(fc.property(
    fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }), {
      minLength: 6,
      maxLength: 6 * 20,
    }),
    fc.integer({ min: 0, max: 6 }),
    (values, level) => {
      const n = Math.floor(values.length / 6) * 6;
      const activation = tensor("float32", [n / 6, 2, 3], Float32Array.from(values.slice(0, n)));
      const labels = tensor("float32", [n / 6, 1], Float32Array.from({ length: n / 6 }, (_, i) => i % 2));
      const sent = encodeTensors(new Map([["activation", activation], ["labels", labels]]), {
        dtype: "int8",
        level,
        perTensor: { labels: { dtype: "float32" } },
        padding: NONE,
      });
      const relayed = roundTrip(sent, true);
      // Same records, same names, no padding: the same bytes.
      assert.deepEqual(relayed, sent);
      const a = decodeTensors(sent).get("activation")!, b = decodeTensors(relayed).get("activation")!;
      assert.deepEqual(b.data, a.data);
    },
  ));
});

Deno.test("wire records: without reuseRecords, or for fresh tensors, the options decide", () => {
  const activation = tensor("float32", [4, 2, 30], Float32Array.from({ length: 240 }, (_, i) => i / 7));
  const sent = encodeTensors({ activation }, { dtype: "int8", level: 0, padding: NONE });
  const kept = decodeTensors(sent, undefined, { keepRecords: true }).get("activation")!;
  assert.ok(wireRecordOf(kept));
  // Not asked to reuse: the kept tensor is encoded as float32, 4 bytes per element.
  const reencoded = decodeTensors(encodeTensors({ activation: kept }, { dtype: "float32", level: 0, padding: NONE }));
  assert.deepEqual(reencoded.get("activation")!.data, kept.data);
  assert.ok(encodeTensors({ activation: kept }, { dtype: "float32", level: 0, padding: NONE }).length > sent.length + 500);
  // Decoded without keepRecords: nothing remembered, nothing reused.
  const plain = decodeTensors(sent).get("activation")!;
  assert.equal(wireRecordOf(plain), undefined);
  const fresh = encodeTensors({ activation: plain }, { dtype: "float32", level: 0, padding: NONE, reuseRecords: true });
  assert.ok(fresh.length > sent.length + 500);
});
