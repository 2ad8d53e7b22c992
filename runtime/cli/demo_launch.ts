/**
 * The demos' throwaway deployment on one machine, shared by the image demo (`demo.ts`), the
 * schedule demo (`demo_schedules.ts`) and the tabular demo (`demo_table.ts`): fresh keys for
 * the server and each clinic plus the allowlist in a temp directory, the split server on
 * loopback (native engine when onnxruntime-node loads, else wasm), and the clinics, each the
 * real client — a sandboxed raw-data process and a courier process (`launcher.ts`).
 *
 * @example
 * ```ts
 * import { writeDemoKeys } from "./demo_launch.ts";
 * // const keys = await writeDemoKeys(`${root}/keys`, ["clinic-a", "clinic-b"]);
 * ```
 * @module
 */
import { Allowlist, generateStaticKeyPair, serializeAllowlist } from "../../crypto/keys/mod.ts";
import type { KeyPair } from "../../crypto/keys/key_pair.ts";
import { createEngine, type Engine } from "../engine/mod.ts";
import { writeKeyPairFiles } from "../keys/key_store.ts";
import { createServerApp, type ServerConfig, type ServerHandle } from "../server/mod.ts";
import type { ClinicResult } from "../client/clinic.ts";
import { parseClientConfig } from "../client/client_config.ts";
import { launchClinic } from "../client/launcher.ts";

/**
 * Keys written by {@linkcode writeDemoKeys}: `<dir>/server.*`, `<dir>/<clinic>.*`,
 * `<dir>/allowlist.json`.
 *
 * @example
 * ```ts
 * import type { DemoKeys } from "./demo_launch.ts";
 * function pub(k: DemoKeys) { return k.serverPub; }
 * ```
 */
export interface DemoKeys {
  dir: string;
  server: KeyPair;
  /** Path of the server's public key file. */
  serverPub: string;
  /** Each clinic's key pair, in the order of the names given. */
  pairs: KeyPair[];
  allowlist: Allowlist;
}

/**
 * Makes `dir` and writes throwaway keys of the server and of each clinic in `names`, and the
 * allowlist of the clinics.
 *
 * @example
 * ```ts
 * import { writeDemoKeys } from "./demo_launch.ts";
 * // const keys = await writeDemoKeys("/tmp/x/keys", ["clinic-a"]);
 * ```
 */
export async function writeDemoKeys(dir: string, names: readonly string[]): Promise<DemoKeys> {
  await Deno.mkdir(dir);
  const server = generateStaticKeyPair();
  const files = await writeKeyPairFiles(dir, "server", server);
  const pairs = names.map(() => generateStaticKeyPair());
  for (let i = 0; i < names.length; i++) await writeKeyPairFiles(dir, names[i], pairs[i]);
  const allowlist = new Allowlist(
    names.map((name, i) => ({ name, publicKey: pairs[i].publicKey })),
  );
  await Deno.writeTextFile(`${dir}/allowlist.json`, serializeAllowlist(allowlist));
  return { dir, server, serverPub: files.publicKeyPath, pairs, allowlist };
}

/**
 * The server's engine: `name` when given (its failure is the caller's error), else native,
 * falling back to wasm when onnxruntime-node does not load.
 *
 * @example
 * ```ts
 * import { demoServerEngine } from "./demo_launch.ts";
 * // const { engine, name } = await demoServerEngine(undefined);
 * ```
 */
export async function demoServerEngine(
  name: string | undefined,
): Promise<{ engine: Engine; name: string }> {
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

/**
 * A demo server listening on loopback.
 *
 * @example
 * ```ts
 * import type { DemoServer } from "./demo_launch.ts";
 * function url(s: DemoServer) { return `http://127.0.0.1:${s.port}`; }
 * ```
 */
export interface DemoServer {
  server: ServerHandle;
  http: Deno.HttpServer<Deno.NetAddr>;
  port: number;
}

/**
 * Creates the split server with `config` and the demo keys, logging `[server] …`, and serves
 * it on 127.0.0.1 at a free port.
 *
 * @example
 * ```ts
 * import { serveDemo } from "./demo_launch.ts";
 * // const s = await serveDemo(config, keys, engine);
 * ```
 */
export async function serveDemo(
  config: ServerConfig,
  keys: DemoKeys,
  engine: Engine,
): Promise<DemoServer> {
  const server = await createServerApp(config, {
    keyPair: keys.server,
    allowlist: keys.allowlist,
    engine,
    log: (l) => console.log(`[server] ${l}`),
  });
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, server.app.fetch);
  return { server, http, port: http.addr.port };
}

/**
 * Stops the server after training: live dashboard views first (an open dashboard would hold
 * the graceful shutdown forever), then the listener, then the app.
 *
 * @example
 * ```ts
 * import { closeDemoServer } from "./demo_launch.ts";
 * // await closeDemoServer(s);
 * ```
 */
export async function closeDemoServer(s: DemoServer): Promise<void> {
  s.server.endLiveViews();
  await s.http.shutdown();
  await s.server.close();
}

/**
 * The config fields every demo clinic shares: its name, the server's URL and key, its key and
 * the allowlist under `keys.dir`, its checkpoints in `root/<name>`, bce loss, eval batch 256.
 *
 * @example
 * ```ts
 * import { demoClinicBase } from "./demo_launch.ts";
 * // JSON.stringify({ ...demoClinicBase(root, keys, port, "clinic-a"), data: "x.npz", model: "cnn" });
 * ```
 */
export function demoClinicBase(
  root: string,
  keys: DemoKeys,
  port: number,
  name: string,
): Record<string, unknown> {
  return {
    name,
    server: `http://127.0.0.1:${port}`,
    serverPublicKey: keys.serverPub,
    clinicKey: `${keys.dir}/${name}.key`,
    peers: `${keys.dir}/allowlist.json`,
    loss: "bce",
    evalBatchSize: 256,
    checkpointDir: `${root}/${name}`,
  };
}

/**
 * Launches every clinic of `names` (raw side + courier processes) with the config
 * `configOf(name, index)` (relative paths resolve against `root`), echoing their lines, and
 * waits for all their results, test scores kept for the pooled AUC.
 *
 * @example
 * ```ts
 * import { launchDemoClinics } from "./demo_launch.ts";
 * // const results = await launchDemoClinics(root, names, (c, i) => ({ ...base(c), ... }));
 * ```
 */
export function launchDemoClinics(
  root: string,
  names: readonly string[],
  configOf: (name: string, index: number) => Record<string, unknown>,
): Promise<ClinicResult[]> {
  return Promise.all(names.map(async (c, i) => {
    const config = parseClientConfig(JSON.stringify(configOf(c, i)), root);
    return (await launchClinic(config, "train", {
      keepScores: true,
      onLine: (l) => console.log(l),
      pollMs: 50,
    })).result;
  }));
}
