/**
 * End to end on loopback, both modes, two clinics, each the real client (sandboxed raw-data
 * process + courier process, launcher relay), float32 codec, Noise-encrypted: after the
 * sequential round-robin the clinic and server weights equal those of the unsplit model trained
 * in this process on the same batches in the same order (plain SGD: a weight change is −lr ×
 * gradient, so equal weights after every clinic's steps means equal gradients), and the loss
 * falls over the turns.
 */
import assert from "node:assert/strict";
import { readNpz } from "../../runtime/data/npz.ts";
import { loadDataset } from "../../runtime/data/load_dataset.ts";
import { partition } from "../../runtime/data/partition.ts";
import { batchIndices } from "../../runtime/client/batch_order.ts";
import { buildSplitModel } from "../../runtime/server/split_model.ts";
import { compileModel } from "../../models/train/compile.ts";
import { createOptimizer } from "../../models/train/optimizer.ts";
import { runOneBatch } from "../../runtime/train/one_batch.ts";
import { SegmentRunner } from "../../runtime/train/segment_runner.ts";
import type { Tensor } from "../../models/tensor.ts";
import { launchClinic } from "../../runtime/client/launcher.ts";
import { makeWorld, serverEngine, SIZE, startInProcessServer } from "./split_harness.ts";
import { Int8ServerPath } from "../../runtime/server/int8_server_path.ts";

/** Requests the server's quantised segment served (its activation arrived as int8 codes). */
let viaGraph = 0;
const route = Int8ServerPath.prototype.route;
Int8ServerPath.prototype.route = function (a, f) {
  const r = route.call(this, a, f);
  if (r.runner === this.runner) viaGraph++;
  return r;
};

const EPOCHS = 3, N = 32, BATCH = 16, SEED = 5, LR = 0.05;

async function clinicWeights(dir: string, clinic: string): Promise<Map<string, Tensor>> {
  const meta = JSON.parse(await Deno.readTextFile(`${dir}/${clinic}.checkpoint.json`));
  const arrays = readNpz(await Deno.readFile(`${dir}/${meta.weights}`));
  const out = new Map<string, Tensor>();
  for (const [k, v] of arrays) {
    const m = /^(front|head):(param|buffer):(.+)$/.exec(k);
    if (m) out.set(m[3], v as Tensor);
  }
  return out;
}

function assertNear(got: Tensor, want: Tensor, what: string, tol = 2e-4): void {
  assert.deepEqual(got.dims, want.dims, `${what}: shape`);
  let scale = 1e-3, worst = 0;
  for (let i = 0; i < want.data.length; i++) scale = Math.max(scale, Math.abs(Number(want.data[i])));
  for (let i = 0; i < want.data.length; i++) {
    worst = Math.max(worst, Math.abs(Number(got.data[i]) - Number(want.data[i])));
  }
  assert.ok(worst <= tol * scale, `${what}: max difference ${worst} (scale ${scale})`);
}

/** The unsplit model trained in this process on the clinics' batches, in the same order. */
async function reference(w: Awaited<ReturnType<typeof makeWorld>>, mode: "vanilla" | "ushaped") {
  const data = await loadDataset(w.dataFile, { seed: SEED });
  const { model } = buildSplitModel({ zoo: "cnn", data: { image: { channels: 1, size: SIZE } }, seed: SEED }, mode, "bce");
  const segs = compileModel(model, { loss: "bce", cuts: [], seed: SEED });
  const engine = await serverEngine();
  const runner = await SegmentRunner.create(engine, segs[0]);
  const opt = createOptimizer({ kind: "sgd", lr: LR });
  const shares = partition({ scheme: "iid", count: data.train.size, clinics: 2, seed: SEED });
  const losses: number[][] = [[], []];
  for (let e = 0; e < EPOCHS; e++) {
    for (let c = 0; c < 2; c++) {
      const mine = data.train.subset(shares[c]);
      const rows = batchIndices(SEED, e, mine.size, BATCH, 0);
      assert.equal(rows.length, mine.size, "one batch per clinic turn");
      const b = mine.take(rows);
      const r = await runOneBatch(engine, segs, b.inputs, b.target, [runner]);
      opt.step(runner.params, r.paramGrads);
      losses[c].push(r.loss);
    }
  }
  return { runner, losses };
}

async function train(mode: "vanilla" | "ushaped", codec?: { dtype: "int8"; level: number; quantize: "graph" | "codec" }) {
  const w = await makeWorld({ mode, n: N, batchSize: BATCH, epochs: EPOCHS, seed: SEED, optimizer: { kind: "sgd", lr: LR }, codec });
  // The server answers in the clinics' codec (a server left at float32 would answer int8 steps in float32).
  const server = await startInProcessServer(w, codec ? { codec } : {});
  try {
    const results = (await Promise.all(w.clientConfigs.map((c) => launchClinic(c, "train", { onLine: () => {}, pollMs: 20 }))))
      .map((r) => r.result);
    return { w, server, results };
  } catch (e) {
    await server.stop();
    await w.remove();
    throw e;
  }
}

