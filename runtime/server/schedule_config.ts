/**
 * The schedule settings of the server config (docs/design/parallel_schedules.md), their
 * defaults and checks, and what they build: the schedule and, for `serverBatch: "merge"`,
 * the merge window. Clinics need no setting: the server's `TURN` reply names the schedule.
 *
 * | field | type | default | unit / meaning |
 * | --- | --- | --- | --- |
 * | `schedule` | `"sequential" \| "parallel" \| "splitfed"` | `"sequential"` | who steps when |
 * | `serverBatch` | `"inOrder" \| "merge"` | `"inOrder"` | parallel only: merge concurrent steps |
 * | `clinicWeights` | `"averaged" \| "private"` | `"averaged"` | parallel/splitfed: average fronts at round end, or never share them |
 * | `merge.maxRows` | integer ≥ 1 | 1024 | rows of a merged server batch |
 * | `merge.maxDelayMs` | number ≥ 0 | 10 | ms a merge window stays open after its first batch |
 *
 * @example
 * ```ts
 * import { resolveScheduleConfig } from "./schedule_config.ts";
 * console.log(resolveScheduleConfig({ schedule: "parallel", serverBatch: "merge" }, "vanilla").merge);
 * // { maxRows: 1024, maxDelayMs: 10 }
 * ```
 * @module
 */
import type { SplitMode } from "./split_model.ts";
import { ParallelRound } from "./parallel_round.ts";
import { type RoundSchedule, SCHEDULE_KINDS, type ScheduleKind } from "./round_schedule.ts";
import { TurnSchedule } from "./turn_schedule.ts";

/**
 * The schedule fields of the server config (all optional).
 *
 * @example
 * ```ts
 * import type { ScheduleConfig } from "./schedule_config.ts";
 * const c: ScheduleConfig = { schedule: "splitfed", clinicWeights: "averaged" };
 * ```
 */
export interface ScheduleConfig {
  /** Who steps when (default `"sequential"`: round-robin turns, as before the field existed). */
  schedule?: ScheduleKind;
  /** `parallel`: `"inOrder"` (default) applies each step alone; `"merge"` merges the steps of a short window. */
  serverBatch?: "inOrder" | "merge";
  /** Parallel schedules: `"averaged"` (default) or `"private"` (P-SL: fronts never shared). */
  clinicWeights?: "averaged" | "private";
  /**
   * Parallel schedules, averaged fronts: `"relay"` (default; each clinic seals its front to the
   * others, the server relays) or `"secagg"` (secure aggregation: the server learns only the
   * sample-weighted sum, docs/design/secure_aggregation.md).
   */
  frontAggregation?: "relay" | "secagg";
  /** The merge window's bounds. */
  merge?: { maxRows?: number; maxDelayMs?: number };
}

/**
 * {@linkcode ScheduleConfig} with the defaults filled in.
 *
 * @example
 * ```ts
 * import type { ResolvedScheduleConfig } from "./schedule_config.ts";
 * const r: ResolvedScheduleConfig = { schedule: "sequential", serverBatch: "inOrder", clinicWeights: "averaged", frontAggregation: "relay", merge: null };
 * ```
 */
export interface ResolvedScheduleConfig {
  schedule: ScheduleKind;
  serverBatch: "inOrder" | "merge";
  clinicWeights: "averaged" | "private";
  frontAggregation: "relay" | "secagg";
  /** The window's bounds when `serverBatch` is `"merge"`, else null. */
  merge: { maxRows: number; maxDelayMs: number } | null;
}

/**
 * Checks the schedule fields against each other and the mode; fills in the defaults.
 *
 * @throws {RangeError} naming the field, the value and what was expected
 * @example
 * ```ts
 * import { resolveScheduleConfig } from "./schedule_config.ts";
 * try { resolveScheduleConfig({ serverBatch: "merge" }, "vanilla"); } catch (e) { console.log((e as Error).message); }
 * // serverBatch "merge" needs schedule "parallel" (one shared server segment), got "sequential"
 * ```
 */
export function resolveScheduleConfig(c: ScheduleConfig, mode: SplitMode): ResolvedScheduleConfig {
  const schedule = c.schedule ?? "sequential";
  if (!SCHEDULE_KINDS.includes(schedule)) {
    throw new RangeError(
      `schedule ${JSON.stringify(schedule)}: expected one of ${
        SCHEDULE_KINDS.map((k) => `"${k}"`).join(", ")
      }`,
    );
  }
  const serverBatch = c.serverBatch ?? "inOrder";
  if (serverBatch !== "inOrder" && serverBatch !== "merge") {
    throw new RangeError(
      `serverBatch ${JSON.stringify(serverBatch)}: expected "inOrder" or "merge"`,
    );
  }
  const clinicWeights = c.clinicWeights ?? "averaged";
  if (clinicWeights !== "averaged" && clinicWeights !== "private") {
    throw new RangeError(
      `clinicWeights ${JSON.stringify(clinicWeights)}: expected "averaged" or "private"`,
    );
  }
  if (clinicWeights === "private" && schedule === "sequential") {
    throw new RangeError(
      `clinicWeights "private" needs schedule "parallel" or "splitfed" (sequential turns hand the front on), got "sequential"`,
    );
  }
  const frontAggregation = checkFrontAggregation(c.frontAggregation ?? "relay", schedule, clinicWeights);
  if (serverBatch === "merge" && schedule !== "parallel") {
    throw new RangeError(
      `serverBatch "merge" needs schedule "parallel" (one shared server segment), got ${
        JSON.stringify(schedule)
      }`,
    );
  }
  if (serverBatch === "merge" && mode !== "vanilla") {
    throw new RangeError(
      `serverBatch "merge" needs mode vanilla (a U-shaped step is two requests), got ${mode}`,
    );
  }
  if (serverBatch !== "merge") return { schedule, serverBatch, clinicWeights, frontAggregation, merge: null };
  const maxRows = c.merge?.maxRows ?? 1024;
  if (!(Number.isInteger(maxRows) && maxRows >= 1)) {
    throw new RangeError(`merge.maxRows ${maxRows}: expected an integer >= 1`);
  }
  const maxDelayMs = c.merge?.maxDelayMs ?? 10;
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= 0)) {
    throw new RangeError(`merge.maxDelayMs ${maxDelayMs}: expected milliseconds >= 0`);
  }
  return { schedule, serverBatch, clinicWeights, frontAggregation, merge: { maxRows, maxDelayMs } };
}

