import assert from "node:assert/strict";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { sealEnvelope } from "../../../crypto/seal/sealed_envelope.ts";
import { writeNpz } from "../../../runtime/data/npz.ts";
import { readModel } from "../../../models/onnx/read_model.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { createOptimizer, type OptimizerConfig } from "../../../models/train/optimizer.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { isNoiseError } from "../../../crypto/errors.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import { runOneBatch } from "../../../runtime/train/one_batch.ts";
import {
  LocalRawSide,
  type LocalRawSideConfig,
  type RawSideMode,
} from "../../../runtime/client/raw_side/mod.ts";
import { RawSideError } from "../../../runtime/client/raw_side/mod.ts";
import { batchIndices, stepsPerEpoch } from "../../../runtime/client/batch_order.ts";
import { maxAbsDiff, RAW_SIDE_SEED, RAW_SIDE_SGD, rawSideTestConfig, tinyCnn } from "./fixture.ts";

const engine = await createEngine("wasm");
const SEED = RAW_SIDE_SEED;
const SGD: OptimizerConfig = RAW_SIDE_SGD;

function config(mode: RawSideMode, over: Partial<LocalRawSideConfig> = {}): LocalRawSideConfig {
  return rawSideTestConfig(engine, mode, over);
}

const isCode = (code: string) => (e: unknown) => e instanceof RawSideError && e.code === code;

/** The parameters after one optimizer step from `before` with gradients `grads`. */
function stepped(
  before: Map<string, Tensor>,
  grads: Map<string, Tensor>,
  names: Iterable<string>,
  opt: OptimizerConfig,
) {
  const params = new Map<string, Tensor>();
  const g = new Map<string, Tensor>();
  for (const n of names) {
    const p = before.get(n)!;
    params.set(n, { ...p, data: p.data.slice() } as Tensor);
    g.set(n, grads.get(n)!);
  }
  createOptimizer(opt).step(params, g);
  return params;
}

Deno.test("vanilla: forward + server gradient + backward == runOneBatch (float32)", async () => {
  const c = config("vanilla");
  const side = await LocalRawSide.create(c);
  try {
    const segments = compileModel(c.model, { loss: "bce", cuts: c.cuts, seed: SEED });
    const cut = c.cuts[0];
    const info = await side.info();
    assert.equal(info.stepsPerEpoch, 3);
    assert.deepEqual(info.inputNames, ["image"]);
    const w0 = side.weights();
    const f = await side.forward("1:0", 1, 0);
    // the same rows as the documented batch order
    const idx = batchIndices(SEED, 1, c.data.train.size, c.batchSize, 0);
    const batch = c.data.train.take(idx);
    assert.deepEqual(f.labels, batch.target);
    // the server's segment in this test
    const server = await SegmentRunner.create(engine, segments[1]);
    const s = await server.step({ [cut]: f.activation }, f.labels!);
    const cutGrad = s.inputGrads[cut];
    // reference: the unsplit in-process step with fresh runners
    const runners = await Promise.all(segments.map((sg) => SegmentRunner.create(engine, sg)));
    const ref = await runOneBatch(engine, segments, batch.inputs, batch.target, runners);
    assert.equal(maxAbsDiff(f.activation, ref.cuts[0].activation), 0);
    assert.equal(maxAbsDiff(cutGrad, ref.cuts[0].grad), 0);
    assert.equal(s.loss, ref.loss);
    await side.backward("1:0", cutGrad);
    const w1 = side.weights();
    const expected = stepped(w0, ref.paramGrads, segments[0].trainable, SGD);
    assert.ok(segments[0].trainable.length >= 4);
    for (const [n, p] of expected) {
      assert.equal(maxAbsDiff(w1.get(n)!, p), 0, `front parameter ${n}`);
      assert.notEqual(maxAbsDiff(w1.get(n)!, w0.get(n)!), 0, `${n} moved`);
    }
    for (const [n, b] of runners[0].buffers) {
      assert.equal(maxAbsDiff(w1.get(n)!, b), 0, `buffer ${n}`);
    }
    // server-side weights never live in the clinic's state
    for (const n of segments[1].params.keys()) assert.equal(w1.has(n), false);

    // idempotent: a retried backward and a retried forward change nothing
    await side.backward("1:0", cutGrad);
    const again = await side.forward("1:0", 1, 0);
    assert.deepEqual(again.activation, f.activation);
    assert.deepEqual(side.weights(), w1);
    await Promise.all(runners.map((r) => r.release()));
    await server.release();
  } finally {
    await side.close();
  }
});

