/**
 * `deno task demo --schedule sequential|parallel|splitfed --clinics N [--server-batch inOrder|merge]
 * [--front-aggregation relay|secagg]`
 * (with the other demo flags): the demo of `demo.ts` with N clinics under the chosen schedule
 * (docs/design/parallel_schedules.md). Each clinic is the real client — a sandboxed raw-data
 * process and a courier process (`launcher.ts`) — holding a non-IID share of
 * PneumoniaMNIST's training split (`--partition`, default size-dirichlet α = 0.5; the
 * validation and test splits are shared out IID); the server runs on loopback in this
 * process; then the same model is trained centrally with the same seed, epochs, batch size
 * and optimizer, and a table compares them.
 *
 * With `parallel` or `splitfed` every clinic steps at once; at the end of each round (a
 * clinic's `--turns-per-epoch` share of its data) the clinics' fronts are averaged, weighted
 * by samples, inside their raw sides, and `splitfed` also averages the server's per-clinic
 * copies. With `--front-aggregation secagg` the fronts are averaged by secure aggregation
 * instead (docs/design/secure_aggregation.md): the server learns only their weighted sum. The overall test AUC pools every clinic's test share scored by its own (averaged)
 * front.
 *
 * @example
 * ```sh
 * deno task demo --schedule parallel --clinics 4
 * ```
 * @module
 */
import type { Engine } from "../engine/mod.ts";
import type { ScheduleKind } from "../server/round_schedule.ts";
import type { ClinicResult } from "../client/clinic.ts";
import {
  closeDemoServer,
  demoClinicBase,
  type DemoKeys,
  demoServerEngine,
  launchDemoClinics,
  serveDemo,
  writeDemoKeys,
} from "./demo_launch.ts";
import {
  describeImageShares,
  imageCentral,
  type ImageDemoOptions,
  imageClinicConfig,
  imageServerConfig,
  linger,
} from "./demo_image.ts";
import { printComparison } from "./demo_report.ts";
import { UsageError } from "./main.ts";

/**
 * What `demo.ts` parsed.
 *
 * @example
 * ```ts
 * import type { ScheduleDemoOptions } from "./demo_schedules.ts";
 * function n(o: ScheduleDemoOptions) { return o.clinics; }
 * ```
 */
export interface ScheduleDemoOptions extends ImageDemoOptions {
  schedule: ScheduleKind;
  serverBatch: "inOrder" | "merge";
  /** How fronts are averaged at round ends (default `"relay"`). */
  frontAggregation?: "relay" | "secagg";
  clinics: number;
}

/** Starts the server on loopback under `o.schedule` (checkpoints in `root/server`). */
function startServer(o: ScheduleDemoOptions, root: string, keys: DemoKeys, engine: Engine) {
  return serveDemo(
    {
      ...imageServerConfig(o, root),
      schedule: o.schedule,
      ...(o.serverBatch === "merge" ? { serverBatch: "merge" as const } : {}),
      ...(o.frontAggregation === "secagg" ? { frontAggregation: "secagg" as const } : {}),
    },
    keys,
    engine,
  );
}

/** Launches every clinic (raw side + courier processes) and waits for all of them. */
function launchAll(
  o: ScheduleDemoOptions,
  root: string,
  names: string[],
  keys: DemoKeys,
  port: number,
): Promise<ClinicResult[]> {
  return launchDemoClinics(
    root,
    names,
    (c, i) => imageClinicConfig(o, demoClinicBase(root, keys, port, c), i, names.length),
  );
}

/**
 * Runs the demo with `o.clinics` clinics under `o.schedule`.
 *
 * @example
 * ```ts
 * import { runScheduleDemo } from "./demo_schedules.ts";
 * // await runScheduleDemo({ schedule: "parallel", clinics: 4, ... });
 * ```
 */
