/**
 * The privacy defences inside the clinic's raw side (`LocalRawSide` with `defence`): noise on
 * every activation that leaves, NoPeek's gradient term, and U-shape label protection — each
 * compared with an undefended raw side built from the same config.
 */
import assert from "node:assert/strict";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { createOptimizer, type OptimizerConfig } from "../../../models/train/optimizer.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import { NoPeekRunner } from "../../../runtime/privacy/nopeek_runner.ts";
import { KeyedNormals } from "../../../runtime/privacy/keyed_normals.ts";
import { rowNorms as rowNormsOf } from "../../../runtime/privacy/metrics.ts";
import { LocalRawSide, type LocalRawSideConfig, type RawSideMode } from "../../../runtime/client/raw_side/mod.ts";
import { RawSideError } from "../../../runtime/client/raw_side/mod.ts";
import { validateRawSideConfig } from "../../../runtime/client/raw_side/mod.ts";
import { parseClientConfig } from "../../../runtime/client/client_config.ts";
import { rawSideConfigOf } from "../../../runtime/client/launcher.ts";
import { batchIndices } from "../../../runtime/client/batch_order.ts";
import { maxAbsDiff, RAW_SIDE_SEED, RAW_SIDE_SGD, rawSideTestConfig, tinySplits } from "./fixture.ts";
import { TensorDataset } from "../../../runtime/data/tensor_dataset.ts";

const engine = await createEngine("wasm");
const SEED = RAW_SIDE_SEED;
const SGD: OptimizerConfig = RAW_SIDE_SGD;
const KEYS = generateKeyPair();

function config(mode: RawSideMode, over: Partial<LocalRawSideConfig> = {}): LocalRawSideConfig {
  return rawSideTestConfig(engine, mode, { keyPair: KEYS, ...over });
}

const isCode = (code: string) => (e: unknown) => e instanceof RawSideError && e.code === code;

/** Per-sample L2 norms, by the audit's own metric (runtime/privacy/metrics.ts). */
const rowNorms = (t: Tensor) => rowNormsOf({ data: t.data as Float32Array, rows: t.dims[0] });

/** `t` with each row clipped to L2 norm `clip`, in float64 (the defence's first half). */
function clipped(t: Tensor, clip: number): Float64Array {
  const n = t.dims[0], d = t.data.length / n, x = t.data as Float32Array, norms = rowNorms(t);
  const out = new Float64Array(x.length);
  for (let i = 0; i < n; i++) {
    const s = norms[i] > clip ? clip / norms[i] : 1;
    for (let k = 0; k < d; k++) out[i * d + k] = x[i * d + k] * s;
  }
  return out;
}

function randomLike(t: Tensor, seed: number): Tensor<"float32"> {
  const r = new KeyedNormals(new Uint8Array(32).fill(seed), "test");
  return tensor("float32", [...t.dims], Float32Array.from({ length: t.data.length }, () => r.normal() * 0.1));
}

Deno.test("noise σ=0: the sent activation is the clean one clipped per sample", async () => {
  const plain = await LocalRawSide.create(config("vanilla"));
  const clip = 7; // the tiny CNN's rows have norms ≈ 6.3-7.5: some are clipped, some not
  const side = await LocalRawSide.create(config("vanilla", { defence: { noise: { clip, sigma: 0 } } }));
  try {
    const clean = (await plain.forward("1:0", 1, 0)).activation;
    const sent = (await side.forward("1:0", 1, 0)).activation;
    const norms = rowNorms(clean);
    assert.ok(norms.some((v) => v > clip), `some clean rows exceed the clip (norms ${norms})`);
    assert.ok(norms.some((v) => v < clip), `some clean rows are under the clip (norms ${norms})`);
    const want = clipped(clean, clip);
    const got = sent.data as Float32Array;
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `element ${i}`);
    for (const v of rowNorms(sent)) assert.ok(v <= clip + 1e-5, `row norm ${v} > clip ${clip}`);
  } finally {
    await plain.close();
    await side.close();
  }
});