Deno.test("U-shape: forward, head, backward == runOneBatch; head and backward idempotent", async () => {
  const c = config("ushaped");
  const side = await LocalRawSide.create(c);
  try {
    const segments = compileModel(c.model, { loss: "bce", cuts: c.cuts, seed: SEED });
    assert.equal(segments.length, 3);
    const w0 = side.weights();
    const f = await side.forward("2:1", 2, 1);
    assert.equal(f.labels, undefined, "labels stay at the clinic in U-shape");
    const middle = await SegmentRunner.create(engine, segments[1]);
    const mf = await middle.forward({ [c.cuts[0]]: f.activation });
    const headInput = mf.outputs[c.cuts[1]];
    const h = await side.head("2:1", headInput);
    const mb = await middle.backward(mf.saved, { [c.cuts[1]]: h.gradHeadInput });
    const cutGrad = mb.inputGrads[c.cuts[0]];
    const batch = c.data.train.take(batchIndices(SEED, 2, c.data.train.size, c.batchSize, 1));
    const runners = await Promise.all(segments.map((sg) => SegmentRunner.create(engine, sg)));
    const ref = await runOneBatch(engine, segments, batch.inputs, batch.target, runners);
    assert.equal(h.loss, ref.loss);
    assert.equal(maxAbsDiff(h.gradHeadInput, ref.cuts[1].grad), 0);
    assert.equal(maxAbsDiff(cutGrad, ref.cuts[0].grad), 0);
    // a retried head returns the first result and does not step the head again
    const wHead = side.weights();
    assert.deepEqual(await side.head("2:1", headInput), h);
    assert.deepEqual(side.weights(), wHead);
    await side.backward("2:1", cutGrad);
    const w1 = side.weights();
    const names = [...segments[0].trainable, ...segments[2].trainable];
    for (const [n, p] of stepped(w0, ref.paramGrads, names, SGD)) {
      assert.equal(maxAbsDiff(w1.get(n)!, p), 0, `clinic parameter ${n}`);
    }
    await side.backward("2:1", cutGrad);
    assert.deepEqual(side.weights(), w1);
    // eval: head logits of the middle's output
    const ev = await side.evalForward("test", 1);
    assert.equal(ev.activation.dims[0], 3); // 7 test rows, batches of 4
    const logits = await side.evalHead(
      (await middle.infer({ [c.cuts[0]]: ev.activation }))[c.cuts[1]],
    );
    assert.deepEqual(logits.dims, [3, 1]);
    // backward before head is refused
    await side.forward("2:2", 2, 2);
    await assert.rejects(side.backward("2:2", cutGrad), isCode("OUT_OF_ORDER"));
    await Promise.all(runners.map((r) => r.release()));
    await middle.release();
  } finally {
    await side.close();
  }
});

