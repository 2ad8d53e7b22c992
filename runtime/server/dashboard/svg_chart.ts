/**
 * A line chart as an SVG string: the one drawing routine of the live dashboard (which runs
 * it in the browser: the page embeds this function's own source, so there is no charting
 * script to fetch) and of the static report (`deno task report`), so both draw the same
 * charts. Self-contained on purpose: it may use nothing outside its own body.
 *
 * @example
 * ```ts
 * import { lineChartSvg } from "./svg_chart.ts";
 * const svg = lineChartSvg({ title: "loss", series: [{ name: "a", color: "#1f77b4", points: [[0, 0.7], [1, 0.5]] }] });
 * console.log(svg.startsWith("<svg"), svg.includes('data-series="a"')); // true true
 * ```
 * @module
 */

/**
 * A chart's content.
 *
 * @example
 * ```ts
 * import type { LineChart } from "./svg_chart.ts";
 * const c: LineChart = { title: "loss", xLabel: "s", series: [] };
 * ```
 */
export interface LineChart {
  title: string;
  xLabel?: string;
  series: { name: string; color: string; points: readonly (readonly [number, number])[] }[];
  width?: number;
  height?: number;
}

/**
 * Draws `c` (each series a `<path data-series="name" data-points="n">`, axes with min/max
 * ticks, a legend); with no points, an empty frame saying "no data yet".
 *
 * @example
 * ```ts
 * import { lineChartSvg } from "./svg_chart.ts";
 * console.log(lineChartSvg({ title: "t", series: [] }).includes("no data yet")); // true
 * ```
 */
export function lineChartSvg(c: LineChart): string {
  const w = c.width ?? 560, h = c.height ?? 240;
  const left = 52, right = 12, top = 26, bottom = 34;
  const esc = (s: string) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const fmt = (v: number) => Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(1) : String(Number(v.toPrecision(3)));
  const all = c.series.flatMap((s) => s.points);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(c.title)}">` +
    `<rect x="0" y="0" width="${w}" height="${h}" fill="#fff"/>` +
    `<text x="${left}" y="16" font-size="13" font-weight="bold" fill="#222">${esc(c.title)}</text>`;
  if (all.length === 0) {
    return head + `<text x="${w / 2}" y="${h / 2}" font-size="12" fill="#888" text-anchor="middle">no data yet</text></svg>`;
  }
  const x0 = Math.min(...all.map((p) => p[0]));
  let x1 = Math.max(...all.map((p) => p[0]));
  let y0 = Math.min(...all.map((p) => p[1])), y1 = Math.max(...all.map((p) => p[1]));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) (y0 -= 0.5, y1 += 0.5);
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (w - left - right);
  const py = (y: number) => top + (1 - (y - y0) / (y1 - y0)) * (h - top - bottom);
  let out = head +
    `<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#999"/>` +
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#999"/>` +
    `<text x="${left - 4}" y="${top + 4}" font-size="10" text-anchor="end" fill="#555">${fmt(y1)}</text>` +
    `<text x="${left - 4}" y="${h - bottom}" font-size="10" text-anchor="end" fill="#555">${fmt(y0)}</text>` +
    `<text x="${left}" y="${h - bottom + 13}" font-size="10" fill="#555">${fmt(x0)}</text>` +
    `<text x="${w - right}" y="${h - bottom + 13}" font-size="10" text-anchor="end" fill="#555">${fmt(x1)}</text>`;
  if (c.xLabel) out += `<text x="${(left + w - right) / 2}" y="${h - 6}" font-size="10" text-anchor="middle" fill="#555">${esc(c.xLabel)}</text>`;
  c.series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, k) => `${k === 0 ? "M" : "L"}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join("");
      out += `<path data-series="${esc(s.name)}" data-points="${s.points.length}" d="${d}" fill="none" stroke="${esc(s.color)}" stroke-width="1.6"/>`;
    }
    const lx = w - right - 150, ly = top + 4 + i * 14;
    out += `<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${esc(s.color)}"/>` +
      `<text x="${lx + 14}" y="${ly - 3}" font-size="10" fill="#333">${esc(s.name)}</text>`;
  });
  return out + "</svg>";
}
