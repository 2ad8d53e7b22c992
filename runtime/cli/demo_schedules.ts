/**
 * `deno task demo --schedule sequential|parallel|splitfed --clinics N [--server-batch inOrder|merge]`
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
 * copies. The overall test AUC pools every clinic's test share scored by its own (averaged)
 * front.
 *
 * @example
 * ```sh
 * deno task demo --schedule parallel --clinics 4
 * ```
 * @module
 */
import { Allowlist, generateStaticKeyPair, serializeAllowlist } from "../../crypto/keys/mod.ts";
import type { KeyPair } from "../../crypto/keys/key_pair.ts";
import { zooModel } from "../../models/zoo/mod.ts";
import type { OptimizerConfig } from "../../models/train/optimizer.ts";
import type { LoadedDataset } from "../data/load_dataset.ts";
import { partition } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import { createEngine, type Engine } from "../engine/mod.ts";
import { writeKeyPairFiles } from "../keys/key_store.ts";
import { createServerApp, type ServerHandle } from "../server/mod.ts";
import type { ScheduleKind } from "../server/round_schedule.ts";
import { rocAuc } from "../train/metrics.ts";
import { trainCentral } from "../train/central.ts";
import type { ClinicResult } from "../client/clinic.ts";
import { parseClientConfig } from "../client/client_config.ts";
import { launchClinic } from "../client/launcher.ts";

/**
 * What `demo.ts` parsed.
 *
 * @example
 * ```ts
 * import type { ScheduleDemoOptions } from "./demo_schedules.ts";
 * function n(o: ScheduleDemoOptions) { return o.clinics; }
 * ```
 */
export interface ScheduleDemoOptions {
  schedule: ScheduleKind;
  serverBatch: "inOrder" | "merge";
  clinics: number;
  epochs: number;
  batchSize: number;
  turnsPerEpoch: number;
  seed: number;
  mode: "vanilla" | "ushaped";
  scheme: "iid" | "label-dirichlet" | "size-dirichlet";
  alpha: number;
  codec: { dtype: "float32" | "float16" | "int8"; level: number };
  dataPath: string;
  data: LoadedDataset;
  /** `native` or `wasm` (default: native when it loads). */
  engine?: string;
  central: boolean;
  lingerSeconds: number;
}

const OPTIMIZER: OptimizerConfig = { kind: "adam", lr: 1e-3 };

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** Throwaway keys: the server's and each clinic's, and the allowlist, under `keys`. */
async function makeKeys(
  keys: string,
  names: string[],
): Promise<{ server: KeyPair; serverPub: string; allowlist: Allowlist }> {
  await Deno.mkdir(keys);
  const server = generateStaticKeyPair();
  const files = await writeKeyPairFiles(keys, "server", server);
  const entries = [];
  for (const c of names) {
    const kp = generateStaticKeyPair();
    await writeKeyPairFiles(keys, c, kp);
    entries.push({ name: c, publicKey: kp.publicKey });
  }
  const allowlist = new Allowlist(entries);
  await Deno.writeTextFile(`${keys}/allowlist.json`, serializeAllowlist(allowlist));
  return { server, serverPub: files.publicKeyPath, allowlist };
}

async function serverEngine(name: string | undefined): Promise<{ engine: Engine; name: string }> {
  try {
    return {
      engine: await createEngine((name ?? "native") as "native" | "wasm", { threads: 1 }),
      name: name ?? "native",
    };
  } catch (e) {
    if (name) throw e;
    return { engine: await createEngine("wasm", { threads: 1 }), name: "wasm" };
  }
}

