/**
 * Fixtures of the split end-to-end tests: a temporary world on disk (keys, allowlist, a tiny
 * learnable image dataset, server and clinic config files), a server in this process or as a
 * `runtime/cli/server.ts` subprocess, and clinics launched through the real client
 * (sandboxed raw side + courier).
 * @module
 */
import { Allowlist, generateStaticKeyPair, serializeAllowlist } from "../../crypto/keys/mod.ts";
import { tensor } from "../../models/tensor.ts";
import { writeNpz } from "../../runtime/data/npz.ts";
import { writeKeyPairFiles } from "../../runtime/keys/key_store.ts";
import { createEngine, type Engine } from "../../runtime/engine/mod.ts";
import { loadAllowlist, loadPrivateKeyFile } from "../../runtime/keys/key_store.ts";
import { createServerApp, type ServerConfig, type ServerHandle } from "../../runtime/server/mod.ts";
import { parseServerConfigFile } from "../../runtime/server/config_file.ts";
import { type ClientConfig, parseClientConfig } from "../../runtime/client/client_config.ts";
import { Rng } from "../../runtime/data/rng.ts";
import type { SplitMode } from "../../runtime/server/split_model.ts";

export const ROOT = new URL("../../", import.meta.url);
export const SIZE = 8;

/**
 * Images whose label is visible (a square `contrast` brighter than noise of 0..99 for 1), so a
 * few steps lower the loss; a faint square (small `contrast`) leaves one epoch short of AUC 1.
 */
export function learnableImages(n: number, seed: number, contrast = 120): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * SIZE * SIZE), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(2);
    for (let p = 0; p < SIZE * SIZE; p++) {
      const y = Math.floor(p / SIZE), x = p % SIZE;
      const inSquare = y >= 2 && y < 6 && x >= 2 && x < 6;
      images[i * SIZE * SIZE + p] = Math.min(255, rng.int(100) + (labels[i] && inSquare ? contrast : 0));
    }
  }
  return { images, labels };
}

/** A free loopback port (listen on 0, close). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A split world on disk. */
export interface SplitWorld {
  root: string;
  dataDir: string;
  dataFile: string;
  port: number;
  serverConfigFile: string;
  clinics: string[];
  clientConfigs: ClientConfig[];
  remove(): Promise<void>;
}

/** Options of {@linkcode makeWorld}. */
export interface WorldOptions {
  mode: SplitMode;
  clinics?: string[];
  /** Training rows in all (split between clinics by a seeded IID partition). */
  n?: number;
  epochs?: number;
  batchSize?: number;
  seed?: number;
  turnsPerEpoch?: number;
  codec?: { dtype: "float32" | "float16" | "int8"; level: number; quantize?: "graph" | "codec" };
  optimizer?: { kind: "sgd" | "adam"; lr: number };
  port?: number;
  serverEngine?: "wasm" | "native";
  /** `policy.allowExport` of each clinic config, by clinic name (default false). */
  clinicAllowExport?: Record<string, boolean>;
  /** The server config's `allowExport` (default: left out, i.e. false). */
  serverAllowExport?: boolean;
}

/** Writes keys, data and configs into a temp dir. */
export async function makeWorld(o: WorldOptions): Promise<SplitWorld> {
  const root = await Deno.makeTempDir({ prefix: "split_e2e_" });
  const clinics = o.clinics ?? ["clinic-a", "clinic-b"];
  const keys = `${root}/keys`, dataDir = `${root}/data`;
  await Deno.mkdir(keys);
  await Deno.mkdir(dataDir);
  const server = await writeKeyPairFiles(keys, "server", generateStaticKeyPair());
  const entries = [];
  for (const c of clinics) {
    const kp = generateStaticKeyPair();
    await writeKeyPairFiles(keys, c, kp);
    entries.push({ name: c, publicKey: kp.publicKey });
  }
  await Deno.writeTextFile(`${keys}/allowlist.json`, serializeAllowlist(new Allowlist(entries)));
  const n = o.n ?? 48, seed = o.seed ?? 5;
  const t = (d: { images: Uint8Array; labels: Uint8Array }) => [
    tensor("uint8", [d.labels.length, SIZE, SIZE], d.images),
    tensor("uint8", [d.labels.length, 1], d.labels),
  ];
  const [ti, tl] = t(learnableImages(n, 1)), [vi, vl] = t(learnableImages(8, 2)), [si, sl] = t(learnableImages(24, 3));
  const dataFile = `${dataDir}/records.npz`;
  await Deno.writeFile(dataFile, writeNpz({ train_images: ti, train_labels: tl, val_images: vi, val_labels: vl, test_images: si, test_labels: sl }));
  const port = o.port ?? freePort();
  const epochs = o.epochs ?? 1, parts = o.turnsPerEpoch ?? 1;
  const optimizer = o.optimizer ?? { kind: "sgd", lr: 0.05 };
  const serverConfigFile = `${root}/server.json`;
  await Deno.writeTextFile(serverConfigFile, JSON.stringify({
    listen: `127.0.0.1:${port}`,
    serverKey: "keys/server.key",
    allowlist: "keys/allowlist.json",
    model: "cnn",
    data: { image: { channels: 1, size: SIZE } },
    seed,
    mode: o.mode,
    loss: "bce",
    optimizer,
    engine: o.serverEngine ?? "native",
    threads: 1,
    checkpointDir: "server-ckpt",
    limits: { maxBatch: 64 },
    turnTimeoutMs: 60_000,
    epochs: epochs * parts,
    ...(o.serverAllowExport !== undefined ? { allowExport: o.serverAllowExport } : {}),
  }));
  const clientConfigs: ClientConfig[] = [];
  for (const [i, c] of clinics.entries()) {
    const file = `${root}/${c}.json`;
    const part = { partition: { scheme: "iid", clinics: clinics.length, index: i, seed } };
    const text = JSON.stringify({
      name: c,
      server: `http://127.0.0.1:${port}`,
      serverPublicKey: "keys/server.pub",
      clinicKey: `keys/${c}.key`,
      peers: "keys/allowlist.json",
      data: "data/records.npz",
      rows: { train: part, test: part, val: part },
      model: "cnn",
      mode: o.mode,
      loss: "bce",
      codec: o.codec ?? { dtype: "float32", level: 0 },
      optimizer,
      seed,
      batchSize: o.batchSize ?? 8,
      evalBatchSize: 16,
      checkpointDir: `ckpt-${c}`,
      turnsPerEpoch: parts,
      retries: 10,
      patienceMs: 60_000,
      ...(o.clinicAllowExport?.[c] !== undefined ? { policy: { allowExport: o.clinicAllowExport[c] } } : {}),
    });
    await Deno.writeTextFile(file, text);
    clientConfigs.push(parseClientConfig(text, root));
  }
  void server;
  return {
    root,
    dataDir,
    dataFile,
    port,
    serverConfigFile,
    clinics,
    clientConfigs,
    remove: () => Deno.remove(root, { recursive: true }),
  };
}

