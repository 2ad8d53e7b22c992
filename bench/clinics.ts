/**
 * `deno task bench:clinics [--clinics 1,2,4,8,16,32] [--schedule sequential,parallel,splitfed]
 *  [--link <Mbit/s>:<ms>[:<jitter ms>]] [--server-batch inOrder|merge] [--codec float32|int8[:level]]
 *  [--epochs E] [--rounds-per-epoch T] [--rows R] [--batch B] [--partition size-dirichlet|label-dirichlet|iid] [--quick]
 *  [--replicas 1,2]`
 *
 * How many clinics one server carries (docs/design/parallel_schedules.md): for every clinic
 * count and schedule, a split training of the zoo CNN on PneumoniaMNIST (`--partition`,
 * default size-Dirichlet non-IID shares, α = 0.5, seeded: in the parallel schedules a round
 * lasts as long as the largest share takes, so `iid` shares show the server's capacity) with
 * every clinic behind its own shaped link
 * (`link_shaper.ts`: bandwidth each way, round trip, jitter; default 20 Mbit/s, 40 ms).
 *
 * The clinics are lightweight: all run in this process, each a `LocalRawSide` (no sandbox
 * process) driven by the real clinic driver (`runClinic`) over the real protocol — the same
 * messages through the same Noise channel over HTTP, through its link shaper, to a server
 * (`createServerApp` on `Deno.serve`, native engine) also in this process. They share this
 * machine's cores with the server, which a real deployment would not.
 *
 * One row per setting: wall time per epoch, server samples/s, server busy fraction (time in
 * the server segment's step over wall time), STEP latency p50/p99 as the clinic sees it (link
 * included), bytes per training sample each way (the training traffic: steps, turns, relayed
 * fronts; evaluation left out), test AUC
 * (every clinic's test share scored through its own front, pooled). The last line is the
 * clients-per-server figure: per schedule, the largest clinic count at which adding clinics
 * still raised server throughput by at least 10 %. Timings are noisy on a shared machine.
 *
 * `--quick`: 1 epoch over the first 1,536 training images, clinics 1,2,4,8.
 *
 * `--replicas 1,2` (docs/design/scale_out.md; `clinics_replicas.ts`): schedule splitfed, and
 * for each clinic count first the single server, then r trainers behind r fronts on a fresh
 * local nats-server for each r listed, all in this process. Its rows add samples/s per
 * replica, the mean bus round trip of a STEP at the fronts, the trainers' mean handling of
 * one (step + encode), the mean time a trainer held one (handling plus the wait for its lock
 * while other clinics' steps run), and the round trip less the held time: the messaging
 * overhead per step (publish, storage, pull, the request's decoding, the reply through the
 * inbox; payloads over the server's max_payload through the object store).
 *
 * @example
 * ```sh
 * deno task bench:clinics --quick
 * deno task bench:clinics --clinics 8 --schedule sequential,parallel --link 20:40
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { generateStaticKeyPair } from "../crypto/keys/key_pair.ts";
import { Allowlist } from "../crypto/keys/allowlist.ts";
import { runId } from "../crypto/seal/sealed_envelope.ts";
import { loadDataset, type LoadedDataset } from "../runtime/data/load_dataset.ts";
import { partition } from "../runtime/data/partition.ts";
import { createEngine, type Engine } from "../runtime/engine/mod.ts";
import { createServerApp, type ServerConfig, type ServerDeps, type ServerHandle } from "../runtime/server/mod.ts";
import { buildSplitModel } from "../runtime/server/split_model.ts";
import type { ScheduleKind } from "../runtime/server/round_schedule.ts";
import { LocalRawSide } from "../runtime/client/raw_side/mod.ts";
import { ServerConnection } from "../runtime/client/server_connection.ts";
import { type ClinicConnection, type ClinicResult, runClinic } from "../runtime/client/clinic.ts";
import { rocAuc } from "../runtime/train/metrics.ts";
import type { RequestMessage } from "../runtime/protocol/mod.ts";
import { LinkShaper, type LinkSpec, parseLink } from "./link_shaper.ts";
import { startLocalNats } from "../runtime/cluster/local_nats.ts";
import { replicaServer } from "./clinics_replicas.ts";

/** One setting's figures. */
export interface Row {
  schedule: ScheduleKind;
  clinics: number;
  /** Trainer replicas behind as many fronts (`--replicas`); absent: the single server. */
  replicas?: number;
  /** Mean bus round trip of a STEP at the fronts, ms (replicas only). */
  busMs?: number;
  /** Mean time a trainer took to handle a STEP (step + encode, not its decoding), ms (replicas only). */
  handleMs?: number;
  /** Mean time a trainer held a STEP, arrival to reply (queues included), ms (replicas only). */
  heldMs?: number;
  epochSeconds: number;
  samplesPerSec: number;
  busy: number;
  p50: number;
  p99: number;
  upPerSample: number;
  downPerSample: number;
  auc: number;
}

