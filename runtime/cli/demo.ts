/**
 * `deno task demo [--epochs N] [--batch B] [--turns-per-epoch T] [--mode vanilla|ushaped]
 *  [--engine native|wasm] [--data file.npz] [--seed S] [--codec float32|float16|int8[:level]]
 *  [--linger SECONDS]`
 *  `[--schedule sequential|parallel|splitfed] [--clinics N] [--server-batch inOrder|merge]`
 *  `[--replicas N]` (scale-out: N trainers and N fronts on a local NATS, `demo_replicas.ts`)
 *
 * splitgate end to end on one machine: throwaway keys in a temp directory, a split server on
 * loopback (native engine when onnxruntime-node loads, else wasm), and two clinics, each the
 * real client — a sandboxed raw-data process and a courier process (`launcher.ts`) — holding a
 * non-IID share of PneumoniaMNIST's training split (label-Dirichlet, α = 0.5, seeded; the
 * validation and test splits are shared out IID). They train one model in sequential
 * round-robin turns with the cut traffic Noise-encrypted, then each evaluates its test share
 * through the cut. Finally the same model (same seed, epochs, batch size, optimizer) is
 * trained centrally on the pooled data on the clinics' engine (wasm) for comparison.
 *
 * Ends with a table: per-clinic and overall test AUC and accuracy, bytes sent and received
 * per clinic, wall time, and the central run.
 *
 * As soon as the server is up it prints `dashboard: http://127.0.0.1:<port>/dashboard` (the
 * live page, `runtime/server/routes/dashboard_routes.ts`); `--linger S` keeps the server and
 * its dashboard up S seconds after training (default 0).
 *
 * @example
 * ```sh
 * deno task demo
 * ```
 * @module
 */
import { loadDataset } from "../data/load_dataset.ts";
import { parseFlags, runMain, UsageError } from "./main.ts";
import { positiveInt } from "./flag_values.ts";
import { isTableDemo, runTableDemo } from "./demo_table.ts";
import { frontAggregationFlag, runScheduleDemo } from "./demo_schedules.ts";
import { SCHEDULE_KINDS, type ScheduleKind } from "../server/round_schedule.ts";
import { runImageDemo } from "./demo_image.ts";
import { runReplicaDemo } from "./demo_replicas.ts";
import { enterUserDir } from "./user_dir.ts";
import { resolve } from "node:path";

const USAGE = "usage: deno task demo [--epochs N] [--batch B] [--turns-per-epoch T] " +
  "[--mode vanilla|ushaped] [--engine native|wasm] [--data file.npz] [--seed S] " +
  "[--partition size-dirichlet|label-dirichlet|iid] [--alpha A] [--codec float32|float16|int8[:level]] [--no-central] " +
  "[--linger SECONDS] [--schedule sequential|parallel|splitfed] [--clinics N] [--server-batch inOrder|merge] [--front-aggregation relay|secagg] [--replicas N]";