Deno.test("noise: sent ≠ clean, residual has std σ·clip, retried/replayed forward is identical, eval is noised", async () => {
  const plain = await LocalRawSide.create(config("vanilla"));
  const noise = { clip: 0.5, sigma: 0.2 };
  const side = await LocalRawSide.create(config("vanilla", { defence: { noise } }));
  const twin = await LocalRawSide.create(config("vanilla", { defence: { noise } }));
  const stranger = await LocalRawSide.create(config("vanilla", { defence: { noise }, keyPair: generateKeyPair() }));
  try {
    const clean = (await plain.forward("1:0", 1, 0)).activation;
    const f = await side.forward("1:0", 1, 0);
    assert.ok(maxAbsDiff(f.activation, clean) > 0.01, "the server must not receive the clean activation");
    // residual after clipping: N(0, (σC)²) per element
    const want = clipped(clean, noise.clip), got = f.activation.data as Float32Array;
    let s = 0, s2 = 0;
    for (let i = 0; i < got.length; i++) {
      const r = got[i] - want[i];
      s += r, s2 += r * r;
    }
    const n = got.length, mean = s / n, std = Math.sqrt(s2 / n - mean * mean);
    const target = noise.sigma * noise.clip;
    assert.ok(n >= 200, `enough elements (${n})`);
    assert.ok(Math.abs(std / target - 1) < 0.2, `noise std ${std}, expected ≈ ${target}`);
    assert.ok(Math.abs(mean) < 4 * target / Math.sqrt(n), `noise mean ${mean}`);
    // a retried forward returns the identical noisy tensor
    assert.deepEqual((await side.forward("1:0", 1, 0)).activation, f.activation);
    // the same step (same weights) replayed by a restarted clinic with the same key: identical
    assert.deepEqual((await twin.forward("1:0", 1, 0)).activation, f.activation);
    // another key: other noise (the noise depends on the clinic's secret, not only on the seed)
    assert.ok(maxAbsDiff((await stranger.forward("1:0", 1, 0)).activation, f.activation) > 0.01);
    // another step: fresh noise
    const other = await side.forward("1:1", 1, 1);
    const otherClean = (await plain.forward("1:1", 1, 1)).activation;
    assert.ok(maxAbsDiff(other.activation, otherClean) > 0.01);
    // evaluation is noised too, reproducibly
    const e1 = await side.evalForward("val", 0), e2 = await side.evalForward("val", 0);
    const ec = await plain.evalForward("val", 0);
    assert.ok(maxAbsDiff(e1.activation, ec.activation) > 0.01, "eval activations are noised");
    assert.deepEqual(e1.activation, e2.activation);
    assert.deepEqual(e1.labels, ec.labels);
  } finally {
    for (const s of [plain, side, twin, stranger]) await s.close();
  }
});

Deno.test("noise: backward is straight-through (same weights as the undefended side for the same cut gradient)", async () => {
  const plain = await LocalRawSide.create(config("vanilla"));
  const side = await LocalRawSide.create(config("vanilla", { defence: { noise: { clip: 0.5, sigma: 0.2 } } }));
  try {
    const f = await plain.forward("1:0", 1, 0);
    await side.forward("1:0", 1, 0);
    const g = randomLike(f.activation, 3);
    await plain.backward("1:0", g);
    await side.backward("1:0", g);
    for (const [k, w] of plain.weights()) assert.equal(maxAbsDiff(side.weights().get(k)!, w), 0, k);
  } finally {
    await plain.close();
    await side.close();
  }
});

