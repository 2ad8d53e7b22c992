/**
 * `deno task bench:privacy [--quick] [--labels [--scales a,b] [--rr a,b]] [--out <dir>] [--cut default|alternate] [--estimator v|u] [--epochs N] [--only a,b] [--sigmas a,b,c] [--alphas a,b,c] [--combos σ:α,...] [--image-norm a,b] [--seed S | --seeds S1,S2,...]`
 *
 * The privacy/utility trade-off on PneumoniaMNIST with the zoo CNN: the default (vanilla)
 * cut with no defence, three noise levels, three NoPeek weights, label protection, and
 * the U-shaped split. Each setting is trained in-process on the native engine (same seed,
 * same epochs), written as a run directory, audited (`runtime/privacy/audit.ts`), and the
 * table is printed and written to `<out>/table.md` and `<out>/table.json`.
 *
 * `--image-norm none,nopeek-u-80` adds those settings again with the clinic's per-image input
 * standardisation (`defence.inputNorm`), as rows `std+none`, `std+nopeek-u-80`.
 *
 * `--labels` runs the label-defence settings instead (`bench/privacy_labels.ts`: vanilla and
 * U-shaped undefended, U-shaped with max-norm and Marvell at `--scales`, vanilla with label
 * randomised response at `--rr` ε), prints their table with 95% confidence intervals and ε,
 * and ends with the line `label goal: …`.
 *
 * With `--seeds` every setting is trained and audited once per seed (run directories
 * `<out>/seed-<S>/<setting>`), each seed's ΔAUC and dCor/SSIM ratios are taken against that
 * seed's own undefended run, and the table gives their mean ± sample standard deviation; the
 * goal line then asks the means. One seed's trade-off can differ from another's by more than
 * the 0.02 AUC the goal allows, so a claim should rest on several.
 *
 * @example
 * ```sh
 * deno task bench:privacy --quick
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { zooModel } from "../models/zoo/mod.ts";
import { writeModel } from "../models/onnx/write_model.ts";
import { loadDataset } from "../runtime/data/load_dataset.ts";
import { randomShift } from "../runtime/data/augment.ts";
import { Rng } from "../runtime/data/rng.ts";
import { createEngine } from "../runtime/engine/mod.ts";
import type { DefenceConfig } from "../runtime/privacy/defence_config.ts";
import { trainDefended } from "../runtime/privacy/defended_training.ts";
import { RUN_FORMAT, writeRunDir } from "../runtime/privacy/run_dir.ts";
import { type AuditResult, auditRun } from "../runtime/privacy/audit.ts";
import { labelSettings, labelTable, MARVELL_SCALES, RR_EPSILONS } from "./privacy_labels.ts";

const DATA = new URL("../data/pneumoniamnist.npz", import.meta.url).pathname;

/** One row of the trade-off table. */
interface Setting {
  name: string;
  ushaped?: boolean;
  defence: DefenceConfig;
}