/** Launches every clinic (raw side + courier processes) and waits for all of them. */
function launchAll(
  o: ScheduleDemoOptions,
  root: string,
  names: string[],
  port: number,
  serverPub: string,
): Promise<ClinicResult[]> {
  const n = names.length;
  return Promise.all(names.map(async (c, i) => {
    const text = JSON.stringify({
      name: c,
      server: `http://127.0.0.1:${port}`,
      serverPublicKey: serverPub,
      clinicKey: `${root}/keys/${c}.key`,
      peers: `${root}/keys/allowlist.json`,
      data: o.dataPath,
      rows: {
        train: {
          partition: { scheme: o.scheme, clinics: n, index: i, alpha: o.alpha, seed: o.seed },
        },
        val: { partition: { scheme: "iid", clinics: n, index: i, seed: o.seed } },
        test: { partition: { scheme: "iid", clinics: n, index: i, seed: o.seed } },
      },
      model: "cnn",
      mode: o.mode,
      loss: "bce",
      codec: o.codec,
      optimizer: OPTIMIZER,
      seed: o.seed,
      batchSize: o.batchSize,
      evalBatchSize: 256,
      checkpointDir: `${root}/${c}`,
      turnsPerEpoch: o.turnsPerEpoch,
    });
    const config = parseClientConfig(text, root);
    return (await launchClinic(config, "train", {
      keepScores: true,
      onLine: (l) => console.log(l),
      pollMs: 50,
    })).result;
  }));
}

/** The central baseline: the same model, seed, epochs, batch size and optimizer on the pooled data (wasm). */
async function central(
  o: ScheduleDemoOptions,
): Promise<{ auc: number; accuracy: number; samples: number; seconds: number; best: number }> {
  console.log(
    `central run: the same model, seed, epochs and batch size on the pooled data (wasm engine)`,
  );
  const rng = new Rng(o.seed);
  const model = zooModel("cnn", o.data, () => rng.float()).model;
  const wasm = await createEngine("wasm", { threads: 1 });
  const t0 = performance.now();
  try {
    const r = await trainCentral({
      engine: wasm,
      model,
      loss: "bce",
      data: o.data,
      epochs: o.epochs,
      batchSize: o.batchSize,
      optimizer: OPTIMIZER,
      seed: o.seed,
      onProgress: (p) => {
        if (p.kind === "epoch") {
          console.log(
            `[central] epoch ${p.record.epoch}/${o.epochs}  train loss ${
              p.record.trainLoss.toFixed(4)
            }  val AUC ${p.record.val.auc.toFixed(4)}`,
          );
        }
      },
    });
    return {
      auc: r.test.auc,
      accuracy: r.test.accuracy,
      samples: r.test.samples,
      seconds: (performance.now() - t0) / 1000,
      best: r.bestEpoch,
    };
  } finally {
    await wasm.dispose();
  }
}

/** Prints the per-clinic and overall table; returns the overall test AUC. */
function printTable(
  results: ClinicResult[],
  c: Awaited<ReturnType<typeof central>> | undefined,
): number {
  const scores: number[] = [], ys: number[] = [];
  let correct = 0;
  for (const r of results) {
    const s = r.scores!.test!;
    scores.push(...s.scores);
    ys.push(...s.labels);
    s.scores.forEach((p, k) => (correct += Number((p >= 0.5) === (s.labels[k] === 1))));
  }
  const auc = rocAuc(scores, ys);
  const rows: string[][] = [[
    "",
    "test AUC",
    "test acc",
    "test rows",
    "sent",
    "received",
    "train samples/s",
  ]];
  for (const r of results) {
    const t = r.eval.test!;
    rows.push([
      r.clinic,
      t.auc.toFixed(4),
      t.accuracy.toFixed(4),
      String(t.samples),
      mib(r.bytesUp),
      mib(r.bytesDown),
      (r.samples / r.trainSeconds).toFixed(0),
    ]);
  }
  rows.push([
    "split (overall)",
    auc.toFixed(4),
    (correct / ys.length).toFixed(4),
    String(ys.length),
    "",
    "",
    "",
  ]);
  if (c) {
    rows.push([
      `central (best epoch ${c.best})`,
      c.auc.toFixed(4),
      c.accuracy.toFixed(4),
      String(c.samples),
      "",
      "",
      "",
    ]);
  }
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r.map((x, j) => (j === 0 ? x.padEnd(widths[j]) : x.padStart(widths[j]))).join("  ");
  console.log("\n" + line(rows[0]) + "\n" + widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows.slice(1)) console.log(line(r));
  return auc;
}

