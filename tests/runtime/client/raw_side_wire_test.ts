import assert from "node:assert/strict";
import fc from "fast-check";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { isNoiseError } from "../../../crypto/errors.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import {
  decodeFrame,
  encodeFrame,
  FRAME_KIND,
  FrameReader,
} from "../../../runtime/client/raw_side/wire.ts";
import { RawSideError } from "../../../runtime/client/raw_side/mod.ts";
import { serveRawSide } from "../../../runtime/client/raw_side/service.ts";
import { RawSideStub } from "../../../runtime/client/raw_side/stub.ts";
import { LocalRawSide } from "../../../runtime/client/raw_side/mod.ts";
import { maxAbsDiff, tinyCnn, tinySplits } from "./fixture.ts";
import { wireRecordOf } from "../../../runtime/codec/mod.ts";

const isCode = (code: string) => (e: unknown) => e instanceof RawSideError && e.code === code;

Deno.test("frames round-trip through any chunking of the stream", async () => {
  const a = tensor("float32", [2, 3], new Float32Array([1.5, -2, 3e-8, Math.PI, -0, 7]));
  const frames = [
    encodeFrame({
      id: 1,
      kind: FRAME_KIND.request,
      method: "forward",
      header: { stepId: "1:0", epoch: 1, batch: 0 },
      tensors: new Map(),
    }),
    encodeFrame({
      id: 1,
      kind: FRAME_KIND.reply,
      method: "forward",
      header: {},
      tensors: new Map<string, Tensor>([["activation", a], [
        "labels",
        tensor("int64", [2], new BigInt64Array([0n, 1n])),
      ]]),
    }),
    encodeFrame({
      id: 4294967295,
      kind: FRAME_KIND.error,
      method: "x",
      header: { name: "RawSideError", code: "CLOSED", message: "é" },
      tensors: new Map(),
    }),
  ];
  const all = new Uint8Array(frames.reduce((s, f) => s + f.length, 0));
  let at = 0;
  for (const f of frames) all.set(f, (at += f.length) - f.length);
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.integer({ min: 1, max: all.length - 1 }), { maxLength: 12 }),
      async (cuts) => {
        const points = [0, ...cuts.sort((x, y) => x - y), all.length];
        const chunks = points.slice(1).map((p, i) => all.slice(points[i], p));
        const reader = new FrameReader(ReadableStream.from(chunks));
        const got = [];
        for (let b = await reader.next(); b; b = await reader.next()) got.push(decodeFrame(b));
        assert.equal(got.length, 3);
        assert.deepEqual(got[0].header, { stepId: "1:0", epoch: 1, batch: 0 });
        assert.deepEqual(got[1].tensors.get("activation"), a); // float32 exact, -0 included
        assert.equal(Object.is(got[1].tensors.get("activation")!.data[4], -0), true);
        assert.equal(got[2].id, 4294967295);
        assert.equal((got[2].header as { message: string }).message, "é");
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("truncated, oversized and malformed frames are PROTOCOL errors", async () => {
  const f = encodeFrame({
    id: 2,
    kind: FRAME_KIND.request,
    method: "info",
    header: {},
    tensors: new Map(),
  });
  await assert.rejects(
    new FrameReader(ReadableStream.from([f.slice(0, f.length - 1)])).next(),
    isCode("PROTOCOL"),
  );
  await assert.rejects(
    new FrameReader(ReadableStream.from([f.slice(0, 2)])).next(),
    isCode("PROTOCOL"),
  );
  await assert.rejects(new FrameReader(ReadableStream.from([f]), 8).next(), isCode("PROTOCOL"));
  assert.equal(await new FrameReader(ReadableStream.from<Uint8Array>([])).next(), null);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeFrame(bytes);
      } catch (e) {
        assert.ok(e instanceof RawSideError && e.code === "PROTOCOL", String(e));
      }
    }),
    { numRuns: 300 },
  );
  // mutate one byte of a valid body: decoded or PROTOCOL, never another error
  const body = encodeFrame({
    id: 9,
    kind: FRAME_KIND.reply,
    method: "evalHead",
    header: { a: 1 },
    tensors: new Map([["logits", tensor("float32", [2, 1])]]),
  }).subarray(4);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: body.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
      (i, v) => {
        const m = body.slice();
        m[i] = v;
        try {
          decodeFrame(m);
        } catch (e) {
          assert.ok(e instanceof RawSideError && e.code === "PROTOCOL", String(e));
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("service + stub over a pipe: U-shape step, eval, error classes, bad frames", async () => {
  const engine = await createEngine("wasm");
  const zoo = tinyCnn();
  const kp = generateKeyPair();
  const config = {
    clinic: "a",
    data: tinySplits(),
    model: zoo.model,
    cuts: zoo.cuts.ushaped,
    mode: "ushaped" as const,
    loss: "bce" as const,
    optimizer: { kind: "sgd" as const, lr: 0.1 },
    seed: 2,
    batchSize: 8,
    evalBatchSize: 4,
    engine,
    keyPair: kp,
  };
  const toSide = new TransformStream<Uint8Array, Uint8Array>(),
    fromSide = new TransformStream<Uint8Array, Uint8Array>();
  const side = await LocalRawSide.create(config);
  const twin = await LocalRawSide.create(config);
  const served = serveRawSide(side, toSide.readable, fromSide.writable);
  const stub = new RawSideStub(fromSide.readable, toSide.writable);
  const [c0, c1] = zoo.cuts.ushaped;
  const middle = await SegmentRunner.create(
    engine,
    compileModel(zoo.model, { loss: "bce", cuts: zoo.cuts.ushaped, seed: 2 })[1],
  );
  try {
    assert.deepEqual(await stub.ready, await twin.info());
    // overlapping calls are matched by id
    const [f, g] = await Promise.all([stub.forward("1:0", 1, 0), twin.forward("1:0", 1, 0)]);
    assert.equal(maxAbsDiff(f.activation, g.activation), 0);
    assert.equal(f.labels, undefined);
    const mf = await middle.forward({ [c0]: f.activation });
    const h = await stub.head("1:0", mf.outputs[c1]);
    const ht = await twin.head("1:0", mf.outputs[c1]);
    assert.equal(h.loss, ht.loss);
    assert.equal(maxAbsDiff(h.gradHeadInput, ht.gradHeadInput), 0);
    const logits = await stub.evalHead(mf.outputs[c1]);
    assert.equal(logits.dims[0], 8);
    await assert.rejects(stub.backward("1:0", tensor("float32", [1])), isCode("BAD_TENSOR"));
    const run = new Uint8Array(32).fill(3), from = { run, peers: new Map([["a", kp.publicKey]]) };
    await assert.rejects(
      stub.importWeights(new Uint8Array(80).fill(9), from),
      (e) => isNoiseError(e, "ENVELOPE_INVALID"),
    );
    await assert.rejects(stub.evalForward("train" as "val", 0), isCode("OUT_OF_RANGE"));
    const blob = await stub.exportWeights({ name: "a", publicKey: kp.publicKey }, { run, epoch: 1 });
    assert.deepEqual(await twin.importWeights(blob, from), { sender: "a", epoch: 1, seq: 1 });
    // the side behind the pipe takes it once; the replay's refusal keeps its code over the pipe
    assert.deepEqual(await stub.importWeights(blob, from), { sender: "a", epoch: 1, seq: 1 });
    await assert.rejects(stub.importWeights(blob, from), isCode("WEIGHTS_REPLAYED"));
    assert.deepEqual(await stub.restore().catch((e) => e.code), "NO_CHECKPOINT_DIR");
  } finally {
    await stub.close();
    await served;
    await middle.release();
    await twin.close();
    await engine.dispose();
  }
  await assert.rejects(stub.info(), isCode("CLOSED"));
});

Deno.test("service answers a malformed request with an error frame and keeps serving", async () => {
  const engine = await createEngine("wasm");
  const zoo = tinyCnn();
  const side = await LocalRawSide.create({
    clinic: "a",
    data: tinySplits(),
    model: zoo.model,
    cuts: zoo.cuts.default,
    mode: "vanilla",
    loss: "bce",
    optimizer: { kind: "sgd", lr: 0.1 },
    seed: 2,
    batchSize: 8,
    engine,
  });
  const toSide = new TransformStream<Uint8Array, Uint8Array>(),
    fromSide = new TransformStream<Uint8Array, Uint8Array>();
  const served = serveRawSide(side, toSide.readable, fromSide.writable);
  const w = toSide.writable.getWriter();
  const reader = new FrameReader(fromSide.readable);
  try {
    assert.equal(decodeFrame((await reader.next())!).kind, FRAME_KIND.ready);
    // a body whose id is readable but whose kind is invalid
    await w.write(new Uint8Array([0, 0, 0, 10, 0, 0, 0, 5, 99, 0, 0, 0, 0, 0]));
    const e = decodeFrame((await reader.next())!);
    assert.equal(e.kind, FRAME_KIND.error);
    assert.equal(e.id, 5);
    assert.equal((e.header as { code: string }).code, "PROTOCOL");
    await w.write(
      encodeFrame({
        id: 6,
        kind: FRAME_KIND.request,
        method: "nope",
        header: {},
        tensors: new Map(),
      }),
    );
    assert.equal((decodeFrame((await reader.next())!).header as { code: string }).code, "PROTOCOL");
    await w.write(
      encodeFrame({
        id: 7,
        kind: FRAME_KIND.request,
        method: "info",
        header: {},
        tensors: new Map(),
      }),
    );
    const ok = decodeFrame((await reader.next())!);
    assert.equal(ok.kind, FRAME_KIND.reply);
    assert.equal((ok.header as { trainSize: number }).trainSize, 20);
  } finally {
    await w.close();
    await served;
    await engine.dispose();
  }
});

Deno.test("frames: cut tensors in the clinic's codec, labels exact; the courier relays records unchanged", () => {
  const activation = tensor("float32", [4, 3, 5], Float32Array.from({ length: 60 }, (_, i) => Math.sin(i)));
  const labels = tensor("float32", [4, 1], Float32Array.of(0, 1, 1, 0));
  const reply = {
    id: 9,
    kind: FRAME_KIND.reply,
    method: "forward",
    header: {},
    tensors: new Map<string, Tensor>([["activation", activation], ["labels", labels]]),
  } as const;
  const int8 = encodeFrame(reply, { codec: { dtype: "int8", level: 0 } });
  const exact = encodeFrame(reply);
  assert.ok(int8.length < exact.length - 120, `${int8.length} vs ${exact.length}`);
  const got = decodeFrame(int8.subarray(4), undefined, true);
  // The record's second byte is its wire dtype (ONNX codes: int8 = 3, float32 = 1).
  assert.equal(wireRecordOf(got.tensors.get("activation")!)?.[1], 3);
  assert.equal(wireRecordOf(got.tensors.get("labels")!)?.[1], 1);
  assert.deepEqual(got.tensors.get("labels")!.data, labels.data);
  assert.ok(maxAbsDiff(got.tensors.get("activation")!, activation) < 0.01);
  // Relayed with reuseRecords: the same bytes; without: re-encoded as float32 exact.
  const relay = { ...got, kind: FRAME_KIND.request, method: "backward" } as const;
  const relayed = encodeFrame(relay, { reuseRecords: true });
  assert.deepEqual(relayed.subarray(relayed.length - 100), int8.subarray(int8.length - 100));
  assert.equal(relayed.length, int8.length + "backward".length - "forward".length);
  assert.ok(encodeFrame(relay).length > relayed.length + 120);
});
