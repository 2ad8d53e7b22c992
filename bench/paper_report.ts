/**
 * Turns the runs of `bench/paper.ts` (results.json) into results.md and SVG figures.
 * Every number and point comes from results.json; nothing is typed in. Figures are
 * Vega-Lite specs rendered headless by Vega (`renderer: "none"`, `toSVG()`).
 *
 * Standalone: `deno run --allow-read --allow-write bench/paper_report.ts out/paper`
 * rebuilds the report from an existing results.json.
 *
 * @example
 * ```ts
 * import { writeReport } from "./paper_report.ts";
 * // await writeReport(JSON.parse(await Deno.readTextFile("out/paper/results.json")), "out/paper");
 * ```
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { PaperResults, PaperRun } from "./paper.ts";

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};
const pm = (xs: number[], d = 4) => xs.length > 1 ? `${mean(xs).toFixed(d)} ± ${sd(xs).toFixed(d)}` : mean(xs).toFixed(d);
const mb = (b: number) => (b / 1e6).toFixed(2);
const gf = (f: number) => (f / 1e9).toFixed(2);

/** Runs grouped by dataset, method, clinics and partition (seeds pooled). */
export interface Group {
  dataset: string;
  method: string;
  clinics: number;
  partition: string;
  runs: PaperRun[];
}

/**
 * Groups runs over seeds.
 *
 * @example
 * ```ts
 * import { groupRuns } from "./paper_report.ts";
 * groupRuns([]).length; // 0
 * ```
 */
export function groupRuns(runs: readonly PaperRun[]): Group[] {
  const m = new Map<string, Group>();
  for (const r of runs) {
    const key = `${r.dataset}|${r.method}|${r.clinics}|${r.partition}`;
    let g = m.get(key);
    if (!g) m.set(key, g = { dataset: r.dataset, method: r.method, clinics: r.clinics, partition: r.partition, runs: [] });
    g.runs.push(r);
  }
  return [...m.values()];
}

/** Per-run means over its clinics. */
function clinicMean(r: PaperRun, f: (c: PaperRun["result"]["clinics"][number]) => number): number {
  return mean(r.result.clinics.map(f));
}

/**
 * The Markdown report.
 *
 * @example
 * ```ts
 * import { markdown } from "./paper_report.ts";
 * // const md = markdown(results);
 * ```
 */