for (const mode of ["vanilla", "ushaped"] as const) {
  Deno.test(`split e2e (${mode}): two clinics through the real client match the unsplit model; loss falls`, async () => {
    const { w, server, results } = await train(mode);
    try {
      const { runner, losses } = await reference(w, mode);
      await runner.release();
      // ---- compare: clinic segments (both clinics hold the final weights) and the server's ----
      for (const [i, r] of results.entries()) {
        assert.equal(r.turns, EPOCHS);
        assert.equal(r.steps, EPOCHS);
        for (let e = 0; e < EPOCHS; e++) {
          assert.ok(Math.abs(r.turnLosses[e] - losses[i][e]) <= 1e-4 * Math.max(1, losses[i][e]), `${r.clinic} loss of turn ${e}: ${r.turnLosses[e]} vs ${losses[i][e]}`);
        }
        assert.ok(r.turnLosses[EPOCHS - 1] < r.turnLosses[0], `${r.clinic}: loss did not fall: ${r.turnLosses}`);
        const cw = await clinicWeights(w.clientConfigs[i].checkpointDir, r.clinic);
        assert.ok(cw.size > 0);
        for (const [k, v] of cw) {
          const want = runner.params.get(k) ?? runner.buffers.get(k);
          assert.ok(want, `clinic tensor ${k} is not in the model`);
          assertNear(v, want!, `${r.clinic} ${k}`);
        }
        assert.ok(r.eval.test && r.eval.test.samples > 0);
        assert.ok(r.bytesUp > 0 && r.bytesDown > 0);
        // Every step of so short a run is warm-up (SteadyRate): no steady rate, and it
        // crosses the process boundary as null.
        assert.equal(r.steadySamplesPerSec, null);
      }
      await server.handle.model.settle();
      for (const [k, v] of server.handle.model.runner.params) assertNear(v, runner.params.get(k)!, `server ${k}`);
      const st = server.handle.status();
      assert.equal(st.finished, true);
      assert.deepEqual(st.clinics.map((c) => c.steps), [EPOCHS, EPOCHS]);
    } finally {
      await server.stop();
      await w.remove();
    }
  });
}

// int8 cut traffic through the real processes, both ways, quantised in JavaScript
// (codec.quantize "codec", a clinic's default; the server's is "graph": the raw side's codec encodes its activations, and in
// U-shape the head's input gradient, as int8 records that the courier relays unchanged) or in
// the graphs ("graph": the raw side's front graph quantises the activation and dequantises
// the gradient, the server takes the codes into its graph and quantises its cut gradient
// there; the courier only moves records). Quantisation moves every step a little, so the run tracks the
// unsplit float32 model closely rather than exactly: per-channel int8 steps are 1/255 of a
// channel's range, and 3 SGD steps per clinic stay within 1% of the loss and 1% of the
// largest weight (measured: about 0.1% and 0.2%).
for (const mode of ["vanilla", "ushaped"] as const) for (const quantize of ["codec", "graph"] as const) {
  Deno.test(`split e2e (${mode}, int8 codec, quantised in the ${quantize}): the relayed int8 records train like the unsplit model`, async () => {
    viaGraph = 0;
    const { w, server, results } = await train(mode, { dtype: "int8", level: 0, quantize });
    try {
      assert.equal(server.handle.model.int8InGraph, quantize === "graph");
      assert.equal(viaGraph > 0, quantize === "graph", "the server's quantised segment took the clinics' int8 activations");
      const { runner, losses } = await reference(w, mode);
      for (const [i, r] of results.entries()) {
        assert.equal(r.steps, EPOCHS);
        for (let e = 0; e < EPOCHS; e++) {
          const rel = Math.abs(r.turnLosses[e] - losses[i][e]) / Math.max(1, losses[i][e]);
          assert.ok(rel <= 1e-2, `${r.clinic} loss of turn ${e}: ${r.turnLosses[e]} vs ${losses[i][e]}`);
        }
        assert.ok(r.turnLosses[EPOCHS - 1] < r.turnLosses[0], `${r.clinic}: loss did not fall: ${r.turnLosses}`);
        for (const [k, v] of await clinicWeights(w.clientConfigs[i].checkpointDir, r.clinic)) {
          assertNear(v, (runner.params.get(k) ?? runner.buffers.get(k))!, `${r.clinic} ${k}`, 5e-2);
        }
      }
      await server.handle.model.settle();
      for (const [k, v] of server.handle.model.runner.params) assertNear(v, runner.params.get(k)!, `server ${k}`, 5e-2);
      await runner.release();
    } finally {
      await server.stop();
      await w.remove();
    }
  });
}