// Clip norm C: about the median per-sample L2 norm of the undefended cut activation
// (32×7×7 after BatchNorm, ReLU and pooling: ≈ 20, tightly spread, measured on
// the validation split after training); σ is the noise multiplier (per-coordinate std σ·C).
const CLIP = 20;
const SIGMAS = [0.03, 0.08, 0.2];
const ALPHAS = [1, 10, 100];
const COMBOS: [number, number][] = [];
function settingsFor(sigmas: number[], alphas: number[], combos: [number, number][], estimator: "v" | "u"): Setting[] {
  // NoPeek rows name their estimator when it is the bias-corrected one: nopeek-u-20.
  const np = estimator === "u" ? "nopeek-u" : "nopeek";
  const nopeek = (weight: number) => (estimator === "u" ? { weight, estimator } : { weight });
  return [
    { name: "none", defence: {} },
    ...sigmas.map((sigma) => ({ name: `noise-${sigma}`, defence: { noise: { clip: CLIP, sigma } } })),
    ...alphas.map((weight) => ({ name: `${np}-${weight}`, defence: { nopeek: nopeek(weight) } })),
    ...combos.map(([sigma, weight]) => ({
      name: `noise-${sigma}+${np}-${weight}`,
      defence: { noise: { clip: CLIP, sigma }, nopeek: nopeek(weight) },
    })),
    { name: "norm-equalise", defence: { labelProtection: "norm-equalise" } },
    { name: "ushaped", ushaped: true, defence: {} },
  ];
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string", default: "out/privacy" },
    epochs: { type: "string" },
    only: { type: "string" },
    seed: { type: "string", default: "1" },
    seeds: { type: "string" },
    sigmas: { type: "string" },
    alphas: { type: "string" },
    combos: { type: "string" },
    "audit-only": { type: "boolean", default: false },
    cut: { type: "string", default: "default" },
    estimator: { type: "string", default: "v" },
    "image-norm": { type: "string" },
    labels: { type: "boolean", default: false },
    scales: { type: "string" },
    rr: { type: "string" },
  },
  strict: true,
});
const quick = values.quick;
const epochs = values.epochs ? Number(values.epochs) : quick ? 2 : 8;
const seeds = (values.seeds ?? values.seed!).split(",").map(Number);
if (seeds.some((v) => !Number.isSafeInteger(v))) {
  console.error(`bench:privacy: --seed/--seeds must be integers, got ${JSON.stringify(values.seeds ?? values.seed)}`);
  Deno.exit(2);
}
const multi = seeds.length > 1;
const batchSize = 64;
const only = values.only?.split(",");
// --cut alternate: the vanilla rows at the zoo's deeper cut (block 2 stays at the clinic),
// where a defence has two convolution blocks to work with; U-shaped keeps its own cuts.
if (values.cut !== "default" && values.cut !== "alternate") {
  console.error(`bench:privacy: --cut must be "default" or "alternate", got ${JSON.stringify(values.cut)}`);
  Deno.exit(2);
}
if (values.estimator !== "v" && values.estimator !== "u") {
  console.error(`bench:privacy: --estimator must be "v" or "u", got ${JSON.stringify(values.estimator)}`);
  Deno.exit(2);
}
const levels = (v: string | undefined, fallback: number[]) => v ? v.split(",").map(Number) : fallback;
const settings: Setting[] = values.labels ? labelSettings(levels(values.scales, MARVELL_SCALES), levels(values.rr, RR_EPSILONS)) : settingsFor(
  levels(values.sigmas, SIGMAS),
  levels(values.alphas, ALPHAS),
  values.combos ? values.combos.split(",").map((c) => c.split(":").map(Number) as [number, number]) : COMBOS,
  values.estimator,
);
// --image-norm a,b: these settings again with the clinic's per-image input standardisation
// (defence.inputNorm; rows `std+<setting>`, against the same undefended `none`).
for (const name of values["image-norm"]?.split(",") ?? []) {
  const s = settings.find((x) => x.name === name);
  if (!s) {
    console.error(`bench:privacy: --image-norm names ${JSON.stringify(name)}, which is not a setting here (${settings.map((x) => x.name).join(", ")})`);
    Deno.exit(2);
  }
  settings.push({ ...s, name: `std+${s.name}`, defence: { ...s.defence, inputNorm: "per-image" } });
}
const chosen = settings.filter((s) => !only || only.includes(s.name));

