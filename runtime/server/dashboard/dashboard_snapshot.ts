/**
 * The body of one live update of `GET /dashboard` (an SSE `data:` line, and
 * `GET /dashboard/state.json`): the study, the server, each clinic's state and totals, and
 * the loss curves. It is built from the same {@linkcode ServerStatus} as `GET /v1/status`
 * and the {@linkcode StudyMetrics}; it holds names, counts, shapes and times, never a
 * record or an activation.
 *
 * A clinic is `training` while it holds the turn and is online, `waiting` when online
 * otherwise, `dropped` when it was heard from but is no longer online, `not connected`
 * before it was ever heard from, and `done` once training finished.
 *
 * @example
 * ```ts
 * import { clinicState } from "./dashboard_snapshot.ts";
 * console.log(clinicState({ online: true, holder: true, seen: true, finished: false })); // training
 * console.log(clinicState({ online: false, holder: true, seen: true, finished: false })); // dropped
 * ```
 * @module
 */
import type { StudyInfo } from "../metrics/study_info.ts";
import type { StudyMetrics } from "../metrics/study_metrics.ts";
import type { ServerStatus } from "../server_status.ts";

/**
 * One clinic's row.
 *
 * @example
 * ```ts
 * import type { ClinicView } from "./dashboard_snapshot.ts";
 * function ratio(c: ClinicView) { return c.compressionRatio ?? 1; }
 * ```
 */
export interface ClinicView {
  name: string;
  state: "training" | "waiting" | "dropped" | "not connected" | "done";
  steps: number;
  /** The round of its last step (null before one). */
  round: number | null;
  lastSeenSecondsAgo: number | null;
  bytesIn: number;
  bytesOut: number;
  /** float32 size of the cut tensors received ÷ request bytes on the wire (null before a step). */
  compressionRatio: number | null;
  lastLoss: number | null;
  meanServerMs: number | null;
  /** Mean time between its steps that the server did not spend (clinic compute + network). */
  meanOutsideMs: number | null;
  /** The last cut tensor it sent: its shape, batch first. */
  lastCutDims: number[] | null;
}

/**
 * A live update.
 *
 * @example
 * ```ts
 * import type { DashboardSnapshot } from "./dashboard_snapshot.ts";
 * function total(s: DashboardSnapshot) { return s.server.step; }
 * ```
 */
export interface DashboardSnapshot {
  /** Server time of the snapshot (ms since the epoch). */
  at: number;
  study: StudyInfo;
  server: {
    epoch: number;
    step: number;
    turn: string | null;
    finished: boolean;
    samplesPerSec: number;
    busyRatio: number;
    rssBytes: number;
    heapUsedBytes: number;
    uptimeSeconds: number;
  };
  clinics: ClinicView[];
  /** Loss per clinic: `[seconds since start, clinic step, loss]`, at most {@linkcode MAX_CURVE_POINTS}. */
  curves: { clinic: string; points: [number, number, number][] }[];
  /** All clinics' losses in arrival order, as a moving mean: `[seconds since start, loss]`. */
  overall: [number, number][];
}

/** Most points of one curve sent to the browser (longer curves are thinned evenly). */
export const MAX_CURVE_POINTS = 400;

/**
 * The state of a clinic's row.
 *
 * @example
 * ```ts
 * import { clinicState } from "./dashboard_snapshot.ts";
 * console.log(clinicState({ online: false, holder: false, seen: false, finished: false })); // not connected
 * ```
 */
export function clinicState(o: { online: boolean; holder: boolean; seen: boolean; finished: boolean }): ClinicView["state"] {
  if (o.finished) return "done";
  if (o.online) return o.holder ? "training" : "waiting";
  return o.seen ? "dropped" : "not connected";
}

/**
 * Keeps at most `max` of `xs`, evenly spaced, the last always included.
 *
 * @example
 * ```ts
 * import { thin } from "./dashboard_snapshot.ts";
 * console.log(thin([1, 2, 3, 4, 5, 6, 7], 3)); // [1, 4, 7]
 * ```
 */
export function thin<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const out: T[] = [];
  const stride = (xs.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(xs[Math.round(i * stride)]);
  return out;
}

/**
 * Builds a snapshot.
 *
 * @example
 * ```ts
 * import { dashboardSnapshot } from "./dashboard_snapshot.ts";
 * import { StudyMetrics } from "../metrics/study_metrics.ts";
 * import { studyInfo } from "../metrics/study_info.ts";
 * const study = studyInfo({ mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 }, model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } } },
 *   { order: ["a"], turnsPerEpoch: 1, labelProtection: "none", cut: { dtype: "float32", shape: ["N", 4] } });
 * const s = dashboardSnapshot({
 *   status: { clinics: [{ name: "a", online: true, steps: 0, bytesIn: 0, bytesOut: 0 }], epoch: 0, step: 0, turn: "a", finished: false, samplesPerSec: 0 },
 *   metrics: new StudyMetrics(), study, lastSeen: () => Date.now(), now: Date.now(),
 * });
 * console.log(s.clinics[0].state); // training
 * ```
 */
export function dashboardSnapshot(o: {
  status: ServerStatus;
  metrics: StudyMetrics;
  study: StudyInfo;
  /** When the clinic was last heard from (ms since the epoch), null: never. */
  lastSeen: (clinic: string) => number | null;
  now: number;
}): DashboardSnapshot {
  const { status, metrics, now } = o;
  const mem = Deno.memoryUsage();
  const t0 = metrics.startedAt;
  const clinics = status.clinics.map((c): ClinicView => {
    const m = metrics.clinic(c.name);
    const seen = o.lastSeen(c.name);
    return {
      name: c.name,
      state: clinicState({ online: c.online, holder: status.turn === c.name, seen: seen !== null, finished: status.finished }),
      steps: c.steps,
      round: m?.lastEpoch ?? null,
      lastSeenSecondsAgo: seen === null ? null : Math.max(0, (now - seen) / 1000),
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      compressionRatio: m && m.cutFloat32Bytes > 0 && c.bytesIn > 0 ? m.cutFloat32Bytes / c.bytesIn : null,
      lastLoss: m?.lastLoss ?? null,
      meanServerMs: m && m.steps > 0 ? (1000 * m.serverSeconds) / m.steps : null,
      meanOutsideMs: m && m.outsideCount > 0 ? (1000 * m.outsideSeconds) / m.outsideCount : null,
      lastCutDims: m?.cutDims ?? null,
    };
  });
  const withLoss = metrics.points().filter((p) => p.loss !== null);
  const curves = status.clinics.map((c) => ({
    clinic: c.name,
    points: thin(withLoss.filter((p) => p.clinic === c.name), MAX_CURVE_POINTS)
      .map((p): [number, number, number] => [(p.t - t0) / 1000, p.step, p.loss!]),
  }));
  // A window of a few steps per clinic smooths the alternation between clinics' data.
  const window = Math.max(4, 2 * status.clinics.length);
  let sum = 0;
  const overall = withLoss.map((p, i): [number, number] => {
    sum += p.loss! - (i >= window ? withLoss[i - window].loss! : 0);
    return [(p.t - t0) / 1000, sum / Math.min(i + 1, window)];
  });
  return {
    at: now,
    study: o.study,
    server: {
      epoch: status.epoch,
      step: status.step,
      turn: status.turn,
      finished: status.finished,
      samplesPerSec: status.samplesPerSec,
      busyRatio: metrics.busyRatio(),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      uptimeSeconds: (now - t0) / 1000,
    },
    clinics,
    curves,
    overall: thin(overall, MAX_CURVE_POINTS),
  };
}
