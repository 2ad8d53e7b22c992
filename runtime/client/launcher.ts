/**
 * The clinic launcher (`deno task client`): starts the clinic's two sandboxed processes and
 * relays the {@linkcode RawSide} pipe between them (issue 5 design, "Clinic = three OS
 * processes").
 *
 * 1. Raw-data process (`raw_side/main.ts`) with {@linkcode rawSideFlags} only: read the data
 *    directory, the model file (none for a zoo model), the clinic key, onnxruntime-web's
 *    `.wasm`, the checkpoint directory; write the checkpoint directory. No network, no
 *    subprocesses, no FFI, no environment, no system information.
 * 2. Courier process (`courier_main.ts`) with {@linkcode courierFlags} only: network to the
 *    server's host:port; read the clinic key, the server public key and the peers file.
 *    It cannot read the data directory.
 * 3. This launcher: no network (the `client` task grants none); it reads the config, spawns
 *    the two (`--allow-run`), copies bytes between the raw side's stdout and the courier's
 *    stdin and back, and writes the result files the operator asked for.
 *
 * Both children get `--cached-only` (no module downloads at run time) and this repository's
 * `deno.json` as import map; neither grants a permission.
 *
 * @example
 * ```ts
 * import { launchClinic } from "./launcher.ts";
 * // const { result } = await launchClinic(config, "train", { onLine: (l) => console.log(l) });
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RawSideProcessConfig } from "./raw_side/config.ts";
import { rawSideCommandArgs } from "./raw_side/process.ts";
import { courierFlags } from "./courier_flags.ts";
import type { ClientConfig } from "./client_config.ts";
import { type CourierConfig, RESULT_PREFIX } from "./courier_main.ts";
import type { ClinicResult } from "./clinic.ts";

const COURIER_MAIN = new URL("./courier_main.ts", import.meta.url);
const DENO_JSON = new URL("../../deno.json", import.meta.url);

/**
 * Options of {@linkcode launchClinic}.
 *
 * @example
 * ```ts
 * import type { LaunchOptions } from "./launcher.ts";
 * const o: LaunchOptions = { onLine: (l) => console.log(l), keepScores: true };
 * ```
 */
export interface LaunchOptions {
  /** Each log line of the two processes (default: printed to stderr). */
  onLine?: (line: string) => void;
  /** Sees every byte chunk relayed, by direction (canary audits). */
  onBytes?: (direction: "toCourier" | "toRawSide", bytes: Uint8Array) => void;
  /** The deno executable (default `Deno.execPath()`). */
  denoPath?: string;
  /** Keep evaluation scores in the result. */
  keepScores?: boolean;
  /** Prediction input file (task `predict`). */
  predictFile?: string;
  /**
   * Task `predict`: also assemble the full model (needs `policy.allowExport` in the clinic
   * config and `allowExport` at the server); the raw side writes it into the checkpoint
   * directory and the courier's result names the file (`exportFile`, an absolute path).
   */
  exportModel?: boolean;
  /** Print a line per training step. */
  verboseSteps?: boolean;
  /** Pause between turn polls (ms). */
  pollMs?: number;
  /** Both children log per-phase timings at the end (`profile ...` lines to `onLine`). */
  profile?: boolean;
  /** Called with the two process ids once spawned (fault tests). */
  onSpawn?: (pids: { rawSide: number; courier: number }) => void;
}

/**
 * The raw-data process config for a clinic config.
 *
 * @example
 * ```ts
 * import { rawSideConfigOf } from "./launcher.ts";
 * // rawSideConfigOf(clientConfig).zoo // "cnn"
 * ```
 */