export function markdown(res: PaperResults): string {
  const L: string[] = [];
  L.push(`# splitgate: central vs FedAvg vs split learning`, "");
  L.push(
    `Command: \`deno task ${res.command.join(" ")}\` — engine ${res.engine}, ${res.machine.os}/${res.machine.arch}, ` +
      `${res.machine.cpus} logical CPUs, load average at start ${res.machine.loadavg.map((x) => x.toFixed(2)).join(" ")}; ` +
      `started ${res.startedAt}, ${res.seconds.toFixed(0)} s in all, ${res.runs.length} runs.`,
    "",
  );
  L.push("Hyper-parameters (every method):", "", "```json", JSON.stringify(res.hyper, null, 2), "```", "");
  L.push(
    "Columns: test AUC and accuracy at the best validation epoch (mean ± sd over seeds); per clinic and per epoch " +
      "(mean over clinics and seeds): graph FLOPs of the clinic's own graphs (forward + backward; the head's step in " +
      "U-shape; the whole model's step in FedAvg), seconds in those graphs (wall), working set (estimated from graph " +
      "shapes: parameters + BN buffers + Adam state + forward intermediates at the training batch size), sealed bytes " +
      "up and down (Noise transport frames of codec-encoded tensors; split: activations/labels/gradients plus the " +
      "sealed-box weight relay; FedAvg: the model down and up each round); server graph FLOPs and seconds per epoch.",
    "",
  );
  for (const ds of [...new Set(res.runs.map((r) => r.dataset))]) {
    L.push(`## ${ds}`, "");
    L.push(
      "| method | clinics | partition | seeds | test AUC | test accuracy | clinic GFLOP/epoch | clinic s/epoch | clinic working set MB | up MB/epoch | down MB/epoch | of which relay/model MB (up+down) | server GFLOP/epoch | server s/epoch |",
      "| --- | ---: | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const g of groupRuns(res.runs.filter((r) => r.dataset === ds))) {
      const rs = g.runs;
      const per = (f: (c: PaperRun["result"]["clinics"][number]) => number) => mean(rs.map((r) => clinicMean(r, f)));
      L.push(
        `| ${g.method} | ${g.clinics} | ${g.partition} | ${rs.length} | ${pm(rs.map((r) => r.result.test.auc))} | ` +
          `${pm(rs.map((r) => r.result.test.accuracy))} | ${gf(per((c) => c.flopsPerEpoch))} | ${per((c) => c.secondsPerEpoch).toFixed(2)} | ` +
          `${mb(per((c) => c.workingSetBytes))} | ${mb(per((c) => c.bytesUpPerEpoch))} | ${mb(per((c) => c.bytesDownPerEpoch))} | ` +
          `${mb(per((c) => c.relayUpPerEpoch + c.relayDownPerEpoch))} | ${gf(mean(rs.map((r) => r.result.server.flopsPerEpoch)))} | ` +
          `${mean(rs.map((r) => r.result.server.secondsPerEpoch)).toFixed(2)} |`,
      );
    }
    L.push("");
  }
  L.push("## Acceptance checks (computed from the runs above)", "");
  for (const ds of [...new Set(res.runs.map((r) => r.dataset))]) {
    const of = (m: string) => res.runs.filter((r) => r.dataset === ds && r.method === m);
    const central = mean(of("central").map((r) => r.result.test.auc));
    for (const m of ["split-vanilla", "split-ushaped", "fedavg"]) {
      const rs = of(m);
      if (!rs.length) continue;
      const gaps = groupRuns(rs).map((g) => ({ g, gap: mean(g.runs.map((r) => r.result.test.auc)) - central }));
      const worst = gaps.reduce((a, b) => (Math.abs(b.gap) > Math.abs(a.gap) ? b : a));
      L.push(
        `- ${ds}, ${m}: test AUC − central (${central.toFixed(4)}) per setting: ` +
          gaps.map((x) => `K=${x.g.clinics} ${x.g.partition} ${x.gap >= 0 ? "+" : ""}${x.gap.toFixed(4)}`).join(", ") +
          (m === "fedavg" ? "" : ` → largest |gap| ${Math.abs(worst.gap).toFixed(4)} ${Math.abs(worst.gap) <= 0.01 ? "≤" : ">"} 0.01`),
      );
    }
    // Where a split gap comes from: the same setting's unsplit run on the same batch stream.
    const seq = groupRuns(of("sequential-nocut"));
    for (const m of ["split-vanilla", "split-ushaped"]) {
      const diffs = groupRuns(of(m)).flatMap((g) => {
        const twin = seq.find((q) => q.clinics === g.clinics && q.partition === g.partition);
        if (!twin) return [];
        const d = mean(g.runs.map((r) => r.result.test.auc)) - mean(twin.runs.map((r) => r.result.test.auc));
        return [`K=${g.clinics} ${g.partition} ${d >= 0 ? "+" : ""}${d.toFixed(4)}`];
      });
      if (diffs.length) {
        L.push(`- ${ds}, ${m} − the unsplit model on the same clinic-by-clinic batch stream (sequential-nocut): ${diffs.join(", ")}`);
      }
    }
    const fed = of("fedavg"), sv = of("split-vanilla"), sh = of("split-alternate");
    if (fed.length && sv.length) {
      const f = mean(fed.map((r) => clinicMean(r, (c) => c.flopsPerEpoch)));
      const v = mean(sv.map((r) => clinicMean(r, (c) => c.flopsPerEpoch)));
      const s = sh.length ? mean(sh.map((r) => clinicMean(r, (c) => c.flopsPerEpoch))) : NaN;
      L.push(
        `- ${ds}: clinic FLOPs per epoch, split at the default cut / FedAvg = ${gf(v)} / ${gf(f)} GFLOP = ${(100 * v / f).toFixed(1)} %` +
          (Number.isNaN(s) ? "" : `; alternate cut (${ds.startsWith("pneumonia") ? "deeper" : "shallower"}) / FedAvg = ${gf(s)} / ${gf(f)} GFLOP = ${(100 * s / f).toFixed(1)} %`),
      );
    }
  }
  L.push("", "Figures: `auc_per_epoch.svg`, `auc_vs_bytes.svg`, `clinic_flops.svg`.", "");
  return L.join("\n");
}

const LABEL_FONT = { labelFontSize: 12, titleFontSize: 13, titleLimit: 400, labelLimit: 300 };

/**
 * Vega-Lite specs of the three figures, with their data taken from the runs.
 *
 * @example
 * ```ts
 * import { figureSpecs } from "./paper_report.ts";
 * // Object.keys(figureSpecs(results)) -> ["auc_per_epoch", "auc_vs_bytes", "clinic_flops"]
 * ```
 */