export interface Settings {
  link: LinkSpec;
  epochs: number;
  /** Rounds per data epoch (each clinic's epoch cut into this many turns). */
  rounds: number;
  batch: number;
  serverBatch: "inOrder" | "merge";
  codec: { dtype: "float32" | "float16" | "int8"; level: number };
  data: LoadedDataset;
  seed: number;
}

const OPTIMIZER = { kind: "adam", lr: 1e-3 } as const;

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Counts the time the server spends in its segment's steps (the lock makes them one at a time). */
export function meterServer(m: ServerHandle["model"]): { busyMs: () => number } {
  let busy = 0;
  for (const name of ["step", "middleForward", "middleBackward"] as const) {
    const orig = (m[name] as (...a: unknown[]) => Promise<unknown>).bind(m);
    (m as unknown as Record<string, unknown>)[name] = async (...a: unknown[]) => {
      const t0 = performance.now();
      try {
        return await orig(...a);
      } finally {
        busy += performance.now() - t0;
      }
    };
  }
  return { busyMs: () => busy };
}

/** A connection that records the round trip of every STEP. */
function timed(conn: ServerConnection, latencies: number[]): ClinicConnection {
  return {
    get clinic() {
      return conn.clinic;
    },
    get bytesUp() {
      return conn.bytesUp;
    },
    get bytesDown() {
      return conn.bytesDown;
    },
    get reconnects() {
      return conn.reconnects;
    },
    async request<M extends RequestMessage>(msg: M) {
      const t0 = performance.now();
      const r = await conn.request(msg);
      if (msg.type === "STEP" || msg.type === "MIDDLE_BACKWARD") {
        latencies.push(performance.now() - t0);
      }
      return r;
    },
  };
}

/** One lightweight clinic: its raw side, its link, its connection. */
async function clinic(
  s: Settings,
  i: number,
  rows: Uint32Array,
  n: number,
  ctx: {
    engine: Engine;
    keys: ReturnType<typeof generateStaticKeyPair>[];
    names: string[];
    server: ReturnType<typeof generateStaticKeyPair>;
    port: number;
    dir: string;
  },
) {
  const name = ctx.names[i];
  const { model, cuts } = buildSplitModel(
    { zoo: "cnn", data: s.data, seed: s.seed },
    "vanilla",
    "bce",
  );
  const iid = (split: "val" | "test") =>
    partition({ scheme: "iid", count: s.data[split].size, clinics: n, seed: s.seed })[i];
  await Deno.mkdir(`${ctx.dir}/${name}`);
  const side = await LocalRawSide.create({
    clinic: name,
    data: {
      train: s.data.train.subset(rows),
      val: s.data.val.subset(iid("val")),
      test: s.data.test.subset(iid("test")),
    },
    model,
    cuts,
    mode: "vanilla",
    loss: "bce",
    optimizer: OPTIMIZER,
    seed: s.seed,
    batchSize: s.batch,
    engine: ctx.engine,
    checkpointDir: `${ctx.dir}/${name}`,
    keyPair: ctx.keys[i],
  });
  const shaper = LinkShaper.start({
    ...s.link,
    target: { hostname: "127.0.0.1", port: ctx.port },
    seed: i + 1,
  });
  const conn = await ServerConnection.connect({
    url: `http://127.0.0.1:${shaper.port}`,
    serverPublicKey: ctx.server.publicKey,
    clinicKeyPair: ctx.keys[i],
    codec: s.codec,
    retries: 10,
  });
  const peers = new Map(
    ctx.names.filter((x) => x !== name).map((x) => [x, ctx.keys[ctx.names.indexOf(x)].publicKey]),
  );
  return { name, side, shaper, conn, peers };
}

