/**
 * The page of `GET /dashboard`: one HTML document with its style and script inline, and
 * nothing fetched from elsewhere (hospital networks often reach no CDN): no external script,
 * stylesheet or font. The script subscribes to `GET /dashboard/events` (Server-Sent Events,
 * WHATWG HTML §9.2) and redraws on each update; its charts are drawn by
 * {@linkcode lineChartSvg}, whose own source the page embeds.
 *
 * Elements the browser test reads: `tr[data-clinic]` (cells `.steps`, `.state`), the
 * charts' `path[data-series]`, and `#updates` (updates received).
 *
 * @example
 * ```ts
 * import { dashboardHtml } from "./dashboard_page.ts";
 * const html = dashboardHtml();
 * console.log(html.includes("/dashboard/events"), /<script[^>]+src=/.test(html)); // true false
 * ```
 * @module
 */
import { lineChartSvg } from "./svg_chart.ts";

/** Colours of the clinics' curves (a colour-blind-safe qualitative palette, Okabe–Ito). */
export const SERIES_COLORS: readonly string[] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222}
header{background:#1d3557;color:#fff;padding:10px 18px}header h1{font-size:18px;margin:0}
header .sub{font-size:12px;opacity:.85}main{padding:12px 18px;display:grid;gap:12px;grid-template-columns:repeat(auto-fit,minmax(560px,1fr))}
section{background:#fff;border-radius:6px;padding:10px 12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
section.wide{grid-column:1/-1}h2{font-size:14px;margin:0 0 8px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:right;padding:3px 6px;border-bottom:1px solid #eee}th:first-child,td:first-child{text-align:left}
.state{font-weight:600}.training{color:#0a7d32}.waiting{color:#8a6d00}.dropped{color:#b00020}.done{color:#555}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0;font-size:13px}dt{color:#555}dd{margin:0}
.bar{display:flex;height:14px;border-radius:3px;overflow:hidden;background:#eee;min-width:160px}.bar span{display:block}
.leaves{border-left:4px solid #0a7d32}footer{padding:0 18px 12px;font-size:12px;color:#555}`;

/** The page's script (runs in the browser; `lineChartSvg` and `COLORS` are defined before it). */
const SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]);
const mib = (n) => (n / 1048576).toFixed(2) + " MiB";
const ms = (v) => v === null ? "–" : v.toFixed(1) + " ms";
let updates = 0;
function row(c) {
  const cut = c.lastCutDims ? "[" + c.lastCutDims.join("×") + "]" : "–";
  return '<tr data-clinic="' + esc(c.name) + '"><td>' + esc(c.name) + '</td><td class="state ' + c.state.replace(" ", "-") + '">' + c.state +
    '</td><td class="steps">' + c.steps + "</td><td>" + (c.round ?? "–") + "</td><td>" +
    (c.lastSeenSecondsAgo === null ? "never" : c.lastSeenSecondsAgo.toFixed(0) + " s ago") + "</td><td>" + mib(c.bytesIn) + "</td><td>" + mib(c.bytesOut) +
    "</td><td>" + (c.compressionRatio === null ? "–" : c.compressionRatio.toFixed(2) + "×") + "</td><td>" + (c.lastLoss === null ? "–" : c.lastLoss.toFixed(4)) +
    "</td><td>" + cut + "</td></tr>";
}
function timing(c, i) {
  const a = c.meanOutsideMs ?? 0, b = c.meanServerMs ?? 0, t = a + b || 1;
  return "<tr><td>" + esc(c.name) + '</td><td><div class="bar"><span style="width:' + (100 * a / t) + "%;background:" + COLORS[i % COLORS.length] +
    '" title="clinic compute + network"></span><span style="width:' + (100 * b / t) + '%;background:#888" title="server compute"></span></div></td><td>' +
    ms(c.meanOutsideMs) + "</td><td>" + ms(c.meanServerMs) + "</td></tr>";
}
function render(s) {
  const st = s.study;
  $("study").innerHTML = "<dl><dt>model</dt><dd>" + esc(st.model) + " (" + esc(st.mode) + ")</dd><dt>cuts</dt><dd>" + esc(st.cuts ? st.cuts.join(", ") : "the model's default") +
    "</dd><dt>loss / optimizer</dt><dd>" + esc(st.loss) + " / " + esc(st.optimizer) + "</dd><dt>schedule</dt><dd>" + esc(st.schedule.kind) + ": " + esc(st.schedule.order.join(" → ")) +
    ", " + (st.schedule.epochs ?? "∞") + " epoch(s), " + st.schedule.turnsPerEpoch + " turn(s) per clinic per epoch</dd><dt>reply codec</dt><dd>" + esc(st.replyCodec) +
    "</dd><dt>server defences</dt><dd>" + esc(st.defences.length ? st.defences.join(", ") : "none") + "</dd></dl>";
  $("leaves").innerHTML = "<dl><dt>cut tensor</dt><dd>" + esc(st.cut.dtype) + " [" + esc(st.cut.shape.join(" × ")) + "] per batch (N = batch size)" +
    "</dd><dt>and</dt><dd>" + (st.mode === "vanilla" ? "the batch's labels" : "nothing else: labels and the head stay at the clinic") +
    "</dd><dt>never</dt><dd>a record, an image, the clinic's own weights in readable form</dd><dt>on the wire</dt><dd>Noise-encrypted; clinic-side defences (noise, NoPeek) are set in each clinic's config</dd></dl>";
  const sv = s.server;
  $("server").innerHTML = "<dl><dt>round / step</dt><dd>" + sv.epoch + " / " + sv.step + (sv.finished ? " (finished)" : "") + "</dd><dt>turn</dt><dd>" + esc(sv.turn ?? "–") +
    "</dd><dt>engine</dt><dd>" + esc(st.engine) + "</dd><dt>busy</dt><dd>" + (100 * sv.busyRatio).toFixed(1) + " % of " + sv.uptimeSeconds.toFixed(0) + " s</dd><dt>throughput</dt><dd>" +
    sv.samplesPerSec.toFixed(0) + " samples/s</dd><dt>memory</dt><dd>" + mib(sv.rssBytes) + " resident, " + mib(sv.heapUsedBytes) + " JS heap</dd></dl>";
  $("clinics").innerHTML = s.clinics.map(row).join("");
  $("timing").innerHTML = s.clinics.map(timing).join("");
  // Against each clinic's own step count: a clinic's curve does not bridge the others' turns.
  $("loss").innerHTML = lineChartSvg({ title: "training loss per clinic", xLabel: "clinic's step", series: s.curves.map((c, i) => ({ name: c.clinic, color: COLORS[i % COLORS.length], points: c.points.map((p) => [p[1], p[2]]) })) });
  $("overall").innerHTML = lineChartSvg({ title: "training loss, all clinics (moving mean)", xLabel: "seconds since start", series: [{ name: "overall", color: "#333", points: s.overall }] });
  $("updates").textContent = String(++updates);
  $("updated").textContent = new Date(s.at).toLocaleTimeString();
}
const events = new EventSource("/dashboard/events");
events.onmessage = (e) => render(JSON.parse(e.data));
events.onerror = () => { $("live").textContent = "reconnecting…"; };
events.onopen = () => { $("live").textContent = "live"; };
`;

/**
 * The page.
 *
 * @example
 * ```ts
 * import { dashboardHtml } from "./dashboard_page.ts";
 * console.log(dashboardHtml().startsWith("<!doctype html>")); // true
 * ```
 */
export function dashboardHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>splitgate dashboard</title><style>${STYLE}</style></head>
<body><header><h1>splitgate study dashboard</h1><div class="sub"><span id="live">connecting…</span> · updates <span id="updates">0</span> · last <span id="updated">–</span></div></header>
<main>
<section><h2>Study</h2><div id="study"></div></section>
<section class="leaves"><h2>What leaves each clinic</h2><div id="leaves"></div></section>
<section class="wide"><h2>Clinics</h2><table><thead><tr><th>clinic</th><th>state</th><th>steps</th><th>round</th><th>last seen</th><th>bytes up</th><th>bytes down</th><th>compression</th><th>last loss</th><th>cut tensor sent</th></tr></thead><tbody id="clinics"></tbody></table></section>
<section><div id="loss"></div></section>
<section><div id="overall"></div></section>
<section><h2>Where a step's time goes (mean per step)</h2><table><thead><tr><th>clinic</th><th>clinic compute + network │ server</th><th>clinic + network</th><th>server</th></tr></thead><tbody id="timing"></tbody></table></section>
<section><h2>Server</h2><div id="server"></div></section>
</main>
<footer>Served by the splitgate server; no external scripts or fonts. Shows names, counts, shapes and times only — never a record, never an activation.</footer>
<noscript>This page needs JavaScript for its live view; GET /dashboard/state.json gives the same data.</noscript>
<script>const COLORS = ${JSON.stringify(SERIES_COLORS)};
${lineChartSvg.toString()}
${SCRIPT}</script>
</body></html>
`;
}