/** Starts the server on loopback (checkpoints in `root/server`). */
async function startServer(
  o: ScheduleDemoOptions,
  root: string,
  keys: { server: KeyPair; allowlist: Allowlist },
  engine: Engine,
): Promise<{ server: ServerHandle; http: Deno.HttpServer<Deno.NetAddr> }> {
  const server = await createServerApp({
    mode: o.mode,
    codec: o.codec,
    model: { zoo: "cnn", data: o.data, seed: o.seed },
    loss: "bce",
    optimizer: OPTIMIZER,
    checkpointDir: `${root}/server`,
    limits: { maxBatch: Math.max(256, o.batchSize) },
    turnTimeoutMs: 120_000,
    epochs: o.epochs,
    turnsPerEpoch: o.turnsPerEpoch,
    schedule: o.schedule,
    ...(o.serverBatch === "merge" ? { serverBatch: "merge" as const } : {}),
  }, {
    keyPair: keys.server,
    allowlist: keys.allowlist,
    engine,
    log: (l) => console.log(`[server] ${l}`),
  });
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, server.app.fetch);
  return { server, http };
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
  const names = Array.from(
    { length: o.clinics },
    (_, i) => `clinic-${String.fromCharCode(97 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ""}`,
  );
  const root = await Deno.makeTempDir({ prefix: "splitgate_demo_" });
  try {
    const keys = await makeKeys(`${root}/keys`, names);
    const { engine, name: engineName } = await serverEngine(o.engine);
    const { server, http } = await startServer(o, root, keys, engine);
    const port = http.addr.port;
    const labels = Array.from(o.data.train.target.data as ArrayLike<number>, Number);
    const shares = partition({
      scheme: o.scheme,
      count: o.data.train.size,
      labels,
      clinics: o.clinics,
      alpha: o.alpha,
      seed: o.seed,
    });
    console.log(`dashboard: http://127.0.0.1:${port}/dashboard`);
    console.log(
      `splitgate demo: ${o.data.description}\nserver on 127.0.0.1:${port} (${o.mode}, ${engineName} engine, schedule ${o.schedule}` +
        `${o.serverBatch === "merge" ? ", merged server batches" : ""}); clinics: ` +
        names.map((c, i) =>
          `${c} ${shares[i].length} training images (${
            ((100 * shares[i].reduce((a, r) => a + labels[r], 0)) / Math.max(1, shares[i].length))
              .toFixed(0)
          }% pneumonia)`
        ).join(", ") +
        `\n${o.epochs} epochs, batch ${o.batchSize}, ${o.turnsPerEpoch} rounds per epoch, adam lr 0.001, seed ${o.seed}, ${o.codec.dtype} codec, Noise-encrypted`,
    );
    const split0 = performance.now();
    let results: ClinicResult[];
    try {
      results = await launchAll(o, root, names, port, keys.serverPub);
    } finally {
      if (o.lingerSeconds > 0) await new Promise((r) => setTimeout(r, o.lingerSeconds * 1000));
      server.endLiveViews();
      await http.shutdown();
      await server.close();
      await engine.dispose();
    }
    const splitSeconds = (performance.now() - split0) / 1000;
    const c = o.central ? await central(o) : undefined;
    const auc = printTable(results, c);
    console.log(
      `\nwall time ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s (split training and evaluation ${splitSeconds.toFixed(1)} s` +
        (c ? `, central ${c.seconds.toFixed(1)} s)` : ")"),
    );
    if (c) {
      console.log(
        `split − central test AUC: ${auc - c.auc >= 0 ? "+" : ""}${(auc - c.auc).toFixed(4)}`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