export function rawSideConfigOf(c: ClientConfig, predictFile?: string, profile = false): RawSideProcessConfig {
  const onnx = c.model.endsWith(".onnx");
  return {
    clinic: c.name,
    dataFile: c.data,
    ...(c.dataLabel ? { dataLabel: c.dataLabel } : {}),
    ...(c.dataPositive ? { dataPositive: c.dataPositive } : {}),
    ...(c.rows ? { rows: c.rows } : {}),
    ...(onnx ? { modelFile: c.model } : { zoo: c.model }),
    cuts: c.cuts ?? [],
    mode: c.mode,
    loss: c.loss,
    optimizer: c.optimizer,
    seed: c.seed,
    batchSize: c.batchSize,
    evalBatchSize: c.evalBatchSize,
    keyFile: c.clinicKey,
    checkpointDir: c.checkpointDir,
    threads: c.threads,
    augment: c.augment,
    ...(profile ? { profile: true } : {}),
    allowExport: c.policy.allowExport,
    ...(Object.keys(c.defence ?? {}).length > 0 ? { defence: c.defence } : {}),
    ...(predictFile ? { predictFile } : {}),
    codec: { dtype: c.codec.dtype, level: c.codec.level },
  };
}

/**
 * The courier process config for a clinic config.
 *
 * @example
 * ```ts
 * import { courierConfigOf } from "./launcher.ts";
 * // courierConfigOf(clientConfig, "train").server
 * ```
 */
export function courierConfigOf(
  c: ClientConfig,
  task: "train" | "predict",
  o: Pick<LaunchOptions, "keepScores" | "verboseSteps" | "pollMs" | "exportModel" | "profile"> = {},
): CourierConfig {
  return {
    task,
    server: c.server,
    keyFile: c.clinicKey,
    serverPublicKeyFile: c.serverPublicKey,
    ...(c.peers ? { peersFile: c.peers } : {}),
    ...(c.pskFile ? { pskFile: c.pskFile } : {}),
    codec: c.codec,
    loss: c.loss,
    turnsPerEpoch: c.turnsPerEpoch,
    retries: c.retries,
    patienceMs: c.patienceMs,
    ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    keepScores: o.keepScores ?? false,
    verboseSteps: o.verboseSteps ?? false,
    ...(o.exportModel ? { exportModel: true } : {}),
    ...(o.profile ? { profile: true } : {}),
  };
}

/**
 * The full `deno` argument list of the courier process.
 *
 * @example
 * ```ts
 * import { courierCommandArgs } from "./launcher.ts";
 * // courierCommandArgs(courierConfig) -> ["run", "--no-prompt", "--allow-net=...", ...]
 * ```
 */
export function courierCommandArgs(config: CourierConfig): string[] {
  return [
    "run",
    ...courierFlags({
      server: config.server,
      keyFile: config.keyFile,
      serverPublicKeyFile: config.serverPublicKeyFile,
      peersFile: config.peersFile,
      pskFile: config.pskFile,
    }),
    "--cached-only",
    `--config=${fileURLToPath(DENO_JSON)}`,
    fileURLToPath(COURIER_MAIN),
    JSON.stringify(config),
  ];
}

async function lines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void): Promise<void> {
  let partial = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const ls = (partial + text).split("\n");
    partial = ls.pop()!;
    for (const l of ls) onLine(l);
  }
  if (partial) onLine(partial);
}

function tap(
  from: ReadableStream<Uint8Array>,
  to: WritableStream<Uint8Array>,
  see?: (b: Uint8Array) => void,
): Promise<void> {
  const src = see
    ? from.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        see(chunk);
        ctl.enqueue(chunk);
      },
    }))
    : from;
  return src.pipeTo(to).catch(() => {});
}

/**
 * A finished clinic run: the courier's result and the exit codes.
 *
 * @example
 * ```ts
 * import type { LaunchResult } from "./launcher.ts";
 * function ok(r: LaunchResult) { return r.courierCode === 0; }
 * ```
 */
export interface LaunchResult<T = unknown> {
  result: T;
  courierCode: number;
  rawSideCode: number;
}

/**
 * Spawns the raw-data and courier processes of clinic `config`, relays between them and
 * returns the courier's result.
 *
 * @throws {Error} when the courier fails: the message is its last error line
 * @example
 * ```ts
 * import { launchClinic } from "./launcher.ts";
 * // const r = await launchClinic(config, "train");
 * // console.log((r.result as ClinicResult).eval.test);
 * ```
 */
