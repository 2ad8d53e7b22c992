/**
 * `GET /metrics` as Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/
 * exposition_formats, "Text-based format"): per metric a `# HELP` and a `# TYPE` line, then
 * `name{label="value",…} number` samples; label values escape `\`, `"` and newlines. Names
 * follow the naming conventions (prometheus.io/docs/practices/naming): a `splitgate_`
 * prefix, base units (seconds, bytes), `_total` on counters, `_ratio` on 0..1 gauges.
 *
 * The counts come from the same {@linkcode ServerStatus} as `GET /v1/status`, so the two
 * agree: `splitgate_steps_total{clinic}` is a clinic's `steps`, and
 * `splitgate_wire_bytes_total{clinic,direction="in"|"out"}` its `bytesIn`/`bytesOut`.
 *
 * @example
 * ```ts
 * import { prometheusText } from "./prometheus_text.ts";
 * import { StudyMetrics } from "./study_metrics.ts";
 * const text = prometheusText({
 *   status: { clinics: [{ name: "a", online: true, steps: 3, bytesIn: 10, bytesOut: 20 }], epoch: 0, step: 3, turn: "a", finished: false, samplesPerSec: 0 },
 *   metrics: new StudyMetrics(), engine: "wasm", mode: "vanilla",
 * });
 * console.log(text.split("\n").find((l) => l.startsWith("splitgate_steps_total"))); // splitgate_steps_total{clinic="a"} 3
 * ```
 * @module
 */
import type { ServerStatus } from "../server_status.ts";
import type { StudyMetrics } from "./study_metrics.ts";

/**
 * What the exposition is made of.
 *
 * @example
 * ```ts
 * import type { MetricsSource } from "./prometheus_text.ts";
 * function steps(s: MetricsSource) { return s.status.step; }
 * ```
 */
export interface MetricsSource {
  status: ServerStatus;
  metrics: StudyMetrics;
  engine: string;
  mode: string;
  /** Resident memory of the process in bytes (default: `Deno.memoryUsage().rss`). */
  rssBytes?: number;
}

type Labels = Record<string, string>;

/**
 * Escapes a label value (exposition format: backslash, double quote and line feed).
 *
 * @example
 * ```ts
 * import { escapeLabelValue } from "./prometheus_text.ts";
 * console.log(escapeLabelValue('a"b\\c\nd')); // a\"b\\c\nd
 * ```
 */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A sample value: integers as they are, `+Inf`/`-Inf`/`NaN` spelled as the format wants. */
function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Collects metric families in order. */
class Exposition {
  readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, v: number): this {
    const l = Object.entries(labels).map(([k, x]) => `${k}="${escapeLabelValue(x)}"`).join(",");
    this.lines.push(`${name}${l ? `{${l}}` : ""} ${num(v)}`);
    return this;
  }
}

/**
 * Renders the exposition.
 *
 * @example
 * ```ts
 * import { prometheusText } from "./prometheus_text.ts";
 * import { StudyMetrics } from "./study_metrics.ts";
 * const m = new StudyMetrics();
 * m.step({ clinic: "a", epoch: 0, loss: 0.5, seconds: 0.003, samples: 8, cutDims: [8, 4] });
 * const text = prometheusText({ status: { clinics: [], epoch: 0, step: 1, turn: null, finished: true, samplesPerSec: 0 }, metrics: m, engine: "native", mode: "vanilla", rssBytes: 1 });
 * console.log(text.includes('splitgate_step_seconds_bucket{le="0.005"} 1')); // true
 * ```
 */
export function prometheusText(s: MetricsSource): string {
  const { status, metrics } = s;
  const e = new Exposition();
  e.family("splitgate_info", "gauge", "The server's engine and split mode (always 1).")
    .sample("splitgate_info", { engine: s.engine, mode: s.mode }, 1);
  e.family("splitgate_clinic_online", "gauge", "1 when the clinic has a live session and was heard from within the turn timeout.");
  for (const c of status.clinics) e.sample("splitgate_clinic_online", { clinic: c.name }, c.online ? 1 : 0);
  e.family("splitgate_steps_total", "counter", "Training steps applied, per clinic.");
  for (const c of status.clinics) e.sample("splitgate_steps_total", { clinic: c.name }, c.steps);
  e.family("splitgate_wire_bytes_total", "counter", "Encrypted request (in) and reply (out) bytes on the wire, per clinic.");
  for (const c of status.clinics) {
    e.sample("splitgate_wire_bytes_total", { clinic: c.name, direction: "in" }, c.bytesIn);
    e.sample("splitgate_wire_bytes_total", { clinic: c.name, direction: "out" }, c.bytesOut);
  }
  const own = status.clinics.map((c) => [c.name, metrics.clinic(c.name)] as const);
  e.family("splitgate_cut_float32_bytes_total", "counter", "Bytes the received cut tensors take as float32, per clinic (against wire bytes in: the compression).");
  for (const [name, m] of own) e.sample("splitgate_cut_float32_bytes_total", { clinic: name }, m?.cutFloat32Bytes ?? 0);
  e.family("splitgate_step_loss", "gauge", "Mean loss of the clinic's last step (vanilla mode).");
  for (const [name, m] of own) if (m?.lastLoss != null) e.sample("splitgate_step_loss", { clinic: name }, m.lastLoss);
  e.family("splitgate_step_outside_server_seconds_total", "counter", "Time between a clinic's consecutive steps the server did not spend on them (clinic compute and network).");
  for (const [name, m] of own) e.sample("splitgate_step_outside_server_seconds_total", { clinic: name }, m?.outsideSeconds ?? 0);
  stepHistogram(e, metrics);
  e.family("splitgate_training_steps_total", "counter", "Training steps applied, all clinics.").sample("splitgate_training_steps_total", {}, status.step);
  e.family("splitgate_round", "gauge", "The schedule's round (a data epoch when clinics take one turn per epoch).").sample("splitgate_round", {}, status.epoch);
  e.family("splitgate_training_finished", "gauge", "1 once the schedule has run all its rounds.").sample("splitgate_training_finished", {}, status.finished ? 1 : 0);
  e.family("splitgate_samples_per_second", "gauge", "Training samples per second over the recent steps.").sample("splitgate_samples_per_second", {}, status.samplesPerSec);
  e.family("splitgate_server_busy_ratio", "gauge", "Fraction of the time since start the server spent computing steps.").sample("splitgate_server_busy_ratio", {}, metrics.busyRatio());
  e.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
    .sample("process_resident_memory_bytes", {}, s.rssBytes ?? Deno.memoryUsage().rss);
  return e.lines.join("\n") + "\n";
}

/** `splitgate_step_seconds`: server compute per step, as a histogram. */
function stepHistogram(e: Exposition, metrics: StudyMetrics): void {
  const h = metrics.stepSeconds;
  e.family("splitgate_step_seconds", "histogram", "Server compute per training step (U-shape: both halves).");
  const counts = h.cumulative();
  h.bounds.forEach((b, i) => e.sample("splitgate_step_seconds_bucket", { le: String(b) }, counts[i]));
  e.sample("splitgate_step_seconds_bucket", { le: "+Inf" }, counts[counts.length - 1]);
  e.sample("splitgate_step_seconds_sum", {}, h.sum);
  e.sample("splitgate_step_seconds_count", {}, h.count);
}