const data = await loadDataset(DATA);
// --quick: a smaller training split (the first 2048 images); validation and test whole.
const splits = {
  train: quick ? data.train.subset(Array.from({ length: 2048 }, (_, i) => i)) : data.train,
  val: data.val,
  test: data.test,
};
const engine = await createEngine("native");
const rows: { s: Setting; seed: number; a: AuditResult; trainSeconds: number }[] = [];
const t0 = performance.now();
console.log(`bench:privacy — ${data.description}; ${quick ? "quick, 2048 training images, " : ""}${epochs} epochs, batch ${batchSize}, seed${multi ? "s" : ""} ${seeds.join(", ")}, native engine`);
try {
  for (const seed of seeds) for (const s of chosen) {
    const dir = multi ? `${values.out}/seed-${seed}/${s.name}` : `${values.out}/${s.name}`;
    if (values["audit-only"]) {
      // Re-audit the run directories a previous bench wrote (no training).
      const a = await auditRun({ engine, runDir: dir, quick });
      rows.push({ s, seed, a, trainSeconds: NaN });
      console.log(`${multi ? `seed ${seed} ` : ""}${s.name.padEnd(14)} test AUC ${a.testAuc.toFixed(4)}  dCor ${a.dcor.toFixed(4)} (bias-corrected ${a.dcorBiasCorrected.toFixed(4)})  SSIM ${a.reconstruction.ssim.toFixed(4)}`);
      continue;
    }
    const rng = new Rng(seed);
    const zoo = zooModel("cnn", data, () => rng.float());
    const cuts = s.ushaped ? zoo.cuts.ushaped : values.cut === "alternate" ? zoo.cuts.alternate : zoo.cuts.default;
    const r = await trainDefended({
      engine,
      model: zoo.model,
      cuts,
      loss: "bce",
      data: splits,
      epochs,
      batchSize,
      optimizer: { kind: "adam", lr: 1e-3 },
      seed,
      defence: s.defence,
      augment: (b, g) => ({ inputs: { image: randomShift(b.inputs.image, 2, g) }, target: b.target }),
    });
    // The structure travels with the run (model.onnx), so a later change of the zoo does not
    // orphan the run directory; the trained weights are in weights.npz.
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(`${dir}/model.onnx`, writeModel(zoo.model));
    await writeRunDir(dir, {
      format: RUN_FORMAT,
      model: { onnx: "model.onnx" },
      cuts: [...cuts],
      mode: s.ushaped ? "ushaped" : "vanilla",
      loss: "bce",
      data: DATA,
      seed,
      batchSize,
      epochs,
      defence: s.defence,
      test: r.test,
    }, r.weights);
    const a = await auditRun({ engine, runDir: dir, quick });
    rows.push({ s, seed, a, trainSeconds: r.seconds });
    console.log(`${multi ? `seed ${seed} ` : ""}${s.name.padEnd(14)} test AUC ${a.testAuc.toFixed(4)}  dCor ${a.dcor.toFixed(4)} (bias-corrected ${a.dcorBiasCorrected.toFixed(4)})  SSIM ${a.reconstruction.ssim.toFixed(4)}  ` +
      `leak norm ${a.leak.normAuc.toFixed(3)} dir ${a.leak.directionAuc.toFixed(3)}  (train ${r.seconds.toFixed(0)} s, audit ${a.seconds.toFixed(0)} s)`);
  }
} finally {
  await engine.dispose();
}

