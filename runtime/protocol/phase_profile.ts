/**
 * Per-phase wall-clock totals for profiling a split training step (`--profile` of
 * `bench:split`): each side of the step (raw side, courier, server) adds the time it spends in
 * a named phase, and prints a table at the end. Off by default: a disabled profile costs one
 * branch per phase and records nothing.
 *
 * Only phase names, counts and milliseconds are recorded — never tensor contents or keys.
 *
 * @example
 * ```ts
 * import { PhaseProfile } from "./phase_profile.ts";
 * const p = new PhaseProfile(true);
 * const x = p.time("square", () => 7 * 7);
 * await p.timeAsync("sleep", () => new Promise((r) => setTimeout(r, 1)));
 * console.log(x, p.rows().map((r) => r.phase)); // 49 ["square", "sleep"]
 * console.log(p.format("demo"));
 * ```
 * @module
 */

/**
 * One phase's totals.
 *
 * @example
 * ```ts
 * import type { PhaseRow } from "./phase_profile.ts";
 * const r: PhaseRow = { phase: "seal", count: 16, totalMs: 40, meanMs: 2.5 };
 * ```
 */
export interface PhaseRow {
  phase: string;
  count: number;
  totalMs: number;
  meanMs: number;
}

/**
 * Accumulates time per phase (insertion order kept for printing).
 *
 * @example
 * ```ts
 * import { PhaseProfile } from "./phase_profile.ts";
 * const off = new PhaseProfile(false);
 * off.add("never", 5);
 * console.log(off.rows().length); // 0
 * ```
 */
export class PhaseProfile {
  readonly #totals = new Map<string, { count: number; ms: number }>();

  /** @param enabled when false every method only runs the timed function */
  constructor(readonly enabled: boolean) {}

  /** Adds `ms` to `phase` (one occurrence). */
  add(phase: string, ms: number): void {
    if (!this.enabled) return;
    const t = this.#totals.get(phase);
    if (t) {
      t.count++;
      t.ms += ms;
    } else this.#totals.set(phase, { count: 1, ms });
  }

  /** Runs `fn` and adds its duration to `phase`. */
  time<T>(phase: string, fn: () => T): T {
    if (!this.enabled) return fn();
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.add(phase, performance.now() - t0);
    }
  }

  /** Awaits `fn` and adds its duration to `phase`. */
  async timeAsync<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    if (!this.enabled) return await fn();
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(phase, performance.now() - t0);
    }
  }

  /** The totals, in the order phases were first seen. */
  rows(): PhaseRow[] {
    return [...this.#totals].map(([phase, t]) => ({
      phase,
      count: t.count,
      totalMs: t.ms,
      meanMs: t.count ? t.ms / t.count : 0,
    }));
  }

  /** Forgets every total (e.g. after a warm-up). */
  reset(): void {
    this.#totals.clear();
  }

  /** A text table, one line per phase, each prefixed by `label`. */
  format(label: string): string {
    return this.rows().map((r) =>
      `${label} ${r.phase.padEnd(28)} n=${String(r.count).padStart(4)}  total ${r.totalMs.toFixed(1).padStart(8)} ms` +
      `  mean ${r.meanMs.toFixed(2).padStart(7)} ms`
    ).join("\n");
  }
}
