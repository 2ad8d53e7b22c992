import assert from "node:assert/strict";
import {
  CodecError,
  decodeTensor,
  decodeTensors,
  encodeTensor,
  encodeTensors,
} from "../../../runtime/codec/mod.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { goldenCut } from "./golden_fixture.ts";
import { assertInt8Close } from "./error_bounds.ts";
import { bundleBody, envelope, record } from "./wire_builder.ts";
import fc from "fast-check";

function codecError(code: string, field?: RegExp) {
  return (e: unknown) =>
    e instanceof CodecError && e.code === code && (!field || field.test(e.field));
}

const labels = tensor("int64", [8], new BigInt64Array([0n, 1n, 1n, 0n, 1n, 0n, 0n, 1n]));
const step = tensor("int64", [], new BigInt64Array([1234n]));

Deno.test("bundle: activation + labels + step id in one message, each with its own encoding", () => {
  const act = goldenCut("activation");
  const bytes = encodeTensors(
    { activation: act, labels, step },
    { level: 6, perTensor: { activation: { dtype: "int8" } } },
  );
  const back = decodeTensors(bytes);
  assert.deepEqual([...back.keys()], ["activation", "labels", "step"]);
  assertInt8Close(act.data, back.get("activation")!.data as Float32Array, act.dims, 1);
  assert.deepEqual(back.get("labels"), labels);
  assert.deepEqual(back.get("step"), step);
  // Smaller than the three sent separately in float32.
  assert.ok(bytes.length < encodeTensor(act).length / 3);
});

Deno.test("bundle: Map input, unicode names, and names that are object keys elsewhere", () => {
  const m = new Map<string, Tensor>([["__proto__", labels], ["constructor", step], [
    "Δ grad ✓",
    tensor("float32", [1], new Float32Array([2])),
  ]]);
  const back = decodeTensors(encodeTensors(m, { perTensor: { constructor: { level: 0 } } }));
  assert.deepEqual([...back.keys()], [...m.keys()]);
  assert.deepEqual(back.get("__proto__"), labels);
  assert.deepEqual(back.get("constructor"), step);
  // An empty bundle is a valid message.
  assert.equal(decodeTensors(encodeTensors({})).size, 0);
});

Deno.test("bundle: bad names and stray overrides are refused at encode", () => {
  assert.throws(() => encodeTensors({ "": step }), RangeError);
  assert.throws(() => encodeTensors({ ["x".repeat(256)]: step }), RangeError);
  assert.throws(
    () => encodeTensors({ a: step }, { perTensor: { b: { dtype: "int8" } } }),
    RangeError,
  );
});

Deno.test("bundle: limits cover the count and the total element count", () => {
  const a = tensor("float32", [100], new Float32Array(100));
  const bytes = encodeTensors({ a, b: a });
  assert.equal(decodeTensors(bytes, { maxElements: 200 }).size, 2);
  assert.throws(
    () => decodeTensors(bytes, { maxElements: 150 }),
    codecError("TOO_LARGE", /^dims$/),
  );
  assert.throws(() => decodeTensors(bytes, { maxTensors: 1 }), codecError("TOO_LARGE", /^count$/));
});

Deno.test("bundle: kind confusion, duplicate or invalid names, short bodies are refused", () => {
  assert.throws(() => decodeTensor(encodeTensors({ step })), codecError("MALFORMED", /^kind$/));
  assert.throws(() => decodeTensors(encodeTensor(step)), codecError("MALFORMED", /^kind$/));
  const rec = record({ src: 7, wire: 7, dims: [], payload: new Uint8Array(8) });
  assert.equal(decodeTensors(envelope(2, bundleBody([["a", rec]]))).size, 1);
  assert.throws(
    () => decodeTensors(envelope(2, bundleBody([["a", rec], ["a", rec]]))),
    codecError("MALFORMED", /names\[1\]/),
  );
  assert.throws(
    () => decodeTensors(envelope(2, bundleBody([[new Uint8Array([0xc3, 0x28]), rec]]))),
    codecError("MALFORMED", /names\[0\]/),
  );
  assert.throws(
    () => decodeTensors(envelope(2, bundleBody([["", rec]]))),
    codecError("MALFORMED", /names\[0\] length/),
  );
  assert.throws(
    () => decodeTensors(envelope(2, bundleBody([["a", rec]], 2))),
    codecError("TRUNCATED", /names\[1\]/),
  );
  const trailing = new Uint8Array([...bundleBody([["a", rec]]), 0]);
  assert.throws(() => decodeTensors(envelope(2, trailing)), codecError("MALFORMED", /body length/));
});

Deno.test("headroom: the message follows that many zero bytes, byte for byte the message without it", () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 0, max: 70 }),
      fc.constantFrom("float32", "float16", "int8"),
      (v, headroom, dtype) => {
        const tensors = { a: tensor("float32", [v.length], Float32Array.from(v)) };
        const opts = {
          dtype: dtype as "float32" | "float16" | "int8",
          padding: { mode: "pow2" as const },
        };
        const plain = encodeTensors(tensors, opts);
        const roomy = encodeTensors(tensors, opts, headroom);
        assert.equal(roomy.length, headroom + plain.length);
        assert.ok(roomy.subarray(0, headroom).every((b) => b === 0));
        assert.deepEqual(roomy.subarray(headroom), plain);
      },
    ),
  );
  assert.throws(() => encodeTensors({}, {}, -1), /headroom -1: expected a non-negative integer/);
});
