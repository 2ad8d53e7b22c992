import assert from "node:assert/strict";
import fc from "fast-check";
import { tensor } from "../../../models/tensor.ts";
import {
  decodeMessage,
  encodeMessage,
  MESSAGE_TYPES,
  type Message,
  packFrames,
  parseStepId,
  ProtocolError,
  stepId,
  type TensorSpec,
  unpackFrames,
} from "../../../runtime/protocol/mod.ts";
import { NoiseError } from "../../../crypto/errors.ts";

const act = tensor("float32", [2, 3], new Float32Array([1.5, -2, 3.25, 0, 1e-3, -7]));
const labels = tensor("float32", [2, 1], new Float32Array([0, 1]));

const samples: Message[] = [
  { type: "STEP", stepId: "3:7", epoch: 3, activation: act, labels },
  { type: "STEP_RESULT", stepId: "3:7", loss: 0.693, cutGrad: act },
  { type: "MIDDLE_FORWARD", stepId: "0:0", epoch: 0, activation: act },
  { type: "MIDDLE_FORWARD_RESULT", stepId: "0:0", headInput: act },
  { type: "MIDDLE_BACKWARD", stepId: "0:0", epoch: 0, gradHeadInput: act },
  { type: "MIDDLE_BACKWARD_RESULT", stepId: "0:0", cutGrad: act },
  { type: "EVAL", activation: act },
  { type: "EVAL_RESULT", output: labels },
  { type: "TURN_REQUEST" },
  { type: "TURN", turn: "clinic-a", yours: false, epoch: 2, finished: false, lastStepId: "2:4", order: ["clinic-a", "clinic-b"], loss: "bce" },
  { type: "TURN", turn: null, yours: false, epoch: 5, finished: true, lastStepId: null, order: [], loss: "mse" },
  { type: "TURN_DONE", epoch: 1, lastStepId: "1:4", sealedWeights: { "clinic-b": Uint8Array.of(1, 2, 3), c3: Uint8Array.of(7) } },
  { type: "TURN_DONE", epoch: 0, lastStepId: null, sealedWeights: { b: Uint8Array.of(9) } },
  { type: "TURN_DONE_RESULT", epoch: 2, next: "clinic-a" },
  { type: "FETCH_WEIGHTS" },
  { type: "WEIGHTS", from: "clinic-a", seq: 4, sealedWeights: Uint8Array.of(9, 8) },
  { type: "WEIGHTS", from: null, seq: 0 },
  { type: "ERROR", code: "WRONG_EPOCH", message: "epoch 2" },
  { type: "EXPORT" },
  { type: "EXPORT_RESULT", weights: { "block2.conv.weight": act, "fc.bias": tensor("float32", [1], new Float32Array([0.5])) } },
  { type: "TURN_RESTART", epoch: 1, lastStepId: "1:2" },
  { type: "STUDY" },
  { type: "STUDY_RESULT", id: "s-1", digest: "sha256:" + "ab".repeat(32), definition: new TextEncoder().encode('{"id":"s-1"}') },
  { type: "STUDY_RESULT", id: "", digest: "" },
  { type: "LEAVE" },
  { type: "LEAVE_RESULT", finished: true, waitingFor: ["clinic-b"] },
  { type: "FETCH_FRONTS", epoch: 3 },
  { type: "FRONTS", epoch: 3, clinics: ["clinic-a", "clinic-b"], samples: [640, 1280], sealedWeights: { "clinic-b": Uint8Array.of(4, 5) } },
  { type: "FRONTS", epoch: 0, clinics: [], samples: [], sealedWeights: {} },
  { type: "FRONTS", epoch: 0, clinics: ["a", "b"], samples: [10, 20], sealedWeights: {}, secaggRound: 4 },
  { type: "TURN_DONE", epoch: 1, lastStepId: "1:0", sealedWeights: {}, frontLength: 1234 },
  { type: "TURN", turn: null, yours: true, epoch: 1, finished: false, lastStepId: null, order: ["a"], loss: "bce", schedule: "parallel", clinicWeights: "averaged", frontAggregation: "secagg" },
  { type: "SECAGG", payload: Uint8Array.of(1, 2, 3) },
  { type: "SECAGG_REPLY", payload: Uint8Array.of(4, 5, 6, 7) },
];

