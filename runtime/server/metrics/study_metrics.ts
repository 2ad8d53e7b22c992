/**
 * What the server measures of a study while it runs, for `GET /metrics`, `GET /dashboard`
 * and the JSON Lines log (`metrics.jsonl` beside the checkpoint): per applied step the
 * clinic, its loss (vanilla mode; in the U-shape the loss is the clinic's), the server's
 * compute time, the time the step spent outside the server (clinic compute and network,
 * measured from the end of that clinic's previous step of the same round), its batch size
 * and the cut tensor's per-batch shape.
 *
 * Only names, numbers and shapes are kept: never an activation, a gradient or a record.
 *
 * @example
 * ```ts
 * import { StudyMetrics } from "./study_metrics.ts";
 * let t = 0;
 * const m = new StudyMetrics({ now: () => t });
 * t = 1000;
 * m.step({ clinic: "a", epoch: 0, loss: 0.69, seconds: 0.01, samples: 8, cutDims: [8, 16, 4, 4] });
 * t = 1050;
 * m.step({ clinic: "a", epoch: 0, loss: 0.6, seconds: 0.01, samples: 8, cutDims: [8, 16, 4, 4] });
 * const a = m.clinic("a")!;
 * console.log(a.steps, a.lastLoss, a.outsideSeconds.toFixed(2)); // 2 0.6 0.04
 * ```
 * @module
 */
import { Histogram, STEP_SECONDS_BUCKETS } from "./histogram.ts";

/**
 * One applied step, as kept in memory and written to `metrics.jsonl` (`kind: "step"`).
 *
 * @example
 * ```ts
 * import type { StepPoint } from "./study_metrics.ts";
 * const p: StepPoint = { kind: "step", t: 0, clinic: "a", epoch: 0, step: 1, loss: 0.7, serverSeconds: 0.01, outsideSeconds: null, samples: 8 };
 * ```
 */
export interface StepPoint {
  kind: "step";
  /** When the step was applied (ms since the epoch, the server's clock). */
  t: number;
  clinic: string;
  /** The schedule's round of the step. */
  epoch: number;
  /** The clinic's steps applied so far (this one included; counted since the server started). */
  step: number;
  /** The batch's mean loss (null in the U-shape: the clinic computes it). */
  loss: number | null;
  /** Server compute of the step (U-shape: both halves), seconds. */
  serverSeconds: number;
  /** Clinic compute and network since the clinic's previous step of the round, seconds (null for a round's first). */
  outsideSeconds: number | null;
  samples: number;
}

/**
 * One clinic's totals.
 *
 * @example
 * ```ts
 * import type { ClinicMetrics } from "./study_metrics.ts";
 * function mean(c: ClinicMetrics) { return c.serverSeconds / Math.max(1, c.steps); }
 * ```
 */
export interface ClinicMetrics {
  steps: number;
  lastLoss: number | null;
  lastEpoch: number | null;
  /** When its last step was applied (ms since the epoch). */
  lastStepAt: number | null;
  /** Bytes the received cut tensors take as float32 (for the compression ratio against the wire). */
  cutFloat32Bytes: number;
  /** The last cut tensor's shape, batch first. */
  cutDims: number[] | null;
  serverSeconds: number;
  outsideSeconds: number;
  /** Steps with a measured `outsideSeconds`. */
  outsideCount: number;
}

/**
 * A step as the handler reports it.
 *
 * @example
 * ```ts
 * import type { StepReport } from "./study_metrics.ts";
 * const r: StepReport = { clinic: "a", epoch: 0, loss: null, seconds: 0.002, samples: 4, cutDims: [4, 10] };
 * ```
 */
export interface StepReport {
  clinic: string;
  epoch: number;
  loss: number | null;
  /** Server compute of this request, seconds. */
  seconds: number;
  samples: number;
  /** The cut tensor's shape (U-shape: left out, the middle forward's is taken). */
  cutDims?: readonly number[];
}

/** Options of {@linkcode StudyMetrics}. */
export interface StudyMetricsOptions {
  now?: () => number;
  /** Most step points kept in memory for the charts (older ones are dropped; default 5000). */
  maxPoints?: number;
  /** Receives every step point (the JSON Lines log). */
  sink?: (p: StepPoint) => void;
}

