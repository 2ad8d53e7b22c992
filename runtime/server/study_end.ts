/**
 * The end of a study: once the last epoch is done the server writes the final metrics and
 * the server segment's trained weights into `<checkpointDir>/final/`, tells each clinic the
 * study is finished (`TURN` with `finished`), and counts the clinics that have left (`LEAVE`,
 * sent once a clinic has taken the final weights and evaluated). The CLI
 * (`runtime/cli/server.ts`) stops the server when every clinic has left, or when none has
 * been heard from for the turn timeout (a clinic that was offline at the end), and exits 0.
 *
 * Files written (each atomically, once):
 * - `final/metrics.json`: the study (id, digest), when it finished, rounds and epochs, steps
 *   per clinic and in all, each clinic's last training loss, and the mean training loss of
 *   each round over the steps this server process saw (vanilla mode; null in the U-shape,
 *   where the clinics compute the loss);
 * - `final/server_segment.npz`: the server segment's parameters and buffers by initializer
 *   name (float32; the clinics hold their own segments, and `client predict --export`
 *   assembles the full model).
 *
 * @example
 * ```ts
 * import { StudyEnd } from "./study_end.ts";
 * // const end = new StudyEnd({ state, metrics, rounds, log });
 * // state.afterCheckpoint = () => end.afterCheckpoint();
 * ```
 * (tests/runtime/server/study_end_test.ts serves as the running example.)
 * @module
 */
import { join } from "node:path";
import type { Tensor } from "../../models/tensor.ts";
import { writeNpz } from "../data/npz.ts";
import { writeFileAtomic } from "../fs/atomic_file.ts";
import type { PublishedStudy } from "../study/published_study.ts";
import type { StudyMetrics } from "./metrics/study_metrics.ts";
import { epochsDone, type RoundNaming } from "./round_label.ts";
import type { ServerState } from "./server_state.ts";

/** The folder of the final files inside the checkpoint directory. */
export const FINAL_DIR = "final";

/**
 * Options of {@linkcode StudyEnd}.
 *
 * @example
 * ```ts
 * import type { StudyEndOptions } from "./study_end.ts";
 * function log(o: StudyEndOptions) { return o.log; }
 * ```
 */
export interface StudyEndOptions {
  state: ServerState;
  rounds: RoundNaming;
  metrics?: StudyMetrics;
  study?: PublishedStudy;
  now: () => number;
  log: (line: string) => void;
}

/**
 * Tracks the end of the study.
 *
 * @example
 * ```ts
 * import type { StudyEnd } from "./study_end.ts";
 * function done(e: StudyEnd) { return e.allLeft; }
 * ```
 */
export class StudyEnd {
  readonly #o: StudyEndOptions;
  readonly #left = new Set<string>();
  #finalWritten = false;
  /** When this process first saw the study finished (ms). */
  #finishedAt: number | null = null;

  constructor(o: StudyEndOptions) {
    this.#o = o;
  }

  /** Whether the study is finished (every epoch done). */
  get finished(): boolean {
    return this.#o.state.schedule.finished;
  }

  /** The clinics of the turn order that have not left. */
  get waitingFor(): string[] {
    return this.#o.state.schedule.order.filter((n) => !this.#left.has(n));
  }

  /** Whether the study is finished and every clinic of the turn order has left. */
  get allLeft(): boolean {
    return this.finished && this.waitingFor.length === 0;
  }

  /**
   * Why the server may stop now, or null: `"all-left"` when every clinic has left the
   * finished study, `"idle"` when it is finished and no clinic was heard from for `idleMs`
   * (since the last request, or since the end when later).
   *
   * @example
   * ```ts
   * import type { StudyEnd } from "./study_end.ts";
   * function check(e: StudyEnd) { return e.stopReason(Date.now(), 60_000); }
   * ```
   */
  stopReason(now: number, idleMs: number): "all-left" | "idle" | null {
    if (!this.finished) return null;
    this.#finishedAt ??= now;
    if (this.waitingFor.length === 0) return "all-left";
    let last = this.#finishedAt;
    for (const c of this.#o.state.clinics.values()) {
      if (c.lastSeen !== null && c.lastSeen > last) last = c.lastSeen;
    }
    return now - last >= idleMs ? "idle" : null;
  }

