/**
 * A finished (or stopped) study's `metrics.jsonl` as one static HTML page with the
 * dashboard's charts drawn as inline SVG by the same {@linkcode lineChartSvg}: no script, no
 * external file, so it can be archived or sent by e-mail. `deno task report <dir>` writes it.
 *
 * A file of a resumed study holds several `study` lines (one per server start): the last
 * one describes the study, and each clinic's steps are numbered across the whole file.
 *
 * @example
 * ```ts
 * import { reportHtml } from "./report_html.ts";
 * const html = reportHtml([
 *   { kind: "step", t: 1000, clinic: "a", epoch: 0, step: 1, loss: 0.7, serverSeconds: 0.01, outsideSeconds: null, samples: 8 },
 *   { kind: "step", t: 1100, clinic: "a", epoch: 0, step: 2, loss: 0.6, serverSeconds: 0.01, outsideSeconds: 0.09, samples: 8 },
 * ], "metrics.jsonl");
 * console.log(html.includes('data-series="a" data-points="2"'), html.includes("<script")); // true false
 * ```
 * @module
 */
import type { MetricsLine, StudyLine } from "../metrics/metrics_log.ts";
import type { StepPoint } from "../metrics/study_metrics.ts";
import { SERIES_COLORS } from "./dashboard_page.ts";
import { thin } from "./dashboard_snapshot.ts";
import { lineChartSvg } from "./svg_chart.ts";

/** Most points per curve in the report (longer curves are thinned evenly). */
const MAX_POINTS = 1500;

const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]!);

/** The study's description as a definition list (or a note that the file has none). */
function studySection(study: StudyLine | undefined, starts: number): string {
  if (!study) return "<p>The file holds no study line (written by a server older than the report).</p>";
  const s = study.study;
  const rows: [string, string][] = [
    ["model", `${s.model} (${s.mode})`],
    ["cuts", s.cuts ? s.cuts.join(", ") : "the model's default"],
    ["loss / optimizer", `${s.loss} / ${s.optimizer}`],
    ["engine", s.engine],
    ["schedule", `${s.schedule.kind}: ${s.schedule.order.join(" → ")}, ${s.schedule.epochs ?? "∞"} epoch(s), ${s.schedule.turnsPerEpoch} turn(s) per clinic per epoch`],
    ["reply codec", s.replyCodec],
    ["server defences", s.defences.length ? s.defences.join(", ") : "none"],
    ["cut tensor (what leaves a clinic)", `${s.cut.dtype} [${s.cut.shape.join(" × ")}] per batch${s.mode === "vanilla" ? ", with the batch's labels" : ""}`],
    ["server starts", `${starts} (last ${new Date(study.t).toISOString()})`],
  ];
  return `<dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>`;
}

/** Per clinic: steps, samples, last loss, mean server and outside time per step. */
function clinicTable(names: string[], steps: StepPoint[]): string {
  const ms = (v: number | null) => (v === null ? "–" : `${v.toFixed(1)} ms`);
  const rows = names.map((name) => {
    const mine = steps.filter((p) => p.clinic === name);
    const outside = mine.filter((p) => p.outsideSeconds !== null);
    const last = [...mine].reverse().find((p) => p.loss !== null);
    const mean = (xs: number[]) => (xs.length ? (1000 * xs.reduce((a, b) => a + b, 0)) / xs.length : null);
    return `<tr><td>${esc(name)}</td><td>${mine.length}</td><td>${mine.reduce((a, p) => a + p.samples, 0)}</td>` +
      `<td>${last?.loss?.toFixed(4) ?? "–"}</td><td>${ms(mean(mine.map((p) => p.serverSeconds)))}</td>` +
      `<td>${ms(mean(outside.map((p) => p.outsideSeconds!)))}</td></tr>`;
  });
  return `<table><thead><tr><th>clinic</th><th>steps</th><th>samples</th><th>last loss</th><th>server per step</th>` +
    `<th>clinic + network per step</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/**
 * Renders the lines of a `metrics.jsonl` (`source` names the file in the page).
 *
 * @example
 * ```ts
 * import { reportHtml } from "./report_html.ts";
 * console.log(reportHtml([], "m.jsonl").includes("no data yet")); // true
 * ```
 */
export function reportHtml(lines: readonly MetricsLine[], source: string): string {
  const studies = lines.filter((l): l is StudyLine => l.kind === "study");
  const steps = lines.filter((l): l is StepPoint => l.kind === "step");
  const study = studies.at(-1);
  const names = [...new Set([...(study?.clinics ?? []), ...steps.map((p) => p.clinic)])];
  const t0 = studies[0]?.t ?? steps[0]?.t ?? 0;
  const color = (i: number) => SERIES_COLORS[i % SERIES_COLORS.length];
  const perClinic = (y: (p: StepPoint) => number | null) =>
    names.map((name, i) => ({
      name,
      color: color(i),
      points: thin(
        steps.filter((p) => p.clinic === name).map((p, k) => [k + 1, y(p)] as [number, number | null])
          .filter((p): p is [number, number] => p[1] !== null),
        MAX_POINTS,
      ),
    }));
  const withLoss = steps.filter((p) => p.loss !== null);
  const window = Math.max(4, 2 * names.length);
  const overall = withLoss.map((p, i): [number, number] => {
    const from = Math.max(0, i - window + 1);
    const w = withLoss.slice(from, i + 1);
    return [(p.t - t0) / 1000, w.reduce((a, q) => a + q.loss!, 0) / w.length];
  });
  const charts = [
    lineChartSvg({ title: "training loss per clinic", xLabel: "clinic's step", series: perClinic((p) => p.loss) }),
    lineChartSvg({ title: "training loss, all clinics (moving mean)", xLabel: "seconds since start", series: [{ name: "overall", color: "#333", points: thin(overall, MAX_POINTS) }] }),
    lineChartSvg({ title: "server compute per step (ms)", xLabel: "clinic's step", series: perClinic((p) => 1000 * p.serverSeconds) }),
    lineChartSvg({ title: "clinic compute + network per step (ms)", xLabel: "clinic's step", series: perClinic((p) => p.outsideSeconds === null ? null : 1000 * p.outsideSeconds) }),
  ];
  const span = steps.length ? `${((steps.at(-1)!.t - t0) / 1000).toFixed(1)} s` : "–";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>splitgate study report</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:18px;color:#222}h1{font-size:20px}h2{font-size:15px;margin-top:22px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dt{color:#555}dd{margin:0}
table{border-collapse:collapse}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:12px}</style></head>
<body><h1>splitgate study report</h1>
<p>From ${esc(source)}: ${steps.length} steps over ${esc(span)}. Names, counts and times only — never a record, never an activation.</p>
<h2>Study</h2>${studySection(study, studies.length)}
<h2>Clinics</h2>${clinicTable(names, steps)}
<h2>Charts</h2><div class="charts">${charts.join("\n")}</div>
</body></html>
`;
}
