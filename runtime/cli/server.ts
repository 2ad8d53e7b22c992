/**
 * `deno task server --config server.json [--listen host:port] [--engine native|wasm|webgpu|native-webgpu]
 *  [--checkpoint-dir DIR] [--epochs N] [--turns-per-epoch T] [--study study.json] [--new-study]
 *  [--serve-finished]`
 *
 * Runs the split-learning server: loads the server key, the clinic allowlist and the model,
 * resumes from the checkpoint directory when it holds a checkpoint, and serves the Hono
 * app (runtime/server) with Deno.serve until the study is finished and every clinic has left
 * (exit 0; `server_end.ts`), or until interrupted. Flags override the config file. With a
 * study file (`--study`, or the config's `study`) the checkpoint directory is made to hold
 * that study first (`runtime/server/study_folder.ts`: resume it, keep a former study's state
 * under `studies/`, or refuse).
 *
 * Permissions: exactly those of `serverFlags` (`runtime/server/server_flags.ts`):
 * `--allow-net=<listen host:port>`, `--allow-read` (config, keys, allowlist, model,
 * checkpoints, and onnxruntime's files), `--allow-write=<checkpoint dir>`, and for the native
 * engine `--allow-ffi --allow-sys --allow-env`. `deno task server` starts it through
 * `server_launch.ts`, which derives them from the config; a systemd unit writes them out.
 *
 * @example
 * ```sh
 * deno task server --config deploy/server.json --listen 0.0.0.0:8443
 * ```
 * @module
 */
import { CHANNEL_CIPHERS } from "../../crypto/channel/handshake.ts";
import { parseHexKey } from "../../crypto/keys/hex_key.ts";
import { describeNoiseCipher } from "../../crypto/noise/cipher_select.ts";
import { loadAllowlist, loadPrivateKeyFile } from "../keys/key_store.ts";
import { createServerApp, resumedAt, type ServerConfig } from "../server/mod.ts";
import { readInput, runMain } from "./main.ts";
import { listenAt } from "./listen_at.ts";
import { describeInt8Placement } from "../config/quantize_mode.ts";
import { enterUserDir } from "./user_dir.ts";
import { readServerArgs, SERVER_USAGE } from "./server_args.ts";
import { parseTokenFile } from "../server/middleware/operator_access.ts";
import { prepareStudyFolder } from "../server/study_folder.ts";
import { finishedLine, watchStudyEnd } from "./server_end.ts";
import { serveClusterRole } from "./server_cluster.ts";

await runMain(async () => {
  enterUserDir();
  const file = await readServerArgs(Deno.args);
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
          `(start it with deno task server, which grants exactly that directory, ` +
          `or run runtime/cli/server.ts with --allow-write=${file.checkpointDir})`,
      );
    }
  }
  if (file.checkpointDir !== undefined) {
    const line = await prepareStudyFolder(file.checkpointDir, file.study, file.newStudy);
    if (line) console.log(line);
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
    schedule: file.schedule,
    serverBatch: file.serverBatch,
    clinicWeights: file.clinicWeights,
    frontAggregation: file.frontAggregation,
    merge: file.merge,
    allowExport: file.allowExport,
    labelProtection: file.labelProtection,
    codec: file.codec,
    deferUpdate: file.deferUpdate,
    statusFrom: file.statusFrom,
    cipher: file.cipher,
    study: file.study,
    metricsToken: file.metricsTokenFile === undefined
      ? undefined
      : parseTokenFile(new TextDecoder().decode(await readInput("metricsTokenFile", file.metricsTokenFile)), file.metricsTokenFile),
  };
  // Says now, on stderr, if frames will be sealed by @noble instead of node:crypto.
  describeNoiseCipher(CHANNEL_CIPHERS[file.cipher ?? "chachapoly"]);
  // --role front|trainer: a scale-out piece on NATS instead of the single server.
  if (file.role !== "single") return await serveClusterRole(file, config, { keyPair: key.keyPair, allowlist, psk });
  const server = await createServerApp(config, { keyPair: key.keyPair, allowlist, psk });
  if (server.resumed && server.schedule.finished && !file.serveFinished) {
    console.log(finishedLine(file.study?.id, file.checkpointDir));
    await server.close();
    return;
  }
  const names = allowlist.entries.map((e) => e.name).join(", ");
  const http = await listenAt(
    file,
    () => Deno.serve({
      hostname: file.hostname,
      port: file.port,
      onListen: (a) =>
        console.log(
          `splitgate server listening on ${a.hostname}:${a.port} (key ${key.name}, ${file.mode} mode, ${file.engine} engine); ` +
            `clinics: ${names}` +
            // Where the int8 cut is quantised is the operator's choice (config.codec.quantize).
            (file.codec?.dtype === "int8" ? `; ${describeInt8Placement(file.codec, "server")}` : "") +
            (server.resumed ? `; resumed at ${resumedAt(server.schedule, { turnsPerEpoch: file.turnsPerEpoch, epochs: file.epochs })}` : ""),
        ),
    }, server.app.fetch),
    () => server.close(),
  );
  const stop = async () => {
    server.endLiveViews(); // an open dashboard would hold the graceful shutdown forever
    await http.shutdown();
    await server.close();
  };
  // SIGTERM is what systemd and container runtimes send: finish the open requests too.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => void stop());
    } catch { /* signals unavailable: stop with the process */ }
  }
  const unwatch = file.serveFinished ? () => {} : watchStudyEnd(server, file.turnTimeoutMs, (line) => {
    console.log(line);
    void stop();
  });
  await http.finished;
  unwatch();
}, SERVER_USAGE);

/** Loads `path` for config field `field`; a missing file is named by its field. */
async function named<T>(field: string, path: string, load: (path: string) => Promise<T>): Promise<T> {
  try {
    return await load(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`config.${field} ${path}: file not found`, { cause: e });
    throw e;
  }
}
