/**
 * `deno task server --config server.json [--listen host:port] [--engine native|wasm|webgpu]
 *  [--checkpoint-dir DIR] [--epochs N] [--turns-per-epoch T]`
 *
 * Runs the split-learning server: loads the server key, the clinic allowlist and the model,
 * resumes from the checkpoint directory when it holds a checkpoint, and serves the Hono
 * app (runtime/server) with Deno.serve until interrupted. Flags override the config file.
 *
 * Permissions: `--allow-net=<listen host:port>`, `--allow-read` (config, keys, allowlist,
 * model, checkpoints, and onnxruntime's files), `--allow-write=<checkpoint dir>`, and for
 * the native engine `--allow-ffi --allow-sys --allow-env`.
 *
 * @example
 * ```sh
 * deno task server --config deploy/server.json --listen 0.0.0.0:8443
 * ```
 * @module
 */
import { dirname } from "node:path";
import { parseHexKey } from "../../crypto/keys/hex_key.ts";
import { loadAllowlist, loadPrivateKeyFile } from "../keys/key_store.ts";
import { ENGINE_NAMES, type EngineName } from "../engine/mod.ts";
import { createServerApp, resumedAt, type ServerConfig } from "../server/mod.ts";
import { parseListen, parseServerConfigFile } from "../server/config_file.ts";
import { parseFlags, readInput, runMain, UsageError } from "./main.ts";

const USAGE = "usage: deno task server --config <server.json> [--listen host:port] " +
  "[--engine native|wasm|webgpu] [--checkpoint-dir DIR] [--epochs N] [--turns-per-epoch T]";

await runMain(async () => {
  const values = parseFlags(Deno.args, {
    config: { type: "string" },
    listen: { type: "string" },
    engine: { type: "string" },
    "checkpoint-dir": { type: "string" },
    epochs: { type: "string" },
    "turns-per-epoch": { type: "string" },
  });
  if (!values.config) throw new UsageError("--config is required");
  const text = new TextDecoder().decode(await readInput("--config", values.config));
  const file = parseServerConfigFile(text, dirname(values.config));
  if (values.listen) Object.assign(file, parseListen(values.listen));
  if (values.engine) {
    if (!ENGINE_NAMES.includes(values.engine as EngineName)) {
      throw new UsageError(`--engine ${values.engine}: expected one of ${ENGINE_NAMES.join(", ")}`);
    }
    file.engine = values.engine as EngineName;
  }
  if (values["checkpoint-dir"]) file.checkpointDir = values["checkpoint-dir"];
  if (values.epochs !== undefined) {
    const n = Number(values.epochs);
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(`--epochs ${values.epochs}: expected a positive integer`);
    }
    file.epochs = n;
  }
  if (values["turns-per-epoch"] !== undefined) {
    const n = Number(values["turns-per-epoch"]);
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(`--turns-per-epoch ${values["turns-per-epoch"]}: expected a positive integer`);
    }
    file.turnsPerEpoch = n;
  }
  const key = await named("serverKey", file.serverKey, loadPrivateKeyFile);
  const allowlist = await named("allowlist", file.allowlist, loadAllowlist);
  let psk: Uint8Array | undefined;
  if (file.pskFile) {
    const parsed = parseHexKey(
      new TextDecoder().decode(await readInput("pskFile", file.pskFile)).trim(),
    );
    if (typeof parsed === "string") throw new Error(`pskFile ${file.pskFile}: ${parsed}`);
    psk = parsed;
  }
  if (file.checkpointDir !== undefined) {
    // Fail now, not at the end of the first turn: a server that cannot checkpoint would
    // answer every TURN_DONE with an internal error while the clinics retry.
    const { state } = await Deno.permissions.query({ name: "write", path: file.checkpointDir });
    if (state !== "granted") {
      throw new Error(
        `checkpoint directory ${file.checkpointDir}: this process may not write there ` +
          `(deno task server grants --allow-write=out/server only; put checkpointDir below out/server, ` +
          `or run runtime/cli/server.ts with --allow-write=<that directory>)`,
      );
    }
  }
  const config: ServerConfig = {
    mode: file.mode,
    model: file.model.endsWith(".onnx")
      ? { onnx: await readInput("model", file.model), name: file.model, seed: file.seed }
      : { zoo: file.model, data: file.data!, seed: file.seed },
    cuts: file.cuts,
    loss: file.loss,
    optimizer: file.optimizer,
    engine: file.engine,
    threads: file.threads,
    checkpointDir: file.checkpointDir,
    limits: file.limits,
    turnTimeoutMs: file.turnTimeoutMs,
    order: file.order,
    epochs: file.epochs,
    turnsPerEpoch: file.turnsPerEpoch,
    allowExport: file.allowExport,
    labelProtection: file.labelProtection,
    codec: file.codec,
    deferUpdate: file.deferUpdate,
    statusFrom: file.statusFrom,
  };
  const server = await createServerApp(config, { keyPair: key.keyPair, allowlist, psk });
  const names = allowlist.entries.map((e) => e.name).join(", ");
  let http: Deno.HttpServer;
  try {
    http = Deno.serve({
      hostname: file.hostname,
      port: file.port,
      onListen: (a) =>
        console.log(
          `splitgate server listening on ${a.hostname}:${a.port} (key ${key.name}, ${file.mode} mode, ${file.engine} engine); ` +
            `clinics: ${names}` +
            (server.resumed ? `; resumed at ${resumedAt(server.schedule, { turnsPerEpoch: file.turnsPerEpoch, epochs: file.epochs })}` : ""),
        ),
    }, server.app.fetch);
  } catch (e) {
    // "Address already in use" alone does not say which address.
    await server.close();
    throw new Error(`listen ${file.hostname}:${file.port}: ${(e as Error).message}`, { cause: e });
  }
  const stop = async () => {
    await http.shutdown();
    await server.close();
  };
  try {
    Deno.addSignalListener("SIGINT", () => void stop());
  } catch { /* signals unavailable: stop with the process */ }
  await http.finished;
}, USAGE);

/** Loads `path` for config field `field`; a missing file is named by its field. */
async function named<T>(field: string, path: string, load: (path: string) => Promise<T>): Promise<T> {
  try {
    return await load(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`config.${field} ${path}: file not found`, { cause: e });
    throw e;
  }
}
