import assert from "node:assert/strict";
import { buildCnn } from "../../../models/zoo/cnn.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { tensor, type Tensor } from "../../../models/tensor.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { writeNpz } from "../../../runtime/data/npz.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { openRunDir, RUN_FORMAT, RunDirError, type RunManifest, writeRunDir } from "../../../runtime/privacy/run_dir.ts";
import { auditRun } from "../../../runtime/privacy/audit.ts";
import { DefendedPipeline } from "../../../runtime/privacy/defended_pipeline.ts";
import { rowNorms } from "../../../runtime/privacy/metrics.ts";

const DATA = new URL("../../../data/pneumoniamnist.npz", import.meta.url).pathname;
const CLI = new URL("../../../runtime/cli/audit.ts", import.meta.url).pathname;

function manifest(cuts: string[]): RunManifest {
  return {
    format: RUN_FORMAT,
    model: { zoo: "cnn", spec: { image: { channels: 1, size: 28 } } },
    cuts,
    mode: cuts.length === 2 ? "ushaped" : "vanilla",
    loss: "bce",
    data: DATA,
    seed: 1,
    batchSize: 64,
    epochs: 1,
    defence: { noise: { clip: 20, sigma: 0.05 } },
    test: { auc: 0.5, loss: 0.7, accuracy: 0.5, samples: 624 },
  };
}

function cnnWeights(): { cuts: string[]; ushaped: string[]; weights: Map<string, Tensor> } {
  const rng = new Rng(1);
  const zoo = buildCnn({ random: () => rng.float() });
  const weights = new Map<string, Tensor>();
  for (const s of compileModel(zoo.model, { loss: "bce", cuts: zoo.cuts.default })) {
    for (const [k, v] of [...s.params, ...s.buffers]) weights.set(k, v);
  }
  return { cuts: zoo.cuts.default, ushaped: zoo.cuts.ushaped, weights };
}