Deno.test("NoPeek: the front gets cutGrad + α·d dCor/dZ (NoPeekRunner on the same engine)", async () => {
  const alpha = 0.7;
  const c = config("vanilla");
  const plain = await LocalRawSide.create(c);
  const side = await LocalRawSide.create(config("vanilla", { defence: { nopeek: { weight: alpha } } }));
  const segments = compileModel(c.model, { loss: "bce", cuts: c.cuts, seed: SEED });
  const front = await SegmentRunner.create(engine, segments[0]);
  const xIn = segments[0].inputs[0], cut = segments[0].outputs[0];
  const np = new NoPeekRunner(engine, xIn.shape!, cut.shape!);
  try {
    const w0 = side.weights();
    const f = await side.forward("1:0", 1, 0);
    const fp = await plain.forward("1:0", 1, 0);
    assert.deepEqual(f.activation, fp.activation, "NoPeek does not change what is sent");
    const g = randomLike(f.activation, 9);
    await side.backward("1:0", g);
    await plain.backward("1:0", g);
    // reference: the same batch through a fresh front, with the NoPeek term added by hand
    const batch = c.data.train.take(batchIndices(SEED, 1, c.data.train.size, c.batchSize, 0));
    const rf = await front.forward({ image: batch.inputs.image });
    assert.equal(maxAbsDiff(rf.outputs[cut.name], f.activation), 0);
    const { dcor, grad } = await np.run(batch.inputs.image, rf.outputs[cut.name]);
    assert.ok(dcor > 0 && dcor <= 1, `dCor ${dcor}`);
    const gd = grad.data as Float32Array;
    assert.ok(gd.some((v) => Math.abs(v) > 1e-6), "the NoPeek gradient is not zero");
    const sum = tensor("float32", [...g.dims], Float32Array.from(g.data, (v, i) => v + alpha * gd[i]));
    const rb = await front.backward(rf.saved, { [cut.name]: sum });
    const params = new Map<string, Tensor>();
    for (const n of segments[0].trainable) {
      const p = w0.get(n)!;
      params.set(n, { ...p, data: p.data.slice() } as Tensor);
    }
    createOptimizer(SGD).step(params, rb.paramGrads);
    const got = side.weights(), undefended = plain.weights();
    for (const [n, p] of params) {
      assert.ok(maxAbsDiff(got.get(n)!, p) < 1e-6, `front ${n}: ${maxAbsDiff(got.get(n)!, p)}`);
    }
    assert.ok(
      segments[0].trainable.some((n) => maxAbsDiff(got.get(n)!, undefended.get(n)!) > 1e-6),
      "the NoPeek term changed the update",
    );
  } finally {
    await front.release();
    await np.release();
    await plain.close();
    await side.close();
  }
});

Deno.test("U-shape label protection: the head-input gradient sent has equal per-sample norms", async () => {
  const c = config("ushaped");
  const plain = await LocalRawSide.create(c);
  const side = await LocalRawSide.create(config("ushaped", { defence: { labelProtection: "norm-equalise" } }));
  const segments = compileModel(c.model, { loss: "bce", cuts: c.cuts, seed: SEED });
  const middle = await SegmentRunner.create(engine, segments[1]);
  try {
    const f = await side.forward("1:0", 1, 0);
    await plain.forward("1:0", 1, 0);
    const headInput = (await middle.infer({ [c.cuts[0]]: f.activation }))[c.cuts[1]];
    const h = await side.head("1:0", headInput);
    const hp = await plain.head("1:0", headInput);
    assert.equal(h.loss, hp.loss);
    const before = rowNorms(hp.gradHeadInput), after = rowNorms(h.gradHeadInput);
    assert.ok(Math.max(...before) - Math.min(...before) > 1e-4, `unprotected norms differ (${before})`);
    const mean = before.reduce((a, b) => a + b, 0) / before.length;
    for (const v of after) assert.ok(Math.abs(v - mean) <= 1e-5 * Math.max(1, mean), `norm ${v} vs mean ${mean}`);
    // directions are kept: row i is a positive multiple of the unprotected row i
    const n = after.length, d = h.gradHeadInput.data.length / n;
    const a = h.gradHeadInput.data as Float32Array, b = hp.gradHeadInput.data as Float32Array;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < d; k++) {
        assert.ok(Math.abs(a[i * d + k] - b[i * d + k] * (mean / before[i])) < 1e-6, `row ${i} element ${k}`);
      }
    }
    // retried head returns the same protected gradient
    assert.deepEqual(await side.head("1:0", headInput), h);
  } finally {
    await middle.release();
    await plain.close();
    await side.close();
  }
});

Deno.test("input standardisation: the activation sent no longer depends on each image's exposure", async () => {
  // The same images, brighter and with more contrast (3·x + 0.4): without the defence the
  // clinic sends another activation; with it, the same one.
  const splits = tinySplits();
  const exposed = (d: TensorDataset) =>
    new TensorDataset(
      { image: tensor("float32", [...d.inputs.image.dims], (d.inputs.image.data as Float32Array).map((v) => 3 * v + 0.4)) },
      d.target,
    );
  const brighter = { train: exposed(splits.train), val: exposed(splits.val), test: exposed(splits.test) };
  const std = { defence: { inputNorm: "per-image" as const } };
  // One at a time: the wasm engine runs one session at a time.
  const sides: LocalRawSide[] = [];
  try {
    for (const over of [{ data: splits }, { data: brighter }, { data: splits, ...std }, { data: brighter, ...std }]) {
      sides.push(await LocalRawSide.create(config("vanilla", over)));
    }
    const sent: Tensor[] = [];
    for (const s of sides) sent.push((await s.forward("1:0", 1, 0)).activation);
    const [plain, plainBright, side, sideBright] = sent;
    assert.ok(maxAbsDiff(plain, plainBright) > 0.1, "undefended: exposure changes the activation");
    assert.ok(maxAbsDiff(side, sideBright) < 1e-4, `defended: ${maxAbsDiff(side, sideBright)}`);
    assert.ok(maxAbsDiff(side, plain) > 0.1, "the defence changes what is sent");
  } finally {
    for (const s of sides) await s.close();
  }
  await assert.rejects(
    LocalRawSide.create(config("vanilla", { defence: { inputNorm: "per-pixel" } as never })),
    (e) => isCode("CONFIG_INVALID")(e) && /defence\.inputNorm/.test((e as Error).message),
  );
});