/**
 * What a setting trains against: the ports clinics connect to (clinic i to port i mod their
 * count), the server's busy time, and the figures of the messaging between fronts and
 * trainers when there is any.
 */
export interface BenchServer {
  ports: number[];
  busyMs(): number;
  /** Mean bus round trip and trainer handling time of a STEP, ms (replicas only). */
  bus?(): { busMs: number; handleMs: number; heldMs: number };
  close(): Promise<void>;
}

/** Starts what the clinics train against, on one engine shared with them. */
export type StartServer = (config: ServerConfig, deps: ServerDeps & { engine: Engine }) => Promise<BenchServer>;

/** The single server: `createServerApp` on `Deno.serve`, in this process. */
async function startSingle(config: ServerConfig, deps: ServerDeps & { engine: Engine }): Promise<BenchServer> {
  const handle = await createServerApp(config, deps);
  const meter = meterServer(handle.model);
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle.app.fetch);
  return {
    ports: [http.addr.port],
    busyMs: meter.busyMs,
    async close() {
      await http.shutdown();
      await handle.close();
    },
  };
}

/** Trains `n` clinics under `schedule`; returns the row. */
export async function runSetting(
  s: Settings,
  schedule: ScheduleKind,
  n: number,
  rowsOf: Uint32Array[],
  start: StartServer = startSingle,
): Promise<Row> {
  const dir = await Deno.makeTempDir({ prefix: "bench_clinics_" });
  const names = Array.from({ length: n }, (_, i) => `c${i}`);
  const keys = names.map(() => generateStaticKeyPair());
  const server = generateStaticKeyPair();
  const engine = await createEngine("native", { threads: 1 });
  const target = await start({
    mode: "vanilla",
    model: { zoo: "cnn", data: s.data, seed: s.seed },
    loss: "bce",
    optimizer: OPTIMIZER,
    codec: s.codec,
    limits: { maxBatch: Math.max(256, s.batch) },
    turnTimeoutMs: 600_000,
    epochs: s.epochs,
    turnsPerEpoch: s.rounds,
    schedule,
    ...(schedule === "parallel" && s.serverBatch === "merge"
      ? { serverBatch: "merge" as const }
      : {}),
  }, {
    keyPair: server,
    allowlist: new Allowlist(names.map((name, i) => ({ name, publicKey: keys[i].publicKey }))),
    engine,
    log: () => {},
  });
  const clinics = [];
  for (let i = 0; i < n; i++) {
    const port = target.ports[i % target.ports.length];
    clinics.push(await clinic(s, i, rowsOf[i], n, { engine, keys, names, server, port, dir }));
  }
  const latencies: number[] = [];
  let trainEnd = 0;
  // Training traffic only: each clinic's bytes when it learns training is finished (before its evaluation).
  const trainBytes = { up: 0, down: 0 };
  const t0 = performance.now();
  let results: ClinicResult[];
  try {
    results = await Promise.all(clinics.map((c) =>
      runClinic({
        side: c.side,
        conn: timed(c.conn, latencies),
        peers: c.peers,
        run: runId(server.publicKey),
        pollMs: 20,
        turnsPerEpoch: s.rounds,
        keepScores: true,
        onEvent: (e) => {
          if (e.kind !== "finished") return;
          if (trainEnd === 0) trainEnd = performance.now();
          trainBytes.up += c.conn.bytesUp;
          trainBytes.down += c.conn.bytesDown;
        },
      })
    ));
  } finally {
    for (const c of clinics) {
      c.conn.close();
      await c.side.close();
      await c.shaper.close();
    }
    await target.close();
    await engine.dispose();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const wallMs = trainEnd - t0;
  const samples = results.reduce((a, r) => a + r.samples, 0);
  const scores = results.flatMap((r) => r.scores!.test!.scores),
    ys = results.flatMap((r) => r.scores!.test!.labels);
  return {
    schedule,
    clinics: n,
    epochSeconds: wallMs / 1000 / s.epochs,
    samplesPerSec: samples / (wallMs / 1000),
    busy: target.busyMs() / wallMs,
    ...target.bus?.(),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    upPerSample: trainBytes.up / samples,
    downPerSample: trainBytes.down / samples,
    auc: rocAuc(scores, ys),
  };
}

function format(r: Row): string {
  return [
    r.schedule.padEnd(10),
    String(r.clinics).padStart(7),
    r.epochSeconds.toFixed(1).padStart(9),
    r.samplesPerSec.toFixed(0).padStart(9),
    r.busy.toFixed(2).padStart(6),
    r.p50.toFixed(0).padStart(7),
    r.p99.toFixed(0).padStart(7),
    (r.upPerSample / 1024).toFixed(1).padStart(10),
    (r.downPerSample / 1024).toFixed(1).padStart(10),
    r.auc.toFixed(4).padStart(8),
  ].join("  ");
}

/**
 * Per schedule, the largest clinic count at which adding clinics still raised server
 * throughput by at least 10 % over the next smaller count measured.
 *
 * @example
 * ```ts
 * import { clientsPerServer } from "./clinics.ts";
 * console.log(clientsPerServer([{ clinics: 1, samplesPerSec: 100 }, { clinics: 2, samplesPerSec: 190 }, { clinics: 4, samplesPerSec: 200 }])); // 2
 * console.log(clientsPerServer([{ clinics: 2, samplesPerSec: 112 }, { clinics: 4, samplesPerSec: 107 }, { clinics: 8, samplesPerSec: 192 }])); // 8
 * ```
 */
export function clientsPerServer(rows: { clinics: number; samplesPerSec: number }[]): number {
  const sorted = [...rows].sort((a, b) => a.clinics - b.clinics);
  let best = sorted[0]?.clinics ?? 0;
  for (let k = 1; k < sorted.length; k++) {
    // Every step counts, not only the first run of rising ones: a noisy dip between two
    // counts must not hide a later rise.
    if (sorted[k].samplesPerSec >= 1.1 * sorted[k - 1].samplesPerSec) best = sorted[k].clinics;
  }
  return best;
}

function list(flag: string, v: string): string[] {
  const xs = v.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
  if (xs.length === 0) {
    throw new RangeError(`${flag} ${JSON.stringify(v)}: expected a comma-separated list`);
  }
  return xs;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      clinics: { type: "string" },
      schedule: { type: "string", default: "sequential,parallel,splitfed" },
      link: { type: "string", default: "20:40" },
      "server-batch": { type: "string", default: "inOrder" },
      codec: { type: "string", default: "float32" },
      epochs: { type: "string" },
      rows: { type: "string" },
      batch: { type: "string", default: "64" },
      seed: { type: "string", default: "0" },
      quick: { type: "boolean", default: false },
      replicas: { type: "string" },
      partition: { type: "string", default: "size-dirichlet" },
      "rounds-per-epoch": { type: "string", default: "4" },
      data: {
        type: "string",
        default: new URL("../data/pneumoniamnist.npz", import.meta.url).pathname,
      },
    },
  });
  const quick = values.quick!;
  const counts = list("--clinics", values.clinics ?? (quick ? "1,2,4,8" : "1,2,4,8,16,32")).map(
    (x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(`--clinics ${x}: expected positive integers`);
      }
      return n;
    },
  );
  const schedules = list("--schedule", values.schedule!).map((x) => {
    if (x !== "sequential" && x !== "parallel" && x !== "splitfed") {
      throw new RangeError(`--schedule ${x}: expected sequential, parallel or splitfed`);
    }
    return x as ScheduleKind;
  });
  const codecMatch = /^(float32|float16|int8)(?::([0-9]))?$/.exec(values.codec!);
  if (!codecMatch) {
    throw new RangeError(
      `--codec ${values.codec}: expected float32, float16 or int8, optionally :level`,
    );
  }
  const serverBatch = values["server-batch"] as "inOrder" | "merge";
  if (serverBatch !== "inOrder" && serverBatch !== "merge") {
    throw new RangeError(`--server-batch ${serverBatch}: expected inOrder or merge`);
  }
  const seed = Number(values.seed);
  const full = await loadDataset(values.data!, { seed });
  const rowCap = values.rows ? Number(values.rows) : quick ? 1536 : full.train.size;
  const data: LoadedDataset = {
    ...full,
    train: full.train.subset(
      Uint32Array.from({ length: Math.min(rowCap, full.train.size) }, (_, i) => i),
    ),
  };
  const s: Settings = {
    link: parseLink(values.link!),
    epochs: Number(values.epochs ?? 1),
    rounds: Number(values["rounds-per-epoch"]),
    batch: Number(values.batch),
    serverBatch,
    codec: {
      dtype: codecMatch[1] as "float32" | "float16" | "int8",
      level: Number(codecMatch[2] ?? 0),
    },
    data,
    seed,
  };
  const labels = Array.from(data.train.target.data as ArrayLike<number>, Number);
  const scheme = values.partition as "iid" | "label-dirichlet" | "size-dirichlet";
  if (scheme !== "iid" && scheme !== "label-dirichlet" && scheme !== "size-dirichlet") {
    throw new RangeError(`--partition ${scheme}: expected size-dirichlet, label-dirichlet or iid`);
  }
  if (values.replicas !== undefined) {
    const replicas = list("--replicas", values.replicas).map((x) => {
      const r = Number(x);
      if (!Number.isInteger(r) || r < 1) throw new RangeError(`--replicas ${x}: expected positive integers`);
      return r;
    });
    // Replicas run splitfed; a default clinic list that starts at 1 would leave a replica idle.
    const clinicCounts = values.clinics === undefined ? [4] : counts;
    return await replicaMain(s, { replicas, counts: clinicCounts, scheme, labels, description: full.description });
  }
  console.log(
    `bench:clinics — ${data.train.size} training images of ${full.description}, ${scheme} shares` +
      `${scheme === "iid" ? "" : " (α 0.5)"}, ` +
      `${s.epochs} epoch(s) of ${s.rounds} rounds, batch ${s.batch}, ${s.codec.dtype} codec, link ${s.link.upMbit}/${s.link.downMbit} Mbit/s ` +
      `${s.link.rttMs} ms RTT ± ${s.link.jitterMs} ms per clinic, serverBatch ${serverBatch}\n` +
      `lightweight clinics: every clinic and the server run in this process (LocalRawSide, real protocol, Noise channel, HTTP through the shaper); ` +
      `${navigator.hardwareConcurrency} cores shared with everything else on this machine, so timings are noisy`,
  );
  console.log(
    "schedule    clinics  s/epoch  samples/s  busy  p50 ms  p99 ms  KiB/smp up  KiB/smp dn  test AUC",
  );
  // Warm-up (not shown): the engines' first sessions and the JIT.
  const warm = Uint32Array.from({ length: 128 }, (_, i) => i);
  await runSetting({ ...s, data: { ...data, train: data.train.subset(warm) } }, "sequential", 1, [
    warm,
  ]);
  const rows: Row[] = [];
  for (const schedule of schedules) {
    for (const n of counts) {
      const shares = partition({
        scheme,
        count: data.train.size,
        labels,
        clinics: n,
        alpha: 0.5,
        seed,
      });
      const r = await runSetting(s, schedule, n, shares);
      rows.push(r);
      console.log(format(r));
    }
  }
  console.log(
    "clients per server (largest clinic count at which adding clinics still raised server samples/s by >= 10 %): " +
      (counts.length < 2
        ? "n/a (measure two or more clinic counts)"
        : schedules.map((sc) => `${sc} ${clientsPerServer(rows.filter((r) => r.schedule === sc))}`)
          .join(", ")),
  );
}