async function expectRefusal(dir: string, code: string, pattern: RegExp) {
  await assert.rejects(() => openRunDir(dir), (e: unknown) => {
    assert.ok(e instanceof RunDirError, `expected RunDirError, got ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("openRunDir refuses what is not a run directory, naming the problem", async () => {
  const root = await Deno.makeTempDir();
  try {
    await expectRefusal(`${root}/nothing`, "NO_RUN_JSON", /no such directory/);
    await expectRefusal(root, "NO_RUN_JSON", /run\.json is missing/);
    await Deno.writeTextFile(`${root}/run.json`, "{not json");
    await expectRefusal(root, "BAD_JSON", /not valid JSON/);
    await Deno.writeTextFile(`${root}/run.json`, JSON.stringify({ ...manifest(["x"]), format: "other" }));
    await expectRefusal(root, "BAD_FIELD", /format "other"/);
    const { cuts, ushaped, weights } = cnnWeights();
    await Deno.writeTextFile(`${root}/run.json`, JSON.stringify({ ...manifest(cuts), mode: "ushaped" }));
    await expectRefusal(root, "BAD_FIELD", /mode "ushaped" does not fit 1 cut/);
    await Deno.writeTextFile(`${root}/run.json`, JSON.stringify(manifest(cuts)));
    await expectRefusal(root, "NO_WEIGHTS", /weights\.npz: not found/);
    // A weight with the wrong shape.
    const wrong = new Map(weights);
    wrong.set("block1.conv.weight", tensor("float32", [16, 1, 5, 5]));
    await Deno.writeFile(`${root}/weights.npz`, writeNpz(wrong));
    await expectRefusal(root, "BAD_WEIGHTS", /block1\.conv\.weight is float32\[16, 1, 5, 5\], expected float32\[16, 1, 3, 3\]/);
    const missing = new Map(weights);
    missing.delete("head.fc2.bias");
    await Deno.writeFile(`${root}/weights.npz`, writeNpz(missing));
    await expectRefusal(root, "BAD_WEIGHTS", /no array "head\.fc2\.bias"/);
    await Deno.writeFile(`${root}/weights.npz`, new Uint8Array([1, 2, 3]));
    await expectRefusal(root, "BAD_WEIGHTS", /not a readable \.npz/);
    // Written by writeRunDir: opens, for both modes.
    await writeRunDir(root, manifest(cuts), weights);
    const run = await openRunDir(root);
    assert.equal(run.segments.length, 2);
    assert.equal(run.weights.size, weights.size);
    await writeRunDir(`${root}/u`, manifest(ushaped), weights);
    assert.equal((await openRunDir(`${root}/u`)).segments.length, 3);
    // A run trained with the input defence is rebuilt with it: the clinic segment the audit
    // runs standardises the images, as the clinic did, and the weights still fit.
    await writeRunDir(`${root}/std`, { ...manifest(cuts), defence: { inputNorm: "per-image" } }, weights);
    const std = await openRunDir(`${root}/std`);
    assert.ok(std.segments[0].infer.graph.nodes.some((n) => n.name.startsWith("splitgate_standardise/image/")));
    assert.ok(!run.segments[0].infer.graph.nodes.some((n) => n.name.startsWith("splitgate_standardise/")));
    // The CLI prints one line and exits non-zero, without writing anything.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "--run", `${root}/nothing`, "--out", `${root}/audit_out`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    const err = new TextDecoder().decode(out.stderr).trim();
    assert.match(err, /^error: .*nothing: not a run directory/);
    assert.equal(err.split("\n").length, 1);
    await assert.rejects(() => Deno.stat(`${root}/audit_out`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("defended pipeline: the noise defence bounds what is sent; U-shape exposes the head gradient", async () => {
  const engine = await createEngine("native");
  try {
    const rng = new Rng(2);
    const zoo = buildCnn({ random: () => rng.float(), channels: [4, 8], hidden: 8 });
    const x = tensor("float32", [8, 1, 28, 28], Float32Array.from({ length: 8 * 784 }, () => rng.float()));
    const y = tensor("float32", [8, 1], Float32Array.from({ length: 8 }, (_, i) => i % 2));
    const v = await DefendedPipeline.create(engine, compileModel(zoo.model, { loss: "bce", cuts: zoo.cuts.default }), {
      noise: { clip: 0.5, sigma: 0 },
      nopeek: { weight: 1 },
      labelProtection: "norm-equalise",
    }, 1);
    const r = await v.forwardBackward({ image: x }, y);
    for (const n of rowNorms({ data: r.sent.data as Float32Array, rows: 8 })) assert.ok(n <= 0.5 + 1e-5, `sent norm ${n}`);
    const back = rowNorms({ data: r.returned.data as Float32Array, rows: 8 });
    for (const n of back) assert.ok(Math.abs(n - back[0]) < 1e-5 * back[0], "returned gradients equalised");
    assert.ok(r.dcor! > 0 && r.dcor! <= 1);
    await v.release();
    const u = await DefendedPipeline.create(engine, compileModel(zoo.model, { loss: "bce", cuts: zoo.cuts.ushaped }), {}, 1);
    const ru = await u.forwardBackward({ image: x }, y);
    assert.equal(u.mode, "ushaped");
    assert.deepEqual(ru.headGrad!.dims, [8, 8]);
    await u.release();
  } finally {
    await engine.dispose();
  }
});

Deno.test("auditRun on a (untrained) run writes a report with numbers and a PNG, no raw arrays", async () => {
  const root = await Deno.makeTempDir();
  const engine = await createEngine("native");
  try {
    const { cuts, weights } = cnnWeights();
    await writeRunDir(root, { ...manifest(cuts), batchSize: 128 }, weights);
    const r = await auditRun({ engine, runDir: root, outDir: `${root}/audit`, quick: true, decoderEpochs: 1 });
    assert.ok(r.dcor > 0 && r.dcor <= 1);
    assert.ok(r.reconstruction.ssim > -1 && r.reconstruction.ssim < 1);
    assert.ok(r.leak.normAuc >= 0 && r.leak.normAuc <= 1);
    const files = [...Deno.readDirSync(`${root}/audit`)].map((e) => e.name).sort();
    assert.deepEqual(files, ["audit.json", "reconstructions.png", "report.md"]);
    const png = Deno.readFileSync(`${root}/audit/reconstructions.png`);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    const report = Deno.readTextFileSync(`${root}/audit/report.md`);
    assert.match(report, /dCor\(X, Z\) \| 0\.\d{4}/);
    assert.match(report, /reconstructions\.png/);
  } finally {
    await engine.dispose();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "defended pipeline: created on the webgpu engine (its sessions load one at a time)",
  // The WebGPU device outlives the test, as in tests/runtime/engine/engine_test.ts.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const engine = await createEngine("webgpu");
    const rng = new Rng(4);
    const zoo = buildCnn({ random: () => rng.float(), channels: [4, 8], hidden: 8 });
    const p = await DefendedPipeline.create(engine, compileModel(zoo.model, { loss: "bce", cuts: zoo.cuts.default }), {}, 1);
    const x = tensor("float32", [2, 1, 28, 28], Float32Array.from({ length: 2 * 784 }, () => rng.float()));
    const r = await p.forwardBackward({ image: x }, tensor("float32", [2, 1], Float32Array.from([0, 1])));
    assert.ok(Number.isFinite(r.loss), `loss ${r.loss}`);
    await p.release();
  },
});