/**
 * The recorder.
 *
 * @example
 * ```ts
 * import { StudyMetrics } from "./study_metrics.ts";
 * const m = new StudyMetrics();
 * m.forwardDone("a", 0.002, [4, 10]); // U-shape: the middle forward's share of the next step
 * m.step({ clinic: "a", epoch: 0, loss: null, seconds: 0.003, samples: 4 });
 * console.log(m.clinic("a")!.serverSeconds.toFixed(3), m.stepSeconds.count); // 0.005 1
 * ```
 */
export class StudyMetrics {
  readonly #now: () => number;
  readonly #maxPoints: number;
  readonly #sink: ((p: StepPoint) => void) | undefined;
  readonly #clinics = new Map<string, ClinicMetrics>();
  readonly #forward = new Map<string, { seconds: number; cutDims: readonly number[] }>();
  readonly #points: StepPoint[] = [];
  /** Server compute per step (`splitgate_step_seconds`). */
  readonly stepSeconds: Histogram = new Histogram(STEP_SECONDS_BUCKETS);
  /** When the recorder started (ms since the epoch). */
  readonly startedAt: number;
  /** Seconds the server spent computing steps. */
  busySeconds = 0;
  /** Grows with every recorded step (a cheap "anything new?" for the live view). */
  version = 0;

  constructor(o: StudyMetricsOptions = {}) {
    this.#now = o.now ?? (() => Date.now());
    this.#maxPoints = o.maxPoints ?? 5000;
    this.#sink = o.sink;
    this.startedAt = this.#now();
  }

  /** U-shape: the middle forward of `clinic`'s next step took `seconds` on a cut tensor of shape `cutDims`. */
  forwardDone(clinic: string, seconds: number, cutDims: readonly number[]): void {
    this.#forward.set(clinic, { seconds, cutDims: [...cutDims] });
    this.busySeconds += seconds;
  }

  /** Records an applied step. */
  step(r: StepReport): void {
    const t = this.#now();
    const c = this.#clinicOrNew(r.clinic);
    const fwd = this.#forward.get(r.clinic);
    this.#forward.delete(r.clinic);
    const serverSeconds = r.seconds + (fwd?.seconds ?? 0);
    const cutDims = r.cutDims ?? fwd?.cutDims ?? [];
    // The time since this clinic's previous step ended that the server did not spend on
    // this step: the clinic's backward/forward passes and both network legs.
    const outsideSeconds = c.lastStepAt !== null && c.lastEpoch === r.epoch
      ? Math.max(0, (t - c.lastStepAt) / 1000 - serverSeconds)
      : null;
    c.steps++;
    c.lastLoss = r.loss;
    c.lastEpoch = r.epoch;
    c.lastStepAt = t;
    if (cutDims.length > 0) {
      c.cutDims = [...cutDims];
      c.cutFloat32Bytes += 4 * cutDims.reduce((a, b) => a * b, 1);
    }
    c.serverSeconds += serverSeconds;
    if (outsideSeconds !== null) {
      c.outsideSeconds += outsideSeconds;
      c.outsideCount++;
    }
    this.busySeconds += r.seconds;
    this.stepSeconds.observe(serverSeconds);
    const p: StepPoint = { kind: "step", t, clinic: r.clinic, epoch: r.epoch, step: c.steps, loss: r.loss, serverSeconds, outsideSeconds, samples: r.samples };
    this.#points.push(p);
    if (this.#points.length > this.#maxPoints) this.#points.shift();
    this.version++;
    this.#sink?.(p);
  }

  /** The totals of `clinic` (undefined before its first step). */
  clinic(name: string): Readonly<ClinicMetrics> | undefined {
    return this.#clinics.get(name);
  }

  /** The recent step points, oldest first. */
  points(): readonly StepPoint[] {
    return this.#points;
  }

  /** Fraction of the time since the start the server spent computing steps (0..1). */
  busyRatio(): number {
    const wall = (this.#now() - this.startedAt) / 1000;
    return wall > 0 ? Math.min(1, this.busySeconds / wall) : 0;
  }

  #clinicOrNew(name: string): ClinicMetrics {
    let c = this.#clinics.get(name);
    if (!c) {
      c = {
        steps: 0,
        lastLoss: null,
        lastEpoch: null,
        lastStepAt: null,
        cutFloat32Bytes: 0,
        cutDims: null,
        serverSeconds: 0,
        outsideSeconds: 0,
        outsideCount: 0,
      };
      this.#clinics.set(name, c);
    }
    return c;
  }
}
