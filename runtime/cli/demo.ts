/**
 * `deno task demo [--epochs N] [--batch B] [--turns-per-epoch T] [--mode vanilla|ushaped]
 *  [--engine native|wasm] [--data file.npz] [--seed S] [--codec float32|float16|int8[:level]]
 *  [--linger SECONDS]`
 *  `[--schedule sequential|parallel|splitfed] [--clinics N] [--server-batch inOrder|merge]`
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
import { Allowlist, generateStaticKeyPair, serializeAllowlist } from "../../crypto/keys/mod.ts";
import { zooModel } from "../../models/zoo/mod.ts";
import type { OptimizerConfig } from "../../models/train/optimizer.ts";
import { loadDataset } from "../data/load_dataset.ts";
import { partition } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import { createEngine, type Engine } from "../engine/mod.ts";
import { writeKeyPairFiles } from "../keys/key_store.ts";
import { createServerApp } from "../server/mod.ts";
import { rocAuc } from "../train/metrics.ts";
import { trainCentral } from "../train/central.ts";
import type { ClinicResult } from "../client/clinic.ts";
import { parseClientConfig } from "../client/client_config.ts";
import { launchClinic } from "../client/launcher.ts";
import { parseFlags, runMain, UsageError } from "./main.ts";
import { isTableDemo, runTableDemo } from "./demo_table.ts";
import { runScheduleDemo } from "./demo_schedules.ts";
import { SCHEDULE_KINDS, type ScheduleKind } from "../server/round_schedule.ts";

const USAGE = "usage: deno task demo [--epochs N] [--batch B] [--turns-per-epoch T] " +
  "[--mode vanilla|ushaped] [--engine native|wasm] [--data file.npz] [--seed S] " +
  "[--partition size-dirichlet|label-dirichlet|iid] [--alpha A] [--codec float32|float16|int8[:level]] [--no-central] " +
  "[--linger SECONDS] [--schedule sequential|parallel|splitfed] [--clinics N] [--server-batch inOrder|merge]";

function positiveInt(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} ${v}: expected a positive integer`);
  return n;
}

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

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
  const optimizer: OptimizerConfig = { kind: "adam", lr: 1e-3 };
  const t0 = performance.now();
  const data = await loadDataset(values.data, { seed });
  if (data.kind !== "image" || !data.image) throw new UsageError(`--data ${values.data}: expected an image .npz`);

  // --schedule / --clinics: N clinics under a schedule (runtime/cli/demo_schedules.ts).
  if (values.schedule !== undefined || values.clinics !== undefined) {
    const schedule = (values.schedule ?? "sequential") as ScheduleKind;
    if (!SCHEDULE_KINDS.includes(schedule)) throw new UsageError(`--schedule ${values.schedule}: expected sequential, parallel or splitfed`);
    const serverBatch = values["server-batch"] as "inOrder" | "merge";
    if (serverBatch !== "inOrder" && serverBatch !== "merge") throw new UsageError(`--server-batch ${serverBatch}: expected inOrder or merge`);
    return await runScheduleDemo({
      schedule, serverBatch, clinics: positiveInt("--clinics", values.clinics, 2), epochs, batchSize, turnsPerEpoch: parts, seed,
      mode, scheme, alpha, codec, dataPath: values.data!, data, engine: values.engine, central: !values["no-central"], lingerSeconds: linger,
    });
  }

  // ---- throwaway keys ----
  const root = await Deno.makeTempDir({ prefix: "splitgate_demo_" });
  const clinics = ["clinic-a", "clinic-b"];
  try {
    const keys = `${root}/keys`;
    await Deno.mkdir(keys);
    const serverKeys = generateStaticKeyPair();
    const serverFiles = await writeKeyPairFiles(keys, "server", serverKeys);
    const entries = [];
    for (const c of clinics) {
      const kp = generateStaticKeyPair();
      await writeKeyPairFiles(keys, c, kp);
      entries.push({ name: c, publicKey: kp.publicKey });
    }
    const allowlist = new Allowlist(entries);
    await Deno.writeTextFile(`${keys}/allowlist.json`, serializeAllowlist(allowlist));

    // ---- server ----
    let engine: Engine;
    let engineName = values.engine ?? "native";
    try {
      engine = await createEngine(engineName as "native" | "wasm", { threads: 1 });
    } catch (e) {
      if (values.engine) throw e;
      engineName = "wasm";
      engine = await createEngine("wasm", { threads: 1 });
    }
    const server = await createServerApp({
      mode,
      codec, // replies (gradients, U-shaped head inputs) in the clinics' codec
      model: { zoo: "cnn", data, seed },
      loss: "bce",
      optimizer,
      checkpointDir: `${root}/server`,
      limits: { maxBatch: Math.max(256, batchSize) },
      turnTimeoutMs: 120_000,
      epochs,
      turnsPerEpoch: parts, // the server runs epochs × parts rounds and logs "epoch 3/3 done"
    }, { keyPair: serverKeys, allowlist, engine, log: (l) => console.log(`[server] ${l}`) });
    const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, server.app.fetch);
    const port = http.addr.port;
    console.log(`dashboard: http://127.0.0.1:${port}/dashboard`);
    const labels = Array.from(data.train.target.data as ArrayLike<number>, Number);
    const shares = partition({ scheme, count: data.train.size, labels, clinics: 2, alpha, seed });
    console.log(
      `splitgate demo: ${data.description}\n` +
        `server on 127.0.0.1:${port} (${mode}, ${engineName} engine); clinics: ` +
        clinics.map((c, i) => {
          const pos = shares[i].reduce((a, r) => a + labels[r], 0);
          return `${c} ${shares[i].length} training images (${((100 * pos) / shares[i].length).toFixed(0)}% pneumonia)`;
        }).join(", ") +
        `\n${epochs} epochs, batch ${batchSize}, ${parts} turns per clinic per epoch, adam lr 0.001, seed ${seed}, ` +
        `${codec.dtype} codec${codec.level ? ` + deflate ${codec.level}` : ""}, Noise-encrypted`,
    );

    // ---- clinics ----
    const split0 = performance.now();
    let results: ClinicResult[];
    try {
      results = (await Promise.all(clinics.map(async (c, i) => {
        const text = JSON.stringify({
          name: c,
          server: `http://127.0.0.1:${port}`,
          serverPublicKey: serverFiles.publicKeyPath,
          clinicKey: `${keys}/${c}.key`,
          peers: `${keys}/allowlist.json`,
          data: values.data,
          rows: {
            train: { partition: { scheme, clinics: 2, index: i, alpha, seed } },
            val: { partition: { scheme: "iid", clinics: 2, index: i, seed } },
            test: { partition: { scheme: "iid", clinics: 2, index: i, seed } },
          },
          model: "cnn",
          mode,
          loss: "bce",
          codec,
          optimizer,
          seed,
          batchSize,
          evalBatchSize: 256,
          checkpointDir: `${root}/${c}`,
          turnsPerEpoch: parts,
        });
        const config = parseClientConfig(text, root);
        const r = await launchClinic(config, "train", { keepScores: true, onLine: (l) => console.log(l), pollMs: 50 });
        return r.result;
      })));
    } finally {
      if (linger > 0) {
        console.log(`the server and its dashboard stay up ${linger} s (--linger)`);
        await new Promise((r) => setTimeout(r, linger * 1000));
      }
      server.endLiveViews(); // an open dashboard would hold the graceful shutdown forever
      await http.shutdown();
      await server.close();
    }
    const splitSeconds = (performance.now() - split0) / 1000;

    // ---- central ----
    let central: Awaited<ReturnType<typeof trainCentral>> | undefined;
    let centralSeconds = 0;
    if (!values["no-central"]) {
      console.log(`central run: the same model, seed, epochs and batch size on the pooled data (wasm engine)`);
      const rng = new Rng(seed);
      const model = zooModel("cnn", data, () => rng.float()).model;
      const wasm = engineName === "wasm" ? engine : await createEngine("wasm", { threads: 1 });
      const c0 = performance.now();
      central = await trainCentral({
        engine: wasm,
        model,
        loss: "bce",
        data,
        epochs,
        batchSize,
        optimizer,
        seed,
        onProgress: (p) => {
          if (p.kind === "epoch") {
            console.log(`[central] epoch ${p.record.epoch}/${epochs}  train loss ${p.record.trainLoss.toFixed(4)}  ` +
              `val AUC ${p.record.val.auc.toFixed(4)}  ${p.record.samplesPerSec.toFixed(0)} samples/s`);
          }
        },
      });
      centralSeconds = (performance.now() - c0) / 1000;
      if (wasm !== engine) await wasm.dispose();
    }
    await engine.dispose();

    // ---- table ----
    const scores: number[] = [], ys: number[] = [];
    let correct = 0;
    for (const r of results) {
      const s = r.scores!.test!;
      scores.push(...s.scores);
      ys.push(...s.labels);
      s.scores.forEach((p, k) => (correct += Number((p >= 0.5) === (s.labels[k] === 1))));
    }
    const overallAuc = rocAuc(scores, ys), overallAcc = correct / ys.length;
    const rows: string[][] = [["", "test AUC", "test acc", "test rows", "sent", "received", "train samples/s"]];
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
    rows.push(["split (overall)", overallAuc.toFixed(4), overallAcc.toFixed(4), String(ys.length), "", "", ""]);
    if (central) {
      rows.push([
        `central (best epoch ${central.bestEpoch})`,
        central.test.auc.toFixed(4),
        central.test.accuracy.toFixed(4),
        String(central.test.samples),
        "",
        "",
        central.samplesPerSec.toFixed(0),
      ]);
    }
    const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
    const line = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ");
    console.log("");
    console.log(line(rows[0]));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const r of rows.slice(1)) console.log(line(r));
    console.log("");
    const wall = (performance.now() - t0) / 1000;
    console.log(
      `wall time ${wall.toFixed(1)} s (split training and evaluation ${splitSeconds.toFixed(1)} s` +
        (central ? `, central ${centralSeconds.toFixed(1)} s` : "") + ")",
    );
    if (central) {
      const gap = overallAuc - central.test.auc;
      console.log(`split − central test AUC: ${gap >= 0 ? "+" : ""}${gap.toFixed(4)}`);
    }
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}, USAGE);