const f = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
const baseOf = (seed: number) => rows.find((r) => r.seed === seed && r.s.name === "none")?.a;
const base = baseOf(seeds[0]);
let lines: string[];
let goal: string[];
if (!multi) {
  lines = [
    "| setting | mode | test AUC | ΔAUC | dCor(X,Z) | bias-corr. dCor | recon MSE | PSNR (dB) | SSIM | norm-leak AUC | direction-leak AUC |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(({ s, a }) =>
      `| ${s.name} | ${a.mode} | ${f(a.testAuc)} | ${base ? f(a.testAuc - base.testAuc, 3) : "—"} | ${f(a.dcor)} | ${f(a.dcorBiasCorrected)} | ${f(a.reconstruction.mse)} | ` +
      `${f(a.reconstruction.psnr, 2)} | ${f(a.reconstruction.ssim)} | ${f(a.leak.normAuc, 3)} | ${f(a.leak.directionAuc, 3)} |`
    ),
  ];
  // The goal: within 0.02 test AUC of "none" while halving dCor or SSIM. Both dCor
  // estimators are checked and named: the V-statistic cannot halve here (its floor for
  // independent 1568-dimensional activations at 512 rows is ≈ 0.47, half of "none").
  const goalOf = (pick: (a: AuditResult) => number, what: string) =>
    base
      ? rows.filter(({ s, a }) => s.name !== "none" && a.testAuc >= base.testAuc - 0.02 && pick(a) <= pick(base) / 2)
        .map(({ s }) => `${s.name} (${what})`)
      : [];
  goal = [
    ...goalOf((a) => a.dcor, "dCor"),
    ...goalOf((a) => a.dcorBiasCorrected, "bias-corrected dCor"),
    ...goalOf((a) => a.reconstruction.ssim, "SSIM"),
  ];
} else {
  // Per seed against that seed's undefended run, then mean ± sample standard deviation.
  const stat = (xs: number[]) => {
    const m = xs.reduce((p, q) => p + q, 0) / xs.length;
    const sd = xs.length > 1 ? Math.sqrt(xs.reduce((p, q) => p + (q - m) ** 2, 0) / (xs.length - 1)) : NaN;
    return { m, sd };
  };
  const pm = (xs: number[], d: number) => {
    const { m, sd } = stat(xs);
    return `${f(m, d)} ± ${f(sd, d)}`;
  };
  const per = chosen.map((s) => {
    const runs = rows.filter((r) => r.s.name === s.name && baseOf(r.seed));
    const rel = (pick: (a: AuditResult) => number) => runs.map((r) => pick(r.a) / pick(baseOf(r.seed)!));
    return {
      s,
      runs,
      dAuc: runs.map((r) => r.a.testAuc - baseOf(r.seed)!.testAuc),
      dcorRatio: rel((a) => a.dcor),
      bcRatio: rel((a) => a.dcorBiasCorrected),
      ssimRatio: rel((a) => a.reconstruction.ssim),
    };
  }).filter((p) => p.runs.length > 0);
  lines = [
    `| setting | mode | seeds | test AUC | ΔAUC | dCor(X,Z) | bias-corr. dCor | its ratio to none | SSIM | its ratio to none | norm-leak AUC | direction-leak AUC |`,
    "| --- | --- | ---: | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...per.map((p) =>
      `| ${p.s.name} | ${p.runs[0].a.mode} | ${p.runs.length} | ${pm(p.runs.map((r) => r.a.testAuc), 4)} | ${pm(p.dAuc, 3)} | ` +
      `${pm(p.runs.map((r) => r.a.dcor), 4)} | ${pm(p.runs.map((r) => r.a.dcorBiasCorrected), 4)} | ${pm(p.bcRatio, 2)} | ` +
      `${pm(p.runs.map((r) => r.a.reconstruction.ssim), 4)} | ${pm(p.ssimRatio, 2)} | ${pm(p.runs.map((r) => r.a.leak.normAuc), 3)} | ` +
      `${pm(p.runs.map((r) => r.a.leak.directionAuc), 3)} |`
    ),
  ];
  const mean = (xs: number[]) => stat(xs).m;
  goal = per.filter((p) => p.s.name !== "none" && mean(p.dAuc) >= -0.02).flatMap((p) => [
    ...(mean(p.dcorRatio) <= 0.5 ? [`${p.s.name} (dCor)`] : []),
    ...(mean(p.bcRatio) <= 0.5 ? [`${p.s.name} (bias-corrected dCor)`] : []),
    ...(mean(p.ssimRatio) <= 0.5 ? [`${p.s.name} (SSIM)`] : []),
  ]);
}
const header = `PneumoniaMNIST, zoo CNN, ${values.cut} cut (${values.cut === "alternate" ? "after block 2" : "after block 1"}), ${quick ? "--quick (2048 training images), " : ""}${epochs} epochs, batch ${batchSize}, Adam 1e-3, seed${multi ? "s" : ""} ${seeds.join(", ")}; ` +
  `noise clip C = ${CLIP}; ${((performance.now() - t0) / 1000).toFixed(0)} s in all`;
const labelPart = values.labels ? labelTable(rows) : undefined;
const table = labelPart
  ? `${header}\n\n${labelPart.lines.join("\n")}\n\n${labelPart.goal}\n`
  : `${header}\n\n${lines.join("\n")}\n\nSettings within 0.02 test AUC of "none" that halve dCor, bias-corrected dCor or SSIM${multi ? " (means over the seeds)" : ""}: ${goal.length ? goal.join(", ") : "none"}\n`;
console.log(`\n${table}`);
await Deno.mkdir(values.out, { recursive: true });
await Deno.writeTextFile(`${values.out}/table.md`, table);
await Deno.writeTextFile(
  `${values.out}/table.json`,
  JSON.stringify({ quick, cut: values.cut, epochs, seeds, batchSize, clip: CLIP, rows: rows.map(({ s, seed, a, trainSeconds }) => ({ ...s, seed, trainSeconds, audit: a })), goal, labelGoal: labelPart?.goal }, null, 2) + "\n",
);
// The label goal is the run's last line.
if (labelPart) console.log(labelPart.goal);
