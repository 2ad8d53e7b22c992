/**
 * `deno task demo --replicas N --clinics M` (with the other demo flags): the schedule demo on
 * the scale-out server (docs/design/scale_out.md). A local nats-server with JetStream in a
 * temporary folder (`startLocalNats`), N trainers and N fronts as child processes started
 * as `deno task server --role trainer|front` would start them (`cluster_processes.ts`), and
 * M real clinics (a sandboxed raw-data process and a courier each, `launcher.ts`), clinic i
 * talking to front i mod N. The schedule is `splitfed` (what replicas require): every clinic
 * steps at once on its trainer's replica, and at each round's end the replicas average their
 * weights through the object store. Then the same model is trained centrally, and the table
 * compares them, as the other demos do.
 *
 * @example
 * ```sh
 * deno task demo --replicas 2 --clinics 4
 * ```
 * @module
 */
import { join } from "node:path";
import type { ClinicResult } from "../client/clinic.ts";
import { startLocalNats } from "../cluster/local_nats.ts";
import { type RoleProcess, startRole, stopAll } from "./cluster_processes.ts";
import { demoClinicBase, type DemoKeys, launchDemoClinics, writeDemoKeys } from "./demo_launch.ts";
import { describeImageShares, imageClinicConfig, IMAGE_DEMO_OPTIMIZER } from "./demo_image.ts";
import { compareWithCentral, demoClinicNames, type ScheduleDemoOptions, scheduleRunLine } from "./demo_schedules.ts";
import { UsageError } from "./main.ts";

/**
 * What `demo.ts` parsed, with the number of trainer replicas (and as many fronts).
 *
 * @example
 * ```ts
 * import type { ReplicaDemoOptions } from "./demo_replicas.ts";
 * function n(o: ReplicaDemoOptions) { return o.replicas; }
 * ```
 */
export interface ReplicaDemoOptions extends ScheduleDemoOptions {
  replicas: number;
}

/**
 * The config file every front and trainer reads (written to `path`): the image demo's
 * server, schedule `splitfed`, no checkpoint directory (the trainers checkpoint in the
 * object store).
 *
 * @example
 * ```ts
 * import { replicaServerConfig } from "./demo_replicas.ts";
 * // await Deno.writeTextFile(path, JSON.stringify(replicaServerConfig(o, keys, "native")));
 * ```
 */
export function replicaServerConfig(o: ReplicaDemoOptions, keys: DemoKeys, engine: string): Record<string, unknown> {
  if (!o.data.image) throw new UsageError("--replicas: expected an image .npz (--data)");
  return {
    listen: "127.0.0.1:0",
    serverKey: join(keys.dir, "server.key"),
    allowlist: join(keys.dir, "allowlist.json"),
    model: "cnn",
    data: { image: o.data.image },
    seed: o.seed,
    mode: o.mode,
    loss: "bce",
    optimizer: IMAGE_DEMO_OPTIMIZER,
    engine,
    threads: 1,
    codec: o.codec,
    limits: { maxBatch: Math.max(256, o.batchSize) },
    turnTimeoutMs: 120_000,
    epochs: o.epochs,
    turnsPerEpoch: o.turnsPerEpoch,
    schedule: "splitfed",
    ...(o.serverBatch === "merge" ? { serverBatch: "merge" } : {}),
  };
}

/**
 * A running replica cluster: the NATS server, the trainers and the fronts.
 *
 * @example
 * ```ts
 * import type { ReplicaCluster } from "./demo_replicas.ts";
 * function ports(c: ReplicaCluster) { return c.fronts.map((f) => f.port); }
 * ```
 */
export interface ReplicaCluster {
  natsUrl: string;
  trainers: RoleProcess[];
  fronts: RoleProcess[];
  /** Stops the fronts and trainers (SIGTERM, then SIGKILL), then NATS. */
  stop(): Promise<void>;
}

/**
 * Options of {@linkcode startReplicaCluster} for the fault runs.
 *
 * @example
 * ```ts
 * import type { ClusterOptions } from "./demo_replicas.ts";
 * const o: ClusterOptions = { appliedLogs: (t) => `/tmp/${t}.jsonl`, busTimeoutMs: 10_000 };
 * ```
 */