export function figureSpecs(res: PaperResults): Record<string, unknown> {
  const label = (r: PaperRun) => r.method === "central" ? "central" : `${r.method} (K=${r.clinics}, ${r.partition})`;
  // 1. Test AUC per epoch: mean over seeds, one line per method and setting, a panel per data set.
  const curves = new Map<string, { dataset: string; series: string; method: string; epoch: number; aucs: number[] }>();
  for (const r of res.runs) {
    for (const h of r.result.history) {
      const key = `${r.dataset}|${label(r)}|${h.epoch}`;
      let c = curves.get(key);
      if (!c) curves.set(key, c = { dataset: r.dataset, series: label(r), method: r.method, epoch: h.epoch, aucs: [] });
      c.aucs.push(h.test.auc);
    }
  }
  const aucPerEpoch = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "Test AUC per epoch (mean over seeds)", fontSize: 15 },
    data: { values: [...curves.values()].map((c) => ({ ...c, auc: mean(c.aucs), aucs: undefined })) },
    facet: { column: { field: "dataset", type: "nominal", title: "data set", header: { labelFontSize: 13 } } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 340,
      height: 260,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1, ...LABEL_FONT } },
        y: { field: "auc", type: "quantitative", title: "test AUC", scale: { zero: false }, axis: LABEL_FONT },
        color: { field: "method", type: "nominal", title: "method", legend: LABEL_FONT },
        detail: { field: "series", type: "nominal" },
        tooltip: [{ field: "series" }, { field: "epoch" }, { field: "auc", format: ".4f" }],
      },
    },
  };
  // 2. Test AUC against bytes sent + received per clinic per epoch (central has none).
  const points = groupRuns(res.runs.filter((r) => r.method !== "central")).map((g) => ({
    dataset: g.dataset,
    method: g.method,
    setting: `K=${g.clinics}, ${g.partition}`,
    mb: mean(g.runs.map((r) => clinicMean(r, (c) => c.bytesUpPerEpoch + c.bytesDownPerEpoch))) / 1e6,
    auc: mean(g.runs.map((r) => r.result.test.auc)),
  }));
  const aucVsBytes = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "Test AUC against traffic per clinic per epoch", fontSize: 15 },
    data: { values: points },
    facet: { column: { field: "dataset", type: "nominal", title: "data set", header: { labelFontSize: 13 } } },
    resolve: { scale: { x: "independent", y: "independent" } },
    spec: {
      width: 340,
      height: 260,
      mark: { type: "point", filled: true, size: 90 },
      encoding: {
        x: { field: "mb", type: "quantitative", title: "MB sent + received per clinic per epoch (log)", scale: { type: "log" }, axis: LABEL_FONT },
        y: { field: "auc", type: "quantitative", title: "test AUC", scale: { zero: false }, axis: LABEL_FONT },
        color: { field: "method", type: "nominal", title: "method", legend: LABEL_FONT },
        shape: { field: "setting", type: "nominal", title: "clinics, partition", legend: LABEL_FONT },
        tooltip: [{ field: "method" }, { field: "setting" }, { field: "mb", format: ".2f" }, { field: "auc", format: ".4f" }],
      },
    },
  };
  // 3. Clinic FLOPs per epoch per method (mean over settings, seeds and clinics).
  const bars = [...new Set(res.runs.map((r) => `${r.dataset}|${r.method}`))].map((k) => {
    const [dataset, method] = k.split("|");
    const rs = res.runs.filter((r) => r.dataset === dataset && r.method === method);
    return { dataset, method, gflop: mean(rs.map((r) => clinicMean(r, (c) => c.flopsPerEpoch))) / 1e9 };
  });
  const clinicFlops = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "Clinic compute per epoch (graph FLOPs, mean per clinic)", fontSize: 15 },
    data: { values: bars },
    facet: { column: { field: "dataset", type: "nominal", title: "data set", header: { labelFontSize: 13 } } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 300,
      height: 260,
      layer: [
        {
          mark: "bar",
          encoding: {
            x: { field: "method", type: "nominal", title: "method", sort: null, axis: { labelAngle: -30, ...LABEL_FONT } },
            y: { field: "gflop", type: "quantitative", title: "GFLOP per clinic per epoch", axis: LABEL_FONT },
            color: { field: "method", type: "nominal", legend: null },
          },
        },
        {
          mark: { type: "text", dy: -6, fontSize: 11 },
          encoding: {
            x: { field: "method", type: "nominal", sort: null },
            y: { field: "gflop", type: "quantitative" },
            text: { field: "gflop", type: "quantitative", format: ".2f" },
          },
        },
      ],
    },
  };
  return { auc_per_epoch: aucPerEpoch, auc_vs_bytes: aucVsBytes, clinic_flops: clinicFlops };
}

/**
 * Renders a Vega-Lite spec to SVG text, headless.
 *
 * @example
 * ```ts
 * import { renderSvg } from "./paper_report.ts";
 * // const svg = await renderSvg({ mark: "point", data: { values: [{ x: 1 }] }, encoding: { x: { field: "x" } } });
 * ```
 */
export async function renderSvg(spec: unknown): Promise<string> {
  const compiled = vl.compile(spec as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Writes results.md and the SVG figures into `dir`.
 *
 * @example
 * ```ts
 * import { writeReport } from "./paper_report.ts";
 * // await writeReport(results, "out/paper");
 * ```
 */
export async function writeReport(res: PaperResults, dir: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/results.md`, markdown(res));
  for (const [name, spec] of Object.entries(figureSpecs(res))) {
    await Deno.writeTextFile(`${dir}/${name}.svg`, await renderSvg(spec));
  }
}

if (import.meta.main) {
  const dir = Deno.args[0] ?? "out/paper";
  await writeReport(JSON.parse(await Deno.readTextFile(`${dir}/results.json`)), dir);
  console.log(`wrote ${dir}/results.md and figures`);
}
