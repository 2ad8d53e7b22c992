/**
 * Secure aggregation of the fronts (`frontAggregation: "secagg"`) end to end on loopback with
 * two real clinics (sandboxed raw-data process + courier process each): the raw sides run the
 * SecAgg clients over the `secureFront` pipe calls, the couriers poll `SECAGG` through the
 * Noise channel. Under `splitfed` with plain SGD and one batch per clinic per round, a round is
 * FedAvg of the unsplit model (tests/e2e/split_parallel_test.ts), so every clinic's front must
 * equal FedAvg computed here, up to the fixed-point rounding of each round's sum: per round at
 * most n / (2 s M) = 2 / (2 · 2048 · 32) ≈ 1.5e-5 a weight (docs/design/secure_aggregation.md,
 * Arithmetic), carried through the next round's step.
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
import { averageStates } from "../../runtime/train/state_average.ts";
import { launchClinic } from "../../runtime/client/launcher.ts";
import { makeWorld, serverEngine, SIZE, startInProcessServer } from "./split_harness.ts";

const ROUNDS = 2, N = 32, BATCH = 16, SEED = 5, LR = 0.05;

async function clinicWeights(dir: string, clinic: string): Promise<Map<string, Tensor>> {
  const meta = JSON.parse(await Deno.readTextFile(`${dir}/${clinic}.checkpoint.json`));
  const out = new Map<string, Tensor>();
  for (const [k, v] of readNpz(await Deno.readFile(`${dir}/${meta.weights}`))) {
    const m = /^(front|head):param:(.+)$/.exec(k);
    if (m) out.set(m[2], v as Tensor);
  }
  return out;
}

function maxAbsDiff(got: Tensor, want: Tensor): number {
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) {
    worst = Math.max(worst, Math.abs(Number(got.data[i]) - Number(want.data[i])));
  }
  return worst;
}

/** FedAvg of the unsplit model over the clinics' batches (SGD: one batch per clinic per round). */
async function fedAvgReference(
  dataFile: string,
  mode: "vanilla" | "ushaped",
): Promise<Map<string, Tensor>> {
  const data = await loadDataset(dataFile, { seed: SEED });
  const { model } = buildSplitModel(
    { zoo: "cnn", data: { image: { channels: 1, size: SIZE } }, seed: SEED },
    mode,
    "bce",
  );
  const segs = compileModel(model, { loss: "bce", cuts: [], seed: SEED });
  const engine = await serverEngine();
  const runner = await SegmentRunner.create(engine, segs[0]);
  const shares = partition({ scheme: "iid", count: data.train.size, clinics: 2, seed: SEED });
  let global = new Map(
    [...runner.params].map(([k, v]) => [k, { ...v, data: v.data.slice() } as Tensor]),
  );
  try {
    for (let e = 0; e < ROUNDS; e++) {
      const copies = [];
      for (let c = 0; c < 2; c++) {
        for (const [k, v] of global) {
          (runner.params.get(k)!.data as Float32Array).set(v.data as Float32Array);
        }
        const mine = data.train.subset(shares[c]);
        const b = mine.take(batchIndices(SEED, e, mine.size, BATCH, 0));
        const r = await runOneBatch(engine, segs, b.inputs, b.target, [runner]);
        createOptimizer({ kind: "sgd", lr: LR }).step(runner.params, r.paramGrads);
        copies.push({
          state: new Map(
            [...runner.params].map(([k, v]) => [k, { ...v, data: v.data.slice() } as Tensor]),
          ),
          weight: mine.size,
        });
      }
      global = averageStates(copies);
    }
    return global;
  } finally {
    await runner.release();
  }
}

async function train(mode: "vanilla" | "ushaped", schedule: "parallel" | "splitfed") {
  const w = await makeWorld({
    mode,
    n: N,
    batchSize: BATCH,
    epochs: ROUNDS,
    seed: SEED,
    optimizer: { kind: "sgd", lr: LR },
  });
  const server = await startInProcessServer(w, { schedule, frontAggregation: "secagg" });
  try {
    const results = (await Promise.all(w.clientConfigs.map((c) =>
      launchClinic(c, "train", { onLine: () => {}, pollMs: 20 })
    )))
      .map((r) =>
        r.result
      );
    await server.handle.model.settle();
    const clinics = await Promise.all(
      results.map((r, i) => clinicWeights(w.clientConfigs[i].checkpointDir, r.clinic)),
    );
    return { w, server, results, clinics };
  } catch (e) {
    await server.stop();
    await w.remove();
    throw e;
  }
}

Deno.test("split e2e (vanilla, splitfed, frontAggregation secagg): two real clinics end on FedAvg within the fixed-point bound", async () => {
  const { w, server, results, clinics } = await train("vanilla", "splitfed");
  try {
    const want = await fedAvgReference(w.dataFile, "vanilla");
    const bound = ROUNDS * 2 * (2 / (2 * 2 ** 11 * N));
    for (const [i, r] of results.entries()) {
      assert.equal(r.steps, ROUNDS);
      assert.ok(clinics[i].size > 0);
      for (const [k, v] of clinics[i]) {
        assert.ok(
          maxAbsDiff(v, want.get(k)!) <= bound,
          `${r.clinic} ${k}: ${maxAbsDiff(v, want.get(k)!)} > ${bound}`,
        );
      }
    }
    assert.equal(server.handle.status().finished, true);
  } finally {
    await server.stop();
    await w.remove();
  }
});