let engine: Promise<Engine> | undefined;
/** The test process's server engine (native, one thread). */
export function serverEngine(): Promise<Engine> {
  return engine ??= createEngine("native", { threads: 1 });
}

/** Starts the world's server in this process (Deno.serve on its port). */
export async function startInProcessServer(
  w: SplitWorld,
  extra: Partial<ServerConfig> = {},
): Promise<{ handle: ServerHandle; stop(): Promise<void> }> {
  const f = parseServerConfigFile(await Deno.readTextFile(w.serverConfigFile), w.root);
  const key = await loadPrivateKeyFile(f.serverKey);
  const handle = await createServerApp({
    mode: f.mode,
    model: { zoo: f.model, data: f.data!, seed: f.seed },
    loss: f.loss,
    optimizer: f.optimizer,
    checkpointDir: f.checkpointDir,
    limits: f.limits,
    turnTimeoutMs: f.turnTimeoutMs,
    epochs: f.epochs,
    allowExport: f.allowExport,
    ...extra,
  }, { keyPair: key.keyPair, allowlist: await loadAllowlist(f.allowlist), engine: await serverEngine(), log: () => {} });
  const http = Deno.serve({ hostname: "127.0.0.1", port: f.port, onListen() {} }, handle.app.fetch);
  return {
    handle,
    async stop() {
      await http.shutdown();
      await handle.close();
    },
  };
}

/** The `deno` arguments that run `runtime/cli/server.ts` on the world's config, then `extraArgs`. */
export function serverProcessArgs(w: SplitWorld, extraArgs: string[]): string[] {
  return [
    "run",
    "--allow-net",
    "--allow-read",
    `--allow-write=${w.root}`,
    "--allow-ffi",
    "--allow-sys",
    "--allow-env",
    new URL("runtime/cli/server.ts", ROOT).pathname,
    "--config",
    w.serverConfigFile,
    ...extraArgs,
  ];
}

/** Starts `runtime/cli/server.ts` on the world's config as a subprocess; resolves once it listens. */
export async function startServerProcess(
  w: SplitWorld,
  // These tests read the status after training: the server keeps serving the finished study.
  extraArgs: string[] = ["--serve-finished"],
): Promise<{ child: Deno.ChildProcess; output: string[] }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: serverProcessArgs(w, extraArgs),
    cwd: w.root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const collect = async (s: ReadableStream<Uint8Array>) => {
    for await (const t of s.pipeThrough(new TextDecoderStream())) output.push(t);
  };
  void collect(child.stdout).catch(() => {});
  void collect(child.stderr).catch(() => {});
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${w.port}/health`);
      await r.body?.cancel();
      if (r.ok) return { child, output };
    } catch { /* not yet */ }
    if (Date.now() - t0 > 60_000) throw new Error(`server did not start: ${output.join("")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET /v1/status of the world's server. */
export async function serverStatus(w: SplitWorld): Promise<{ step: number; epoch: number; finished: boolean; clinics: { name: string; steps: number }[] }> {
  const r = await fetch(`http://127.0.0.1:${w.port}/v1/status`);
  return await r.json();
}