/** The figures of a `--replicas` row. */
function formatReplicas(r: Row): string {
  const per = r.samplesPerSec / (r.replicas ?? 1);
  const overhead = r.busMs !== undefined && r.heldMs !== undefined ? r.busMs - r.heldMs : NaN;
  const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(1));
  return [
    (r.replicas === undefined ? "single" : `${r.replicas} replica${r.replicas > 1 ? "s" : ""}`).padEnd(10),
    String(r.clinics).padStart(7),
    r.epochSeconds.toFixed(1).padStart(8),
    r.samplesPerSec.toFixed(0).padStart(9),
    per.toFixed(0).padStart(11),
    r.p50.toFixed(0).padStart(6),
    r.p99.toFixed(0).padStart(6),
    ms(r.busMs).padStart(6),
    ms(r.handleMs).padStart(9),
    ms(r.heldMs).padStart(7),
    ms(overhead).padStart(11),
    r.auc.toFixed(4).padStart(8),
  ].join("  ");
}

/** `--replicas`: per clinic count, the single server, then each replica count on a fresh NATS. */
async function replicaMain(
  s: Settings,
  o: { replicas: number[]; counts: number[]; scheme: "iid" | "label-dirichlet" | "size-dirichlet"; labels: number[]; description: string },
): Promise<void> {
  console.log(
    `bench:clinics --replicas — ${s.data.train.size} training images of ${o.description}, ${o.scheme} shares, schedule splitfed, ` +
      `${s.epochs} epoch(s) of ${s.rounds} rounds, batch ${s.batch}, ${s.codec.dtype} codec, link ${s.link.upMbit}/${s.link.downMbit} Mbit/s ` +
      `${s.link.rttMs} ms RTT ± ${s.link.jitterMs} ms per clinic\n` +
      `clinics, fronts, trainers and nats-server all on this machine (${navigator.hardwareConcurrency} cores, shared): timings are noisy; ` +
      `bus = a STEP's round trip through JetStream at the fronts, handle = its step + encode at the trainer, ` +
        `held = arrival to reply at the trainer (handle + waiting for the lock), overhead = bus − held (the messaging)`,
  );
  console.log("server      clinics  s/epoch  samples/s  per replica  p50 ms  p99 ms  bus ms  handle ms  held ms  overhead ms  test AUC");
  const warm = Uint32Array.from({ length: 128 }, (_, i) => i);
  await runSetting({ ...s, data: { ...s.data, train: s.data.train.subset(warm) } }, "splitfed", 1, [warm]);
  for (const n of o.counts) {
    const shares = partition({ scheme: o.scheme, count: s.data.train.size, labels: o.labels, clinics: n, alpha: 0.5, seed: s.seed });
    console.log(formatReplicas(await runSetting(s, "splitfed", n, shares)));
    for (const r of o.replicas) {
      const dir = await Deno.makeTempDir({ prefix: "bench_nats_" });
      const nats = await startLocalNats({ storeDir: dir });
      try {
        const row = await runSetting(s, "splitfed", n, shares, replicaServer(r, nats.url));
        console.log(formatReplicas({ ...row, replicas: r }));
      } finally {
        await nats.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  }
}

if (import.meta.main) await main();