/** `frontAggregation` needs fronts that are averaged: a parallel schedule, clinicWeights "averaged". */
function checkFrontAggregation(
  v: string,
  schedule: ScheduleKind,
  clinicWeights: "averaged" | "private",
): "relay" | "secagg" {
  if (v !== "relay" && v !== "secagg") {
    throw new RangeError(`frontAggregation ${JSON.stringify(v)}: expected "relay" or "secagg"`);
  }
  if (v === "secagg" && schedule === "sequential") {
    throw new RangeError(
      `frontAggregation "secagg" needs schedule "parallel" or "splitfed" (sequential turns hand one front on, nothing to sum), got "sequential"`,
    );
  }
  if (v === "secagg" && clinicWeights === "private") {
    throw new RangeError(`frontAggregation "secagg" needs clinicWeights "averaged" (private fronts are never summed), got "private"`);
  }
  return v;
}

/**
 * The schedule of kind `kind` over `order`.
 *
 * @example
 * ```ts
 * import { createSchedule } from "./schedule_config.ts";
 * console.log(createSchedule("parallel", ["a", "b"], { timeoutMs: 1000 }, 0).holds("b")); // true
 * ```
 */
export function createSchedule(
  kind: ScheduleKind,
  order: readonly string[],
  options: { timeoutMs: number; epochs?: number },
  now: number,
): RoundSchedule {
  return kind === "sequential"
    ? new TurnSchedule(order, options, now)
    : new ParallelRound(kind, order, options, now);
}

/**
 * Reads the schedule fields of a server config file's object (`config_file.ts`).
 *
 * @throws {TypeError} naming the field and what was expected
 * @example
 * ```ts
 * import { scheduleFields } from "./schedule_config.ts";
 * console.log(scheduleFields({ schedule: "parallel" })); // { schedule: "parallel" }
 * ```
 */
export function scheduleFields(c: Record<string, unknown>): ScheduleConfig {
  const fail = (k: string, want: string): never => {
    throw new TypeError(`config.${k}: expected ${want}, got ${JSON.stringify(c[k])}`);
  };
  const out: ScheduleConfig = {};
  if (c.schedule !== undefined) {
    if (!SCHEDULE_KINDS.includes(c.schedule as ScheduleKind)) {
      fail("schedule", '"sequential", "parallel" or "splitfed"');
    }
    out.schedule = c.schedule as ScheduleKind;
  }
  if (c.serverBatch !== undefined) {
    if (c.serverBatch !== "inOrder" && c.serverBatch !== "merge") {
      fail("serverBatch", '"inOrder" or "merge"');
    }
    out.serverBatch = c.serverBatch as "inOrder" | "merge";
  }
  if (c.clinicWeights !== undefined) {
    if (c.clinicWeights !== "averaged" && c.clinicWeights !== "private") {
      fail("clinicWeights", '"averaged" or "private"');
    }
    out.clinicWeights = c.clinicWeights as "averaged" | "private";
  }
  if (c.frontAggregation !== undefined) {
    if (c.frontAggregation !== "relay" && c.frontAggregation !== "secagg") {
      fail("frontAggregation", '"relay" or "secagg"');
    }
    out.frontAggregation = c.frontAggregation as "relay" | "secagg";
  }
  if (c.merge !== undefined) {
    const m = c.merge as Record<string, unknown>;
    const ok = m !== null && typeof m === "object" && !Array.isArray(m) &&
      Object.keys(m).every((k) => k === "maxRows" || k === "maxDelayMs") &&
      (m.maxRows === undefined ||
        (Number.isSafeInteger(m.maxRows) && (m.maxRows as number) >= 1)) &&
      (m.maxDelayMs === undefined ||
        (typeof m.maxDelayMs === "number" && m.maxDelayMs >= 0 && Number.isFinite(m.maxDelayMs)));
    if (!ok) fail("merge", "{maxRows?: integer >= 1, maxDelayMs?: milliseconds >= 0}");
    out.merge = m as ScheduleConfig["merge"];
  }
  return out;
}
