/**
 * `deno task client predict` end to end on loopback, after a short split training (two real
 * clinics, in-process server): the predictions file is written (CSV and `.npz`), and with
 * `--export` the assembled full model — the clinic's segments from its checkpoint, the server's
 * segment fetched inside the channel — gives, in plain onnxruntime, the logits of split
 * inference on the same inputs. Either policy saying no stops the export: the clinic's
 * `policy.allowExport` before any process starts, the server's `allowExport` with 403
 * `EXPORT_FORBIDDEN`.
 */
import assert from "node:assert/strict";
import { tensor } from "../../models/tensor.ts";
import { readModel } from "../../models/onnx/read_model.ts";
import { readNpz, writeNpz } from "../../runtime/data/npz.ts";
import { launchClinic } from "../../runtime/client/launcher.ts";
import { buildSplitModel } from "../../runtime/server/split_model.ts";
import { learnableImages, makeWorld, serverEngine, SIZE, startInProcessServer } from "./split_harness.ts";
import { ownLines, runCli } from "./cli_harness.ts";

const SEED = 4;
/** The `client` task's permissions (deno.json). */
const CLIENT_FLAGS = ["--no-prompt", "--allow-read", "--allow-write", "--allow-run"];

function parseCsv(text: string): { header: string; logits: number[]; scores: number[] } {
  const [header, ...rows] = text.trim().split("\n");
  const logits: number[] = [], scores: number[] = [];
  for (const [i, r] of rows.entries()) {
    const [row, score, logit] = r.split(",").map(Number);
    assert.equal(row, i, `row ${i} of the CSV`);
    scores.push(score);
    logits.push(logit);
  }
  return { header, logits, scores };
}

Deno.test("split predict: writes the predictions; --export assembles a model that plain onnxruntime runs to the same logits; either policy can refuse", async () => {
  const w = await makeWorld({
    mode: "vanilla",
    n: 32,
    batchSize: 16,
    epochs: 1,
    seed: SEED,
    clinicAllowExport: { "clinic-a": true, "clinic-b": false },
    serverAllowExport: true,
  });
  let server = await startInProcessServer(w);
  try {
    await Promise.all(w.clientConfigs.map((c) => launchClinic(c, "train", { onLine: () => {}, pollMs: 20 })));
    const rows = 11;
    const input = learnableImages(rows, 77);
    const inputFile = `${w.root}/new.npz`;
    await Deno.writeFile(inputFile, writeNpz({ images: tensor("uint8", [rows, SIZE, SIZE], input.images) }));
    const configA = `${w.root}/clinic-a.json`, configB = `${w.root}/clinic-b.json`;

    // ---- predict with --export: both policies allow it ----
    const csv = `${w.root}/pred.csv`, onnx = `${w.root}/full.onnx`;
    const ok = await runCli("client.ts", ["predict", "--config", configA, "--input", inputFile, "--out", csv, "--export", onnx], CLIENT_FLAGS);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /predicted 11 rows through the cut/);
    const pred = parseCsv(await Deno.readTextFile(csv));
    assert.equal(pred.header, "row,score,logit");
    assert.equal(pred.logits.length, rows);
    for (const [i, z] of pred.logits.entries()) {
      assert.ok(Number.isFinite(z), `logit ${i}`);
      assert.ok(Math.abs(pred.scores[i] - 1 / (1 + Math.exp(-z))) <= 1e-12, `score ${i} is the sigmoid of its logit`);
    }
    assert.ok(new Set(pred.logits).size > 1, "the logits depend on the input");
    // The clinic's segments stay at the clinic: the assembled model lies in its checkpoint directory.
    const inCheckpoint = `${w.clientConfigs[0].checkpointDir}/clinic-a.export.onnx`;
    const bytes = await Deno.readFile(onnx);
    assert.deepEqual(await Deno.readFile(inCheckpoint), bytes);

    // ---- the exported model in plain onnxruntime ----
    const engine = await serverEngine();
    const session = await engine.load(bytes, { name: "exported" });
    const image = tensor("float32", [rows, 1, SIZE, SIZE], Float32Array.from(input.images, (v) => v / 255));
    const out = await session.run({ [session.inputNames[0]]: image });
    const logits = out[session.outputNames[0]];
    assert.deepEqual(logits.dims, [rows, 1]);
    for (let i = 0; i < rows; i++) {
      const got = (logits.data as Float32Array)[i], want = pred.logits[i];
      assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `row ${i}: exported ${got}, split ${want}`);
    }
    await session.release();
    // ... and it holds the trained weights, not the initial ones, of both ends of the cut
    const { model: initial } = buildSplitModel({ zoo: "cnn", data: { image: { channels: 1, size: SIZE } }, seed: SEED }, "vanilla", "bce");
    const exported = readModel(bytes, "exported");
    const changed = [...initial.graph.initializers].filter(([k, t]) => {
      const e = exported.graph.initializers.get(k)!;
      return t.dtype === "float32" && t.data.some((v, j) => v !== e.data[j]);
    }).map(([k]) => k);
    assert.ok(changed.length >= 4, `trained initializers: ${changed.join(", ")}`);

    // ---- the clinic's policy says no: refused before any process starts ----
    const noClinic = await runCli("client.ts", ["predict", "--config", configB, "--input", inputFile, "--out", `${w.root}/b.csv`, "--export", `${w.root}/b.onnx`], CLIENT_FLAGS);
    assert.notEqual(noClinic.code, 0);
    assert.match(noClinic.stderr, /allowExport/);
    await assert.rejects(Deno.stat(`${w.root}/b.onnx`), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${w.clientConfigs[1].checkpointDir}/clinic-b.export.onnx`), Deno.errors.NotFound);
    await assert.rejects(
      launchClinic(w.clientConfigs[1], "predict", { predictFile: inputFile, exportModel: true, onLine: () => {} }),
      /policy\.allowExport is false/,
    );

    // ---- the server's policy says no: 403 EXPORT_FORBIDDEN; plain predict (.npz) still works ----
    await server.stop();
    server = await startInProcessServer(w, { allowExport: false });
    await Deno.remove(inCheckpoint);
    const noServer = await runCli("client.ts", ["predict", "--config", configA, "--input", inputFile, "--out", `${w.root}/a2.csv`, "--export", `${w.root}/a2.onnx`], CLIENT_FLAGS);
    assert.notEqual(noServer.code, 0);
    assert.match(noServer.stderr, /EXPORT_FORBIDDEN/, ownLines(noServer.stderr).join("\n"));
    await assert.rejects(Deno.stat(`${w.root}/a2.onnx`), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(inCheckpoint), Deno.errors.NotFound);
    const npz = `${w.root}/pred.npz`;
    const plain = await runCli("client.ts", ["predict", "--config", configA, "--input", inputFile, "--out", npz], CLIENT_FLAGS);
    assert.equal(plain.code, 0, plain.stderr);
    const arrays = readNpz(await Deno.readFile(npz));
    const l = arrays.get("logits")!, s = arrays.get("scores")!;
    assert.deepEqual([l.dims, s.dims], [[rows, 1], [rows, 1]]);
    assert.deepEqual(Array.from(l.data as Float32Array), pred.logits.map((x) => Math.fround(x)), "the same logits as the CSV run");
  } finally {
    await server.stop();
    await w.remove();
  }
});