// Files named on the command line (--data, --schema) are the user's, as typed; the demo's own
// files are found from this module's URL.
enterUserDir();
// --vertical: vertical split learning with PSI, its own path (vertical_demo.ts).
if (Deno.args.includes("--vertical")) await (await import("./vertical_demo.ts")).verticalDemoMain(Deno.args);
else if (isTableDemo(Deno.args)) await runTableDemo(Deno.args); // any CSV: demo_table.ts
else await runMain(async () => {
  const values = parseFlags(Deno.args, {
    epochs: { type: "string" },
    batch: { type: "string" },
    "turns-per-epoch": { type: "string" },
    mode: { type: "string", default: "vanilla" },
    engine: { type: "string" },
    data: { type: "string", default: new URL("../../data/pneumoniamnist.npz", import.meta.url).pathname },
    seed: { type: "string", default: "0" },
    "no-central": { type: "boolean", default: false },
    partition: { type: "string", default: "size-dirichlet" },
    alpha: { type: "string", default: "0.5" },
    codec: { type: "string", default: "float32" },
    linger: { type: "string", default: "0" },
    schedule: { type: "string" },
    clinics: { type: "string" },
    "server-batch": { type: "string", default: "inOrder" },
    "front-aggregation": { type: "string", default: "relay" },
    replicas: { type: "string" },
  });
  const epochs = positiveInt("--epochs", values.epochs, 3);
  const batchSize = positiveInt("--batch", values.batch, 64);
  const parts = positiveInt("--turns-per-epoch", values["turns-per-epoch"], 4);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed ${values.seed}: expected an integer >= 0`);
  const mode = values.mode as "vanilla" | "ushaped";
  if (mode !== "vanilla" && mode !== "ushaped") throw new UsageError(`--mode ${values.mode}: expected vanilla or ushaped`);
  const scheme = values.partition as "iid" | "label-dirichlet" | "size-dirichlet";
  if (scheme !== "iid" && scheme !== "label-dirichlet" && scheme !== "size-dirichlet") {
    throw new UsageError(`--partition ${values.partition}: expected size-dirichlet, label-dirichlet or iid`);
  }
  // The wire codec of the cut traffic: float32 is exact; int8 sends a quarter of the bytes.
  const codecMatch = /^(float32|float16|int8)(?::([0-9]))?$/.exec(values.codec!);
  if (!codecMatch) throw new UsageError(`--codec ${values.codec}: expected float32, float16 or int8, optionally :level (deflate 0-9)`);
  const codec = { dtype: codecMatch[1] as "float32" | "float16" | "int8", level: Number(codecMatch[2] ?? 0) };
  const linger = Number(values.linger);
  if (!(Number.isFinite(linger) && linger >= 0)) throw new UsageError(`--linger ${values.linger}: expected seconds >= 0`);
  const alpha = Number(values.alpha);
  if (!(alpha > 0)) throw new UsageError(`--alpha ${values.alpha}: expected a positive number`);
  // Replicas average at round ends: their schedule is splitfed. The schedule's own flags are
  // checked whichever demo runs, so that none is silently ignored.
  const schedule = (values.schedule ?? (values.replicas !== undefined ? "splitfed" : "sequential")) as ScheduleKind;
  if (!SCHEDULE_KINDS.includes(schedule)) throw new UsageError(`--schedule ${values.schedule}: expected sequential, parallel or splitfed`);
  const serverBatch = values["server-batch"] as "inOrder" | "merge";
  if (serverBatch !== "inOrder" && serverBatch !== "merge") throw new UsageError(`--server-batch ${serverBatch}: expected inOrder or merge`);
  // merge batches the steps of clinics that share one server segment: a parallel server's, or
  // a replica trainer's (its clinics step on its replica).
  if (serverBatch === "merge" && schedule !== "parallel" && values.replicas === undefined) {
    throw new UsageError(`--server-batch merge needs --schedule parallel or --replicas (it merges steps on one shared server segment), got ${schedule}`);
  }
  const frontAggregation = frontAggregationFlag(values["front-aggregation"], schedule);

  const t0 = performance.now();
  const data = await loadDataset(values.data, { seed });
  if (data.kind !== "image" || !data.image) throw new UsageError(`--data ${values.data}: expected an image .npz`);

  // --schedule / --clinics: N clinics under a schedule (runtime/cli/demo_schedules.ts).
  if (values.schedule !== undefined || values.clinics !== undefined || values.replicas !== undefined) {
    const scheduleOptions = {
      schedule, serverBatch, frontAggregation, clinics: positiveInt("--clinics", values.clinics, 2), epochs, batchSize, turnsPerEpoch: parts, seed,
      mode, scheme, alpha, codec, dataPath: resolve(values.data!), data, engine: values.engine, central: !values["no-central"], lingerSeconds: linger,
    };
    if (values.replicas !== undefined) return await runReplicaDemo({ ...scheduleOptions, replicas: positiveInt("--replicas", values.replicas, 1) });
    return await runScheduleDemo(scheduleOptions);
  }

  return await runImageDemo({
    epochs, batchSize, turnsPerEpoch: parts, seed, mode, scheme, alpha, codec, dataPath: resolve(values.data!), data,
    engine: values.engine, central: !values["no-central"], lingerSeconds: linger,
  }, t0);
}, USAGE);
