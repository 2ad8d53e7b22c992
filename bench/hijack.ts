/**
 * `deno task bench:hijack [--seeds 1,2,3] [--epochs 8] [--attack-epochs 3] [--every 20] [--flips 8] [--window 3]`
 *
 * The hijack guard's acceptance (`runtime/privacy/split_guard.ts`) on PneumoniaMNIST with the
 * zoo CNN at the default (vanilla) cut, all 4,708 training images, batch 64 (74 steps an
 * epoch): per seed,
 *
 * 1. against the FSHA attacker (`runtime/privacy/fsha_attacker.ts`, through the test harness's
 *    malicious-server mode): the training step at which the guard stopped the clinic — it must
 *    be ≤ 200;
 * 2. against the honest server, a full run of `--epochs` epochs with the guard on: it must
 *    raise no alarm; the fake batches' scores (lowest, lowest mean over a window — the alarm's
 *    statistic, alarm below 0 — and mean) and the test AUC;
 * 3. the same honest run without the guard: the guard's utility cost (the honest server also
 *    trains on the flipped-label fake batches).
 *
 * The last line is `hijack guard: PASS` or `hijack guard: FAIL (<why>)`.
 *
 * @example
 * ```sh
 * deno task bench:hijack --seeds 1,2,3
 * ```
 * @module
 */
import { hijackFlags } from "./hijack_flags.ts";
import { zooModel } from "../models/zoo/mod.ts";
import { loadDataset } from "../runtime/data/load_dataset.ts";
import { Rng } from "../runtime/data/rng.ts";
import { createEngine } from "../runtime/engine/mod.ts";
import { type ServerKind, trainAgainst } from "../tests/runtime/privacy/malicious_server.ts";
import type { DefenceConfig } from "../runtime/privacy/defence_config.ts";

const DATA = new URL("../data/pneumoniamnist.npz", import.meta.url).pathname;
const { seeds, epochs, attackEpochs, guard } = hijackFlags(Deno.args, "1,2,3");
const data = await loadDataset(DATA);
const splits = { train: data.train, val: data.val, test: data.test };
const engine = await createEngine("native");
const fails: string[] = [];
const lines: string[] = [];
const t0 = performance.now();
console.log(`bench:hijack — ${data.description}; guard every ${guard.every}, ${guard.flips} flipped labels, window ${guard.window}, threshold 0; seeds ${seeds.join(", ")}`);
try {
  for (const seed of seeds) {
    const run = (server: ServerKind, defence: DefenceConfig, n: number) => {
      const rng = new Rng(seed);
      const zoo = zooModel("cnn", data, () => rng.float());
      return trainAgainst({ engine, model: zoo.model, cut: zoo.cuts.default[0], data: splits, server, seed, epochs: n, batchSize: 64, defence });
    };
    const a = await run("fsha", { hijackGuard: guard }, attackEpochs);
    const alarm = a.stopped?.code === "HIJACK_SUSPECTED" ? a.stopped.step! : NaN;
    if (!(alarm <= 200)) fails.push(`seed ${seed}: FSHA ${Number.isNaN(alarm) ? "not flagged" : `flagged at step ${alarm}`}`);
    const h = await run("honest", { hijackGuard: guard }, epochs);
    const scores = (h.guardScores ?? []).map((s) => s.score);
    // The alarm's statistic: the mean of `window` consecutive scores; its lowest is the margin.
    const windows = scores.slice(guard.window - 1).map((_, i) => scores.slice(i, i + guard.window).reduce((p, q) => p + q, 0) / guard.window);
    if (h.stopped) fails.push(`seed ${seed}: honest run stopped: ${h.stopped.message}`);
    const plain = await run("honest", {}, epochs);
    const line = `| ${seed} | ${Number.isNaN(alarm) ? "none" : alarm} | ${(a.guardScores ?? []).map((s) => s.score.toFixed(2)).join(", ")} | ` +
      `${h.stopped ? `ALARM at step ${h.stopped.step}` : "none"} | ${scores.length} | ${Math.min(...scores).toFixed(3)} | ${Math.min(...windows).toFixed(3)} | ${(scores.reduce((p, q) => p + q, 0) / scores.length).toFixed(3)} | ` +
      `${h.test.auc.toFixed(4)} | ${plain.test.auc.toFixed(4)} | ${(h.test.auc - plain.test.auc).toFixed(4)} |`;
    lines.push(line);
    console.log(line);
  }
} finally {
  await engine.dispose();
}
console.log(`\nPneumoniaMNIST, zoo CNN, default cut, batch 64, Adam 1e-3; FSHA run ${attackEpochs} epochs (${attackEpochs * 74} steps) at most, honest runs ${epochs} epochs; ${((performance.now() - t0) / 1000).toFixed(0)} s in all\n`);
console.log("| seed | FSHA flagged at step | FSHA fake-batch scores | honest alarm | honest fake batches | lowest score | lowest window mean | mean score | test AUC with guard | without | cost |");
console.log("| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const l of lines) console.log(l);
console.log(fails.length ? `hijack guard: FAIL (${fails.join("; ")})` : "hijack guard: PASS");