export interface ClusterOptions {
  /** Each trainer's applied-step log (`--applied-log`), by trainer name. */
  appliedLogs?: (trainer: string) => string;
  /** The fronts' `--bus-timeout-ms`. */
  busTimeoutMs?: number;
}

/**
 * Starts NATS (its store in `root/nats`), `replicas` trainers and as many fronts on
 * `configPath`, every line of theirs to `onLine` prefixed with the process's name.
 *
 * @throws {ClusterError} `NATS_MISSING` when nats-server is not installed
 * @example
 * ```ts
 * import { startReplicaCluster } from "./demo_replicas.ts";
 * // const c = await startReplicaCluster(root, configPath, 2, console.log);
 * ```
 */
export async function startReplicaCluster(
  root: string,
  configPath: string,
  replicas: number,
  onLine: (line: string) => void,
  o: ClusterOptions = {},
): Promise<ReplicaCluster> {
  await Deno.mkdir(join(root, "nats"), { recursive: true });
  const nats = await startLocalNats({ storeDir: join(root, "nats") });
  const all: RoleProcess[] = [];
  const stop = async () => {
    await stopAll(all);
    await nats.stop();
  };
  try {
    const start = (role: "front" | "trainer", name: string) =>
      startRole({
        role,
        name,
        configPath,
        natsUrl: nats.url,
        onLine: (l) => onLine(`[${name}] ${l}`),
        appliedLog: role === "trainer" ? o.appliedLogs?.(name) : undefined,
        busTimeoutMs: role === "front" ? o.busTimeoutMs : undefined,
      })
        .then((p) => (all.push(p), p));
    const ids = Array.from({ length: replicas }, (_, i) => i);
    const trainers = await Promise.all(ids.map((i) => start("trainer", `trainer-${i}`)));
    const fronts = await Promise.all(ids.map((i) => start("front", `front-${i}`)));
    return { natsUrl: nats.url, trainers, fronts, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Clinic names `clinic-a`, `clinic-b`, ... as the schedule demo names them. */
/**
 * Runs the demo with `o.replicas` trainers and fronts and `o.clinics` clinics.
 *
 * @example
 * ```ts
 * import { runReplicaDemo } from "./demo_replicas.ts";
 * // await runReplicaDemo({ replicas: 2, clinics: 4, schedule: "splitfed", ... });
 * ```
 */
export async function runReplicaDemo(o: ReplicaDemoOptions): Promise<void> {
  const t0 = performance.now();
  if (o.schedule !== "splitfed") throw new UsageError(`--replicas needs --schedule splitfed (got ${o.schedule}): replicas average at round ends`);
  if (o.frontAggregation === "secagg") throw new UsageError("--replicas: --front-aggregation secagg is not supported with replicas");
  const names = demoClinicNames(o.clinics);
  const root = await Deno.makeTempDir({ prefix: "splitgate_replicas_" });
  try {
    const keys = await writeDemoKeys(join(root, "keys"), names);
    const configPath = join(root, "server.json");
    const engine = o.engine ?? "native";
    await Deno.writeTextFile(configPath, JSON.stringify(replicaServerConfig(o, keys, engine)));
    const cluster = await startReplicaCluster(root, configPath, o.replicas, (l) => console.log(l));
    console.log(
      `splitgate demo: ${o.data.description}\nNATS ${cluster.natsUrl}; ${o.replicas} trainers, ${o.replicas} fronts on ` +
        `${cluster.fronts.map((f) => `127.0.0.1:${f.port}`).join(", ")} (${o.mode}, ${engine} engine, schedule splitfed` +
        `${o.serverBatch === "merge" ? ", merged server batches" : ""}); clinics: ${describeImageShares(o, names)}` +
        `\n${scheduleRunLine(o)}`,
    );
    const split0 = performance.now();
    let results: ClinicResult[];
    try {
      results = await launchDemoClinics(root, names, (c, i) =>
        imageClinicConfig(o, demoClinicBase(root, keys, cluster.fronts[i % o.replicas].port, c), i, names.length));
    } finally {
      await cluster.stop();
    }
    await compareWithCentral(o, results, { t0, split0 });
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