export async function runScheduleDemo(o: ScheduleDemoOptions): Promise<void> {
  const t0 = performance.now();
  const names = demoClinicNames(o.clinics);
  const root = await Deno.makeTempDir({ prefix: "splitgate_demo_" });
  try {
    const keys = await writeDemoKeys(`${root}/keys`, names);
    const { engine, name: engineName } = await demoServerEngine(o.engine);
    const s = await startServer(o, root, keys, engine);
    console.log(`dashboard: http://127.0.0.1:${s.port}/dashboard`);
    console.log(
      `splitgate demo: ${o.data.description}\nserver on 127.0.0.1:${s.port} (${o.mode}, ${engineName} engine, schedule ${o.schedule}` +
        `${o.serverBatch === "merge" ? ", merged server batches" : ""}` +
        `${o.frontAggregation === "secagg" ? ", fronts securely aggregated" : ""}); clinics: ` +
        describeImageShares(o, names) + `\n${scheduleRunLine(o)}`,
    );
    const split0 = performance.now();
    let results: ClinicResult[];
    try {
      results = await launchAll(o, root, names, keys, s.port);
    } finally {
      await linger(o.lingerSeconds, false);
      await closeDemoServer(s);
      await engine.dispose();
    }
    await compareWithCentral(o, results, { t0, split0 });
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/**
 * The demo's clinic names for `n` clinics: clinic-a … clinic-z, then clinic-a1 ….
 *
 * @example
 * ```ts
 * import { demoClinicNames } from "./demo_schedules.ts";
 * console.log(demoClinicNames(2)); // ["clinic-a", "clinic-b"]
 * ```
 */
export function demoClinicNames(n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => `clinic-${String.fromCharCode(97 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ""}`,
  );
}

/**
 * The second start-up line of a schedule demo: epochs, batch, rounds, optimizer, seed, codec.
 *
 * @example
 * ```ts
 * import { scheduleRunLine } from "./demo_schedules.ts";
 * // console.log(scheduleRunLine(o)); // "3 epochs, batch 64, 4 rounds per epoch, ..."
 * ```
 */
export function scheduleRunLine(o: ImageDemoOptions): string {
  return `${o.epochs} epochs, batch ${o.batchSize}, ${o.turnsPerEpoch} rounds per epoch, adam lr 0.001, seed ${o.seed}, ${o.codec.dtype} codec, Noise-encrypted`;
}

/**
 * Ends a schedule demo: the split run's time (from `split0`), the central run when asked for,
 * and the comparison table. The central row leaves the throughput cell empty, as it always has
 * in the schedule demos.
 *
 * @example
 * ```ts
 * import { compareWithCentral } from "./demo_schedules.ts";
 * // await compareWithCentral(o, results, { t0, split0 });
 * ```
 */
export async function compareWithCentral(
  o: ImageDemoOptions,
  results: ClinicResult[],
  at: { t0: number; split0: number },
): Promise<void> {
  const splitSeconds = (performance.now() - at.split0) / 1000;
  const c = o.central ? await imageCentral(o, false) : undefined;
  const central = c && { bestEpoch: c.result.bestEpoch, test: c.result.test };
  printComparison(results, central, { t0: at.t0, splitSeconds, centralSeconds: c?.seconds ?? 0 });
}

/**
 * The value of `--front-aggregation` for schedule `schedule`.
 *
 * @throws {UsageError} for a value other than relay or secagg, or secagg with a sequential schedule
 * @example
 * ```ts
 * import { frontAggregationFlag } from "./demo_schedules.ts";
 * console.log(frontAggregationFlag("secagg", "parallel")); // secagg
 * ```
 */
export function frontAggregationFlag(v: string | undefined, schedule: ScheduleKind): "relay" | "secagg" {
  const value = v ?? "relay";
  if (value !== "relay" && value !== "secagg") {
    throw new UsageError(`--front-aggregation ${value}: expected relay or secagg`);
  }
  if (value === "secagg" && schedule === "sequential") {
    throw new UsageError("--front-aggregation secagg needs --schedule parallel or splitfed (sequential turns hand one front on)");
  }
  return value;
}