function refused(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

Deno.test("every message type round-trips exactly with the float32 codec", () => {
  for (const m of samples) assert.deepEqual(decodeMessage(encodeMessage(m)), m, m.type);
  assert.deepEqual(new Set(samples.map((m) => m.type)), new Set(Object.keys(MESSAGE_TYPES)), "a sample of every type");
  assert.equal(new Set(Object.values(MESSAGE_TYPES)).size, Object.keys(MESSAGE_TYPES).length);
});

Deno.test("lossy codecs apply to activations but never to labels; NaN loss survives", () => {
  const big = tensor("float32", [2, 1], new Float32Array([0.123456789, 0.987654321]));
  const m = decodeMessage(encodeMessage(
    { type: "STEP", stepId: "0:1", epoch: 0, activation: act, labels: big },
    { dtype: "int8" },
  )) as Extract<Message, { type: "STEP" }>;
  assert.deepEqual(m.labels, big);
  assert.notDeepEqual(m.activation.data, act.data); // int8 is lossy
  for (let i = 0; i < act.data.length; i++) assert.ok(Math.abs(Number(m.activation.data[i]) - act.data[i]) < 0.1);
  const f16 = decodeMessage(encodeMessage({ type: "EVAL_RESULT", output: act }, { dtype: "float16" }));
  assert.equal((f16 as { output: { dtype: string } }).output.dtype, "float32");
  const r = decodeMessage(encodeMessage({ type: "STEP_RESULT", stepId: "0:0", loss: NaN, cutGrad: act }));
  assert.ok(Number.isNaN((r as { loss: number }).loss));
});

Deno.test("decode checks tensors against the receiver's specs", () => {
  const expect: Record<string, TensorSpec> = {
    activation: { dtype: "float32", shape: ["N", 3], maxSymbol: 4 },
    labels: { dtype: "float32", shape: ["N", 1] },
  };
  const ok = encodeMessage({ type: "STEP", stepId: "0:0", epoch: 0, activation: act, labels });
  assert.equal(decodeMessage(ok, { expect }).type, "STEP");
  const shape = encodeMessage({ type: "STEP", stepId: "0:0", epoch: 0, activation: tensor("float32", [2, 4]), labels });
  assert.throws(() => decodeMessage(shape, { expect }), refused("WRONG_SHAPE"));
  const batch = encodeMessage({ type: "STEP", stepId: "0:0", epoch: 0, activation: act, labels: tensor("float32", [3, 1]) });
  assert.throws(() => decodeMessage(batch, { expect }), refused("WRONG_SHAPE"));
  const dtype = encodeMessage({ type: "STEP", stepId: "0:0", epoch: 0, activation: act, labels: tensor("int64", [2, 1]) });
  assert.throws(() => decodeMessage(dtype, { expect }), refused("WRONG_DTYPE"));
  const tooBig = encodeMessage({ type: "EVAL", activation: tensor("float32", [5, 3]) });
  assert.throws(() => decodeMessage(tooBig, { expect }), refused("WRONG_SHAPE"));
  assert.throws(() => decodeMessage(tooBig, { limits: { maxElements: 10 } }), refused("TOO_MANY_ELEMENTS"));
});

Deno.test("decode refuses unknown types, bad headers, missing or extra parts", () => {
  const enc = (type: number, header: unknown, rest: Uint8Array = new Uint8Array(0)) => {
    const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
    const out = new Uint8Array(5 + json.length + rest.length);
    out[0] = type;
    new DataView(out.buffer).setUint32(1, json.length, true);
    out.set(json, 5);
    out.set(rest, 5 + json.length);
    return out;
  };
  const T = MESSAGE_TYPES;
  assert.throws(() => decodeMessage(enc(99, {})), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(new Uint8Array(3)), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(enc(T.TURN_REQUEST, "{nope")), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(enc(T.TURN_REQUEST, [])), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(enc(T.TURN_REQUEST, { extra: 1 })), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(enc(T.TURN_REQUEST, {}, Uint8Array.of(1))), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(enc(T.TURN_DONE_RESULT, { epoch: 1 })), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(enc(T.TURN_DONE_RESULT, { epoch: -1, next: null })), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(enc(T.TURN_DONE_RESULT, { epoch: 1, next: "../x" })), refused("BAD_MESSAGE"));
  // a step id of another epoch than the header's
  const stepBytes = encodeMessage({ type: "STEP", stepId: "1:0", epoch: 1, activation: act, labels });
  const tampered = enc(T.STEP, { stepId: "1:0", epoch: 2 }, stepBytes.subarray(5 + new DataView(stepBytes.buffer).getUint32(1, true)));
  assert.throws(() => decodeMessage(tampered), refused("BAD_MESSAGE"));
  // missing tensor: a STEP header over an EVAL bundle
  const evalBytes = encodeMessage({ type: "EVAL", activation: act });
  const hlen = new DataView(evalBytes.buffer).getUint32(1, true);
  assert.throws(() => decodeMessage(enc(T.STEP, { stepId: "0:0", epoch: 0 }, evalBytes.subarray(5 + hlen))), refused("BAD_MESSAGE"));
  // accept filter
  assert.throws(() => decodeMessage(encodeMessage({ type: "TURN_REQUEST" }), { accept: ["STEP"] }), refused("BAD_MESSAGE"));
  // encoding refuses a malformed message too
  assert.throws(() => encodeMessage({ type: "TURN_DONE", epoch: 0, lastStepId: null, sealedWeights: { b: new Uint8Array(0) } }), refused("BAD_MESSAGE"));
  assert.throws(() => encodeMessage({ type: "STEP", stepId: "x", epoch: 0, activation: act, labels }), refused("BAD_MESSAGE"));
});

Deno.test("EXPORT_RESULT: weights travel exactly under a lossy codec; strict weight names and dtypes; TURN_DONE.lastStepId", () => {
  const w = tensor("float32", [3], new Float32Array([0.123456789, -1e-7, 3.3333333]));
  const m = decodeMessage(encodeMessage({ type: "EXPORT_RESULT", weights: { w, __proto__x: act } }, { dtype: "int8", level: 6 }));
  assert.deepEqual(m, { type: "EXPORT_RESULT", weights: { w, __proto__x: act } });
  // a weight named __proto__ stays a weight
  const proto: Record<string, typeof w> = {};
  Object.defineProperty(proto, "__proto__", { value: w, enumerable: true });
  const pm = decodeMessage(encodeMessage({ type: "EXPORT_RESULT", weights: proto })) as Extract<Message, { type: "EXPORT_RESULT" }>;
  assert.deepEqual(Object.keys(pm.weights), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(pm.weights), Object.prototype);
  const refusedWeights = [
    {},
    { "": w },
    { "bad\nname": w },
    { x: tensor("int32", [1], new Int32Array([1])) },
    { x: "not a tensor" },
  ];
  for (const weights of refusedWeights) {
    assert.throws(() => encodeMessage({ type: "EXPORT_RESULT", weights } as never), refused("BAD_MESSAGE"), JSON.stringify(Object.keys(weights)));
  }
  // decoding refuses what encoding would: an int32 weight, a tensor outside the weight/ prefix
  const T = MESSAGE_TYPES;
  const bundleOf = (b: Uint8Array) => b.subarray(5 + new DataView(b.buffer, b.byteOffset).getUint32(1, true));
  const evalBundle = bundleOf(encodeMessage({ type: "EVAL", activation: act }));
  const raw = (type: number, header: unknown, rest: Uint8Array) => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(5 + json.length + rest.length);
    out[0] = type;
    new DataView(out.buffer).setUint32(1, json.length, true);
    out.set(json, 5);
    out.set(rest, 5 + json.length);
    return out;
  };
  assert.throws(() => decodeMessage(raw(T.EXPORT_RESULT, {}, evalBundle)), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(raw(T.EXPORT, {}, evalBundle)), refused("BAD_MESSAGE"));
  const labelBundle = bundleOf(encodeMessage({ type: "STEP", stepId: "0:0", epoch: 0, activation: act, labels: tensor("int64", [2], new BigInt64Array([0n, 1n])) }));
  assert.throws(() => decodeMessage(raw(T.EXPORT_RESULT, {}, labelBundle)), refused("BAD_MESSAGE"));
  // TURN_DONE.lastStepId is required, a step id of the same epoch, or null
  assert.throws(() => encodeMessage({ type: "TURN_DONE", epoch: 1, lastStepId: "0:3", sealedWeights: { b: Uint8Array.of(1) } }), refused("BAD_MESSAGE"));
  assert.throws(() => encodeMessage({ type: "TURN_DONE", epoch: 1, sealedWeights: { b: Uint8Array.of(1) } } as never), refused("BAD_MESSAGE"));
  const done = encodeMessage({ type: "TURN_DONE", epoch: 1, lastStepId: "1:3", sealedWeights: { b: Uint8Array.of(1) } });
  assert.throws(() => decodeMessage(raw(T.TURN_DONE, { epoch: 1 }, bundleOf(done))), refused("BAD_MESSAGE"));
  assert.throws(() => decodeMessage(raw(T.TURN_DONE, { epoch: 1, lastStepId: "2:0" }, bundleOf(done))), refused("BAD_MESSAGE"));
  assert.equal((decodeMessage(raw(T.TURN_DONE, { epoch: 1, lastStepId: null }, bundleOf(done))) as { lastStepId: unknown }).lastStepId, null);
});