export async function launchClinic<T = ClinicResult>(
  config: ClientConfig,
  task: "train" | "predict",
  opts: LaunchOptions = {},
): Promise<LaunchResult<T>> {
  if (opts.exportModel && (task !== "predict" || !config.policy.allowExport)) {
    throw new Error(
      task !== "predict"
        ? "exporting the full model is part of predict"
        : `clinic ${config.name}: policy.allowExport is false in its config; the full model is not assembled`,
    );
  }
  const deno = opts.denoPath ?? Deno.execPath();
  const onLine = opts.onLine ?? ((l: string) => console.error(l));
  // The raw side may write only inside its checkpoint directory, so it must exist first.
  try {
    await Deno.mkdir(config.checkpointDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new Error(`clinic ${config.name}: checkpointDir ${config.checkpointDir}: not a directory`, { cause: e });
    }
    throw e;
  }
  const rawArgs = rawSideCommandArgs(rawSideConfigOf(config, opts.predictFile, opts.profile));
  const courierArgs = courierCommandArgs(courierConfigOf(config, task, opts));
  const raw = new Deno.Command(deno, { args: rawArgs, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  let courier: Deno.ChildProcess;
  try {
    courier = new Deno.Command(deno, { args: courierArgs, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  } catch (e) {
    raw.kill("SIGKILL");
    await raw.status;
    throw e;
  }
  opts.onSpawn?.({ rawSide: raw.pid, courier: courier.pid });
  const relays = [
    tap(raw.stdout, courier.stdin, opts.onBytes && ((b) => opts.onBytes!("toCourier", b))),
    tap(courier.stdout, raw.stdin, opts.onBytes && ((b) => opts.onBytes!("toRawSide", b))),
  ];
  let result: unknown = undefined, lastError = "", rawError = "";
  const logs = [
    lines(raw.stderr, (l) => {
      if (/\[[WE]:onnxruntime/.test(l)) return; // onnxruntime's own warnings
      if (/^raw side( \[[A-Z_]+\])?: /.test(l)) rawError = l; // its fatal error (raw_side/main.ts)
      if (l.trim()) onLine(`[${config.name} raw side] ${l}`);
    }),
    lines(courier.stderr, (l) => {
      if (l.startsWith(RESULT_PREFIX)) {
        result = JSON.parse(l.slice(RESULT_PREFIX.length));
        return;
      }
      if (/^courier( \[|:)/.test(l)) lastError = l;
      if (l.trim()) onLine(l);
    }),
  ];
  const courierStatus = await courier.status;
  if (!courierStatus.success) {
    // The courier died: the raw side gets no more requests, stop it.
    try {
      raw.kill("SIGTERM");
    } catch { /* gone */ }
  }
  const timer = setTimeout(() => {
    try {
      raw.kill("SIGKILL");
    } catch { /* gone */ }
  }, 10_000);
  const rawStatus = await raw.status;
  clearTimeout(timer);
  await Promise.all([...logs, ...relays]);
  if (!courierStatus.success || result === undefined) {
    // When the raw side failed on its own (a missing data file, a bad model, a key), the
    // courier only saw its pipe close: the raw side's own error is the one to report.
    if (!rawStatus.success && rawError) throw new Error(`clinic ${config.name}: ${rawError}`);
    throw new Error(lastError || `clinic ${config.name}: courier exited with code ${courierStatus.code}`);
  }
  const exported = (result as { exportFile?: unknown } | null)?.exportFile;
  if (exported !== undefined) {
    // The raw side names a file in its checkpoint directory; never follow a path elsewhere.
    if (typeof exported !== "string" || !/^[^/\\]+\.onnx$/.test(exported) || exported.startsWith(".")) {
      throw new Error(`clinic ${config.name}: the export names ${JSON.stringify(exported)}, not a file of the checkpoint directory`);
    }
    (result as { exportFile: string }).exportFile = join(config.checkpointDir, exported);
  }
  return { result: result as T, courierCode: courierStatus.code, rawSideCode: rawStatus.code };
}
