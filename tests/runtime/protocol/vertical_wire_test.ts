import assert from "node:assert/strict";
import fc from "fast-check";
import { tensor } from "../../../models/tensor.ts";
import { ProtocolError } from "../../../runtime/protocol/protocol_error.ts";
import { decodeVertical, encodeVertical } from "../../../runtime/protocol/vertical_wire.ts";

Deno.test("vertical messages round-trip header and tensors", () => {
  const t = tensor("float32", [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
  const m = decodeVertical(encodeVertical({ type: "V_FORWARD", stepId: "1:4" }, { activation: t }));
  assert.deepEqual(m.header, { type: "V_FORWARD", stepId: "1:4" });
  assert.deepEqual(m.tensors.get("activation")!.data, t.data);
  assert.equal(decodeVertical(encodeVertical({ type: "V_OK" })).tensors.size, 0);
});

Deno.test("malformed vertical messages are refused with BAD_MESSAGE, never another error", () => {
  const bad = (b: Uint8Array) => {
    try {
      decodeVertical(b);
    } catch (e) {
      assert.ok(e instanceof ProtocolError && e.code === "BAD_MESSAGE", String(e));
    }
  };
  const mustFail = (b: Uint8Array) =>
    assert.throws(
      () => decodeVertical(b),
      (e) => e instanceof ProtocolError && e.code === "BAD_MESSAGE",
    );
  mustFail(new Uint8Array(3));
  mustFail(Uint8Array.from([255, 255, 0, 0, 1]));
  const good = encodeVertical({ type: "V_EVAL", batchId: "x" }, {
    activation: tensor("float32", [1, 1]),
  });
  mustFail(good.subarray(0, good.length - 3));
  const unknown = encodeVertical({ type: "V_OK" });
  unknown.set(new TextEncoder().encode('{"type":"V_NO"}'), 4);
  mustFail(unknown);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => bad(b)), { numRuns: 200 });
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: good.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
      (i, v) => {
        const c = good.slice();
        c[i] = v;
        bad(c);
      },
    ),
    { numRuns: 200 },
  );
});