Deno.test("defence config: bad values and label protection in vanilla mode are refused", async () => {
  await assert.rejects(
    LocalRawSide.create(config("vanilla", { defence: { labelProtection: "norm-equalise" } })),
    (e) => isCode("CONFIG_INVALID")(e) && /server's config/.test((e as Error).message),
  );
  await assert.rejects(
    LocalRawSide.create(config("vanilla", { defence: { noise: { clip: -1, sigma: 0 } } })),
    (e) => isCode("CONFIG_INVALID")(e) && /defence\.noise/.test((e as Error).message),
  );
  const base = {
    clinic: "a", dataFile: "x.npz", zoo: "cnn", cuts: [], mode: "vanilla", loss: "bce",
    optimizer: { kind: "sgd", lr: 0.1 }, seed: 0, batchSize: 8,
  };
  assert.deepEqual(validateRawSideConfig({ ...base, defence: { nopeek: { weight: 1 } } }).defence, { nopeek: { weight: 1 } });
  assert.throws(() => validateRawSideConfig({ ...base, defence: { nopeek: 1 } }), isCode("CONFIG_INVALID"));
  assert.throws(() => validateRawSideConfig({ ...base, defence: { tweak: true } }), isCode("CONFIG_INVALID"));
});

Deno.test("clinic config: the wire codec reaches the raw-side process config; bad codecs are refused", () => {
  const base = {
    server: "http://127.0.0.1:8443", serverPublicKey: "s.pub", clinicKey: "a.key", data: "d/x.npz",
    model: "cnn", mode: "vanilla", optimizer: { kind: "sgd", lr: 0.1 }, checkpointDir: "ck",
  };
  const c = parseClientConfig(JSON.stringify({ ...base, codec: { dtype: "int8", level: 1 } }), "/c");
  assert.deepEqual(validateRawSideConfig(rawSideConfigOf(c)).codec, { dtype: "int8", level: 1 });
  const raw = rawSideConfigOf(c);
  for (const codec of [{ dtype: "int4", level: 0 }, { dtype: "int8", level: 12 }, { dtype: "int8" }, "int8"]) {
    assert.throws(
      () => validateRawSideConfig({ ...raw, codec }),
      (e) => isCode("CONFIG_INVALID")(e) && /codec/.test((e as Error).message),
    );
  }
});

Deno.test("clinic config: defence parsed, checked, and handed to the raw-side process config", () => {
  const base = {
    server: "http://127.0.0.1:8443", serverPublicKey: "s.pub", clinicKey: "a.key", data: "d/x.npz",
    model: "cnn", mode: "ushaped", optimizer: { kind: "sgd", lr: 0.1 }, checkpointDir: "ck",
  };
  assert.deepEqual(parseClientConfig(JSON.stringify(base), "/c").defence, {});
  assert.equal(rawSideConfigOf(parseClientConfig(JSON.stringify(base), "/c")).defence, undefined);
  const defence = { noise: { clip: 8, sigma: 0.05 }, nopeek: { weight: 0.5 }, labelProtection: "norm-equalise" };
  const c = parseClientConfig(JSON.stringify({ ...base, defence }), "/c");
  assert.deepEqual(c.defence, defence);
  assert.deepEqual(validateRawSideConfig(rawSideConfigOf(c)).defence, defence);
  assert.throws(
    () => parseClientConfig(JSON.stringify({ ...base, defence: { noise: { clip: 0, sigma: 1 } } }), "/c"),
    /config\.defence\.noise/,
  );
  assert.throws(
    () => parseClientConfig(JSON.stringify({ ...base, mode: "vanilla", defence: { labelProtection: "norm-equalise" } }), "/c"),
    /config\.defence\.labelProtection.*ushaped/,
  );
});