Deno.test("batch order: seeded, the same on every run, covering each row once per epoch", async () => {
  const n = 20, size = 8;
  for (const epoch of [1, 2]) {
    const rows = Array.from(
      { length: stepsPerEpoch(n, size) },
      (_, b) => [...batchIndices(SEED, epoch, n, size, b)],
    );
    assert.deepEqual(rows.flat().sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
  }
  assert.notDeepEqual(batchIndices(SEED, 1, n, size, 0), batchIndices(SEED, 2, n, size, 0));
  assert.notDeepEqual(batchIndices(SEED, 1, n, size, 0), batchIndices(SEED + 1, 1, n, size, 0));
  // two raw sides of the same config emit the same activation for the same step
  const a = await LocalRawSide.create(config("vanilla")),
    b = await LocalRawSide.create(config("vanilla"));
  try {
    assert.deepEqual(
      (await a.forward("1:2", 1, 2)).activation,
      (await b.forward("x", 1, 2)).activation,
    );
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("bad calls are refused with codes", async () => {
  const side = await LocalRawSide.create(config("vanilla"));
  try {
    const f = await side.forward("1:0", 1, 0);
    await assert.rejects(side.backward("nope", f.activation), isCode("UNKNOWN_STEP"));
    await assert.rejects(
      side.backward("1:0", { ...f.activation, dims: [1, 2] } as Tensor),
      isCode("BAD_TENSOR"),
    );
    await assert.rejects(
      side.backward(
        "1:0",
        {
          dtype: "int32",
          dims: f.activation.dims,
          data: new Int32Array(f.activation.data.length),
        } as Tensor,
      ),
      isCode("BAD_TENSOR"),
    );
    // A NaN from the server would reach the clinic's weights through its optimizer step.
    const poisoned = Float32Array.from(f.activation.data as Float32Array);
    poisoned[3] = NaN;
    await assert.rejects(
      side.backward("1:0", { dtype: "float32", dims: f.activation.dims, data: poisoned } as Tensor),
      (e: unknown) => isCode("BAD_TENSOR")(e) && /cut gradient: element 3 is NaN/.test((e as Error).message),
    );
    await assert.rejects(side.forward("1:0", 1, 1), isCode("STEP_MISMATCH"));
    await assert.rejects(side.forward("1:9", 1, 3), isCode("OUT_OF_RANGE"));
    await assert.rejects(side.forward("", 1, 0), isCode("UNKNOWN_STEP"));
    await assert.rejects(side.evalForward("val", 2), isCode("OUT_OF_RANGE"));
    await assert.rejects(side.head("1:0", f.activation), isCode("WRONG_MODE"));
    await assert.rejects(side.evalHead(f.activation), isCode("WRONG_MODE"));
    await assert.rejects(side.checkpoint(1), isCode("NO_CHECKPOINT_DIR"));
    await assert.rejects(side.importWeights(new Uint8Array(64), { run: new Uint8Array(32), peers: new Map() }), isCode("NO_KEY"));
    await assert.rejects(
      side.exportWeights({ name: "b", publicKey: generateKeyPair().publicKey }, { run: new Uint8Array(32), epoch: 0 }),
      isCode("NO_KEY"),
    );
    await assert.rejects(
      LocalRawSide.create(config("ushaped", { cuts: tinyCnn().cuts.default })),
      isCode("CONFIG_INVALID"),
    );
  } finally {
    await side.close();
  }
  await assert.rejects(side.forward("1:1", 1, 1), isCode("CLOSED"));
});

Deno.test("checkpoint/restore round trip: weights, buffers and Adam state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clinic_ckpt_" });
  const adam: OptimizerConfig = { kind: "adam", lr: 0.01 };
  try {
    const segments = compileModel(tinyCnn().model, {
      loss: "bce",
      cuts: tinyCnn().cuts.default,
      seed: SEED,
    });
    const server = await SegmentRunner.create(engine, segments[1]);
    const step = async (side: LocalRawSide, id: string, epoch: number, batch: number) => {
      const f = await side.forward(id, epoch, batch);
      const s = await server.step({ [segments[0].outputs[0].name]: f.activation }, f.labels!);
      await side.backward(id, s.inputGrads[segments[0].outputs[0].name]);
    };
    const a = await LocalRawSide.create(config("vanilla", { checkpointDir: dir, optimizer: adam }));
    assert.equal(await a.restore(), null);
    await step(a, "1:0", 1, 0);
    await step(a, "1:1", 1, 1);
    await a.checkpoint(1);
    const b = await LocalRawSide.create(config("vanilla", { checkpointDir: dir, optimizer: adam }));
    assert.notDeepEqual(b.weights(), a.weights());
    assert.deepEqual(await b.restore(), { epoch: 1 });
    assert.deepEqual(b.weights(), a.weights());
    // the optimizer state came back too: the same next step gives the same weights
    await step(a, "2:0", 2, 0);
    await step(b, "2:0", 2, 0);
    assert.deepEqual(b.weights(), a.weights());
    // a new checkpoint replaces the old weight file; only the committed one remains
    await a.checkpoint(2);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(files, ["clinic-a.checkpoint.json", "clinic-a.epoch-2.npz"]);
    // a torn or altered weight file is refused
    const p = `${dir}/clinic-a.epoch-2.npz`;
    const bytes = Deno.readFileSync(p);
    bytes[bytes.length - 40] ^= 1;
    Deno.writeFileSync(p, bytes);
    await assert.rejects(b.restore(), isCode("CHECKPOINT_INVALID"));
    await a.close();
    await b.close();
    await server.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export/import sealed weights between clinics; a third clinic cannot open them", async () => {
  const ka = generateKeyPair(), kb = generateKeyPair(), kc = generateKeyPair();
  const run = new Uint8Array(32).fill(5), from = { run, peers: new Map([["a", ka.publicKey]]) };
  const a = await LocalRawSide.create(config("ushaped", { clinic: "a", keyPair: ka }));
  const b = await LocalRawSide.create(config("ushaped", { clinic: "b", keyPair: kb, seed: 99 }));
  const c = await LocalRawSide.create(config("ushaped", { clinic: "c", keyPair: kc }));
  try {
    // move a's weights away from the initial ones
    const segments = compileModel(tinyCnn().model, {
      loss: "bce",
      cuts: tinyCnn().cuts.ushaped,
      seed: SEED,
    });
    const middle = await SegmentRunner.create(engine, segments[1]);
    const [c0, c1] = tinyCnn().cuts.ushaped;
    const f = await a.forward("1:0", 1, 0);
    const mf = await middle.forward({ [c0]: f.activation });
    const h = await a.head("1:0", mf.outputs[c1]);
    const mb = await middle.backward(mf.saved, { [c1]: h.gradHeadInput });
    await a.backward("1:0", mb.inputGrads[c0]);
    await middle.release();

    const wa = a.weights();
    const cBefore = c.weights();
    const blob = await a.exportWeights({ name: "b", publicKey: kb.publicKey }, { run, epoch: 1 });
    // the blob does not contain the weights in the clear
    const first = new Uint8Array(
      (wa.get("block1.conv.weight")!.data as Float32Array).buffer.slice(0, 16),
    );
    assert.equal(indexOf(blob, first), -1);
    assert.deepEqual(await b.importWeights(blob, from), { sender: "a", epoch: 1, seq: 1 });
    assert.deepEqual(b.weights(), wa);
    await assert.rejects(c.importWeights(blob, from), (e) => isNoiseError(e, "WRONG_RECIPIENT"));
    assert.deepEqual(c.weights(), cBefore);
    // sealed for U-shape, refused by a vanilla clinic of the same name and key (mode is bound)
    const vb = await LocalRawSide.create(config("vanilla", { clinic: "b", keyPair: kb }));
    await assert.rejects(vb.importWeights(blob, from), (e) => isNoiseError(e, "BAD_TAG"));
    await vb.close();
    // a correctly sealed blob whose content does not fit the model is refused, nothing applied
    const wb = b.weights();
    const junk = sealEnvelope({
      sender: ka,
      recipientPublicKey: kb.publicKey,
      header: { sender: "a", recipient: "b", run, epoch: 2, seq: 9 },
      plaintext: writeNpz({ "front:param:block1.conv.weight": tensor("float32", [1]) }),
      context: new TextEncoder().encode("splitgate/clinic-weights/v2;mode=ushaped"),
    });
    await assert.rejects(b.importWeights(junk, from), isCode("WEIGHTS_INVALID"));
    assert.deepEqual(b.weights(), wb);
  } finally {
    for (const s of [a, b, c]) await s.close();
  }
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("exportModel: only under policy.allowExport; the server's weights must be exactly its segment's; the file holds both ends", async () => {
  const dir = await Deno.makeTempDir();
  const zoo = tinyCnn();
  const segs = compileModel(zoo.model, { loss: "bce", cuts: zoo.cuts.ushaped, seed: SEED });
  // the server's trained middle: its initial weights, shifted so they are told apart
  const middle = new Map<string, Tensor>();
  for (const m of [segs[1].params, segs[1].buffers]) {
    for (const [k, t] of m) middle.set(k, tensor("float32", [...t.dims], Float32Array.from(t.data as Float32Array, (x) => x + 0.25)));
  }
  const forbidden = await LocalRawSide.create(config("ushaped", { checkpointDir: dir }));
  const side = await LocalRawSide.create(config("ushaped", { checkpointDir: dir, allowExport: true }));
  try {
    await assert.rejects(forbidden.exportModel(writeNpz(middle)), isCode("EXPORT_FORBIDDEN"));
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written when the policy says no");
    // a weight of the clinic's own segments, a missing one, an unknown one, a wrong shape: refused
    const front = [...side.weights().keys()][0];
    const first = [...middle.keys()][0];
    const without = new Map(middle);
    without.delete(first);
    const badShape = new Map(middle).set(first, tensor("float32", [1]));
    for (
      const w of [
        new Map(middle).set(front, side.weights().get(front)!),
        without,
        new Map(middle).set("no.such.weight", tensor("float32", [1])),
        badShape,
      ]
    ) {
      await assert.rejects(side.exportModel(writeNpz(w)), isCode("WEIGHTS_INVALID"));
    }
    await assert.rejects(side.exportModel(Uint8Array.of(1, 2, 3)), isCode("WEIGHTS_INVALID"));
    const r = await side.exportModel(writeNpz(middle));
    assert.equal(r.file, "clinic-a.export.onnx");
    const bytes = await Deno.readFile(`${dir}/${r.file}`);
    assert.equal(bytes.length, r.bytes);
    const exported = readModel(bytes, r.file).graph.initializers;
    for (const [k, t] of [...side.weights(), ...middle]) assert.deepEqual(exported.get(k)!.data, t.data, k);
    assert.ok(!readModel(bytes, r.file).graph.nodes.some((n) => n.name.startsWith("splitgate_standardise/")));
    // With the input defence the export standardises its images too, as the clinic did.
    const stdSide = await LocalRawSide.create(config("ushaped", { checkpointDir: dir, allowExport: true, defence: { inputNorm: "per-image" } }));
    try {
      const rs = await stdSide.exportModel(writeNpz(middle));
      const nodes = readModel(await Deno.readFile(`${dir}/${rs.file}`), rs.file).graph.nodes;
      assert.ok(nodes.filter((n) => n.inputs.includes("image")).every((n) => n.name.startsWith("splitgate_standardise/image/")));
    } finally {
      await stdSide.close();
    }
  } finally {
    await forbidden.close();
    await side.close();
    await Deno.remove(dir, { recursive: true });
  }
});