Deno.test("fuzz: decode of arbitrary or mutated bytes throws only ProtocolError", () => {
  const valid = samples.map((m) => encodeMessage(m));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, v]) => {
          const c = b.slice();
          c[i % c.length] = v;
          return c;
        }),
        fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
      ),
      (bytes) => {
        try {
          decodeMessage(bytes, { limits: { maxElements: 1 << 16 } });
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("body frames: pack/unpack round trip and malformed bodies", () => {
  const frames = [Uint8Array.of(1, 2, 3), Uint8Array.of(4)];
  assert.deepEqual(unpackFrames(packFrames(frames)), frames);
  const code = (f: () => unknown) =>
    assert.throws(f, (e) => e instanceof NoiseError && e.code === "MALFORMED_FRAME");
  code(() => unpackFrames(new Uint8Array(0)));
  code(() => unpackFrames(Uint8Array.of(0, 0, 0, 0)));
  code(() => unpackFrames(Uint8Array.of(0, 0, 0, 5, 1)));
  code(() => unpackFrames(Uint8Array.of(0, 0, 0, 1, 1, 0)));
  code(() => unpackFrames(packFrames([new Uint8Array(10)]), { maxFrameSize: 9 }));
});

Deno.test("step ids", () => {
  assert.equal(stepId(2, 17), "2:17");
  assert.deepEqual(parseStepId("2:17"), { epoch: 2, batch: 17 });
  assert.equal(parseStepId("2:x"), null);
  assert.equal(parseStepId("-1:0"), null);
  assert.throws(() => stepId(-1, 0), RangeError);
});