  /** Clinic `name` is done with the finished study (ignored before the end). */
  leave(name: string): void {
    if (!this.finished || this.#left.has(name)) return;
    this.#left.add(name);
    const rest = this.waitingFor;
    this.#o.log(
      `clinic ${name} left the finished study; ${
        rest.length ? `waiting for ${rest.join(", ")}` : "all clinics have left"
      }`,
    );
  }

  /** After each checkpoint: writes the final files the first time the study is finished. */
  async afterCheckpoint(): Promise<void> {
    if (!this.finished || this.#finalWritten) return;
    this.#finalWritten = true;
    this.#finishedAt ??= this.#o.now();
    const dir = this.#o.state.checkpointDir;
    if (!dir) {
      this.#o.log("study finished (no checkpoint directory: no final files written)");
      return;
    }
    const folder = join(dir, FINAL_DIR);
    try {
      await Deno.mkdir(folder, { recursive: true });
      await writeFileAtomic(
        join(folder, "metrics.json"),
        new TextEncoder().encode(JSON.stringify(this.finalMetrics(), null, 2) + "\n"),
      );
      await writeFileAtomic(
        join(folder, "server_segment.npz"),
        writeNpz(this.#segment(), { level: 1 }),
      );
    } catch (e) {
      // The checkpoint is written: the end of the turn stands. The next checkpoint tries again.
      this.#finalWritten = false;
      this.#o.log(
        `study finished, but the final files could not be written to ${folder}: ${
          (e as Error).message
        }`,
      );
      return;
    }
    this.#o.log(`study finished: final metrics and the server segment written to ${folder}`);
  }

  /**
   * The final metrics (what `final/metrics.json` holds).
   *
   * @example
   * ```ts
   * import type { StudyEnd } from "./study_end.ts";
   * function steps(e: StudyEnd) { return e.finalMetrics().totalSteps; }
   * ```
   */
  finalMetrics(): {
    study: { id: string; digest: string } | null;
    finishedAt: string;
    rounds: number;
    epochs: number;
    totalSteps: number;
    clinics: { name: string; steps: number; lastLoss: number | null }[];
    meanLossByRound: (number | null)[];
  } {
    const { state, metrics, study, rounds, now } = this.#o;
    const sums = new Map<number, { s: number; n: number }>();
    for (const p of metrics?.points() ?? []) {
      if (p.loss === null) continue;
      const a = sums.get(p.epoch) ?? { s: 0, n: 0 };
      a.s += p.loss * p.samples;
      a.n += p.samples;
      sums.set(p.epoch, a);
    }
    const r = state.schedule.epoch;
    return {
      study: study ? { id: study.id, digest: study.digest } : null,
      finishedAt: new Date(now()).toISOString(),
      rounds: r,
      epochs: epochsDone(r, rounds),
      totalSteps: state.totalSteps,
      clinics: [...state.clinics.values()].map((c) => ({
        name: c.name,
        steps: c.steps,
        lastLoss: metrics?.clinic(c.name)?.lastLoss ?? null,
      })),
      meanLossByRound: Array.from({ length: r }, (_, i) => {
        const a = sums.get(i);
        return a && a.n > 0 ? a.s / a.n : null;
      }),
    };
  }

  /** The server segment's parameters and buffers by initializer name. */
  #segment(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [k, t] of this.#o.state.model.exportState()) {
      if (k.startsWith("param/")) out.set(k.slice(6), t);
      else if (k.startsWith("buffer/")) out.set(k.slice(7), t);
    }
    return out;
  }
}
