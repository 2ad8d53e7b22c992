/**
 * The clinic launcher (`deno task client`): starts the clinic's two sandboxed processes and
 * relays the {@linkcode RawSide} pipe between them (docs/design/processes_and_permissions.md).
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
 * Both children get `--cached-only` (no module downloads at run time), `--no-remote` (no
 * `http(s):`/`jsr:` module at all), `--frozen` (no write to `deno.lock`, which lies in the code
 * folder) and this repository's `deno.json` as import map; none grants a permission. They start
 * with a cleared environment holding only {@linkcode childEnv}'s variables (docs/design/security_model.md).
 *
 * Before anything starts, {@linkcode checkSandboxFolders} refuses links inside the data and
 * checkpoint folders and folders that overlap keys, code or the module cache, and the grants
 * name real paths.
 *
 * @example
 * ```ts
 * import { launchClinic } from "./launcher.ts";
 * import type { ClientConfig } from "./client_config.ts";
 * async function train(config: ClientConfig) {
 *   const { result } = await launchClinic(config, "train", { onLine: (l) => console.log(l) });
 *   return result.turns;
 * }
 * ```
 * @module
 */
import { type ClinicEventRecord, parseEventLine } from "./clinic_event_line.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RawSideProcessConfig } from "./raw_side/config.ts";
import { rawSideCommandArgs } from "./raw_side/process.ts";
import { courierFlags } from "./courier_flags.ts";
import { archiveClinicState, readClinicStudy, storeClinicStudy, storedForGate } from "./clinic_study_folder.ts";
import type { StudyGate } from "./study_gate.ts";
import { checkStudyData } from "../study/check_study_data.ts";
import { clinicDataCheck } from "./clinic_data_check.ts";
import { type PublishedStudy, receiveStudy } from "../study/published_study.ts";
import type { ClientConfig } from "./client_config.ts";
import { type CourierConfig, STUDY_PREFIX } from "./courier_main.ts";
import type { ClinicResult } from "./clinic.ts";
import { ClinicError } from "./clinic_error.ts";
import { ChildLog } from "./child_log.ts";
import { childEnv } from "./child_env.ts";
import { checkSandboxFolders } from "./sandbox_folders.ts";
import { checkCheckpointMode, prepareCheckpointDir } from "./checkpoint_dir.ts";
import { lines, tap } from "./child_streams.ts";

const COURIER_MAIN = new URL("./courier_main.ts", import.meta.url);
const DENO_JSON = new URL("../../deno.json", import.meta.url);
/** Module loading of the courier: cache only, no remote module, the lockfile read-only. */
const MODULE_FLAGS = ["--cached-only", "--no-remote", "--frozen"];

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
  /** Task `train`: accept the server's study on a first run without a pin (`--trust-study`). */
  trustStudy?: boolean;
  /** Task `train`: keep the state folder's former study under `studies/` and start afresh (`--new-study`). */
  newStudy?: boolean;
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
  /**
   * Revoke this process's `run` permission once both children run (the `client` command does):
   * a `deno task` cannot name the Deno executable in `--allow-run`, so the launcher gives the
   * permission up as soon as it has used it; from then on it can spawn nothing (not `curl`, not
   * `sh`). Stopping its children needs no `run` permission. Default false: a test process or the
   * demo launches several clinics.
   */
  revokeRun?: boolean;
  /**
   * Task `train`: run the data check of a CSV (`clinic_data_check.ts`) once the study is
   * verified and stored, against the schema the raw side will encode with (the config's, else
   * the study's), and hand its summary here; a table that would be refused is refused before
   * either child starts. Unset: no check (the raw side still refuses a bad table).
   */
  onDataCheck?: (summary: string) => void;
  /** Called with the two process ids once spawned (fault tests). */
  onSpawn?: (pids: { rawSide: number; courier: number }) => void;
  /**
   * Every progress event of the courier, steps included, instead of its progress lines
   * (`clinic_event_line.ts`; the other log lines still go to `onLine`).
   */
  onEvent?: (e: ClinicEventRecord) => void;
}

/**
 * The raw-data process config for a clinic config.
 *
 * @example
 * ```ts
 * import { rawSideConfigOf } from "./launcher.ts";
 * import type { ClientConfig } from "./client_config.ts";
 * function zoo(clientConfig: ClientConfig) { return rawSideConfigOf(clientConfig).zoo; } // "cnn" for a zoo model
 * ```
 */
export function rawSideConfigOf(c: ClientConfig, predictFile?: string, profile = false): RawSideProcessConfig {
  const onnx = c.model.endsWith(".onnx");
  return {
    clinic: c.name,
    dataFile: c.data,
    ...(c.dataLabel ? { dataLabel: c.dataLabel } : {}),
    ...(c.dataPositive ? { dataPositive: c.dataPositive } : {}),
    ...(c.dataSchema ? { dataSchema: c.dataSchema } : {}),
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
 * import type { ClientConfig } from "./client_config.ts";
 * function server(clientConfig: ClientConfig) { return courierConfigOf(clientConfig, "train").server; }
 * ```
 */
export function courierConfigOf(
  c: ClientConfig,
  task: CourierConfig["task"],
  o: Pick<LaunchOptions, "keepScores" | "verboseSteps" | "pollMs" | "exportModel" | "profile" | "onEvent"> = {},
): CourierConfig {
  return {
    task,
    server: c.server,
    keyFile: c.clinicKey,
    serverPublicKeyFile: c.serverPublicKey,
    ...(c.peers ? { peersFile: c.peers } : {}),
    ...(c.pskFile ? { pskFile: c.pskFile } : {}),
    ...(c.cipher && c.cipher !== "chachapoly" ? { cipher: c.cipher } : {}),
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
    ...(o.onEvent ? { events: true } : {}),
  };
}

/**
 * The full `deno` argument list of the courier process.
 *
 * @example
 * ```ts
 * import { courierCommandArgs } from "./launcher.ts";
 * const args = courierCommandArgs({ task: "train", server: "http://127.0.0.1:8443", keyFile: "a.key",
 *   serverPublicKeyFile: "s.pub", codec: { dtype: "float32", level: 0 }, loss: "bce" });
 * console.log(args.slice(0, 3)); // ["run", "--no-prompt", "--allow-net=127.0.0.1:8443"]
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
    ...MODULE_FLAGS,
    `--config=${fileURLToPath(DENO_JSON)}`,
    fileURLToPath(COURIER_MAIN),
    JSON.stringify(config),
  ];
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
 * What the courier checks the server's study against (`study_gate.ts`): the config's pin, the
 * study the state folder holds (after `--new-study` kept a former one under `studies/`), the
 * operator's `--trust-study`, and the config's own mode, loss, turns per epoch and defences.
 */
async function studyGateOf(config: ClientConfig, opts: LaunchOptions, say: (l: string) => void): Promise<StudyGate> {
  if (opts.newStudy) {
    const kept = await archiveClinicState(config.checkpointDir);
    if (kept) say(`[${config.name}] --new-study: kept this clinic's former state in ${kept}; starting afresh`);
  }
  const stored = storedForGate(await readClinicStudy(config.checkpointDir));
  return {
    ...(config.study ? { pin: config.study } : {}),
    ...(stored ? { stored } : {}),
    ...(opts.trustStudy ? { trustFirstUse: true } : {}),
    local: {
      mode: config.mode,
      loss: config.loss,
      turnsPerEpoch: config.turnsPerEpoch,
      defence: config.defence,
      ...(config.dataSchema ? { dataSchema: config.dataSchema } : {}),
    },
  };
}

/**
 * Runs the courier alone on task `study` (same permissions, no raw side): the server's study,
 * checked against `gate`, or null when the server runs none.
 *
 * @throws {ClinicError} `COURIER_FAILED` with the courier's error line (`STUDY_MISMATCH`, …)
 */
async function fetchStudyFirst(
  config: ClientConfig,
  gate: StudyGate,
  deno: string,
  say: (l: string) => void,
): Promise<PublishedStudy | null> {
  const args = courierCommandArgs({ ...courierConfigOf(config, "study"), clinic: config.name, study: gate });
  const courier = new Deno.Command(deno, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    clearEnv: true,
    env: childEnv({ courier: config.server }),
  }).spawn();
  const log = new ChildLog(config.name, say);
  await lines(courier.stderr, (l) => log.courierLine(l));
  const status = await courier.status;
  const result = log.result as { study?: PublishedStudy | null } | undefined;
  if (!status.success || result === undefined) throw log.failure(status.code, true);
  if (!result.study) return null;
  const p = result.study;
  return receiveStudy(p.id, p.digest, new TextEncoder().encode(p.text));
}

/**
 * `config` with the data schema of the study its state folder holds (`data`), when it has
 * one: the raw side then encodes the records with the study's vocabularies and scaling, never
 * with local statistics, through its process config (no new permission).
 */
async function withStudySchema(config: ClientConfig): Promise<ClientConfig> {
  const data = (await readClinicStudy(config.checkpointDir))?.definition.data;
  return data === undefined ? config : { ...config, dataSchema: checkStudyData(data) };
}

/** Stores the study the courier accepted (its JSON line), after checking its digest again. */
async function storeAcceptedStudy(dir: string, json: string): Promise<void> {
  const p = JSON.parse(json) as PublishedStudy;
  await storeClinicStudy(dir, receiveStudy(p.id, p.digest, new TextEncoder().encode(p.text)));
}

/** Refuses an export the task or the clinic's policy does not allow. */
function checkExport(config: ClientConfig, task: "train" | "predict", opts: LaunchOptions): void {
  if (opts.exportModel && (task !== "predict" || !config.policy.allowExport)) {
    throw new ClinicError(
      "EXPORT_FORBIDDEN",
      task !== "predict"
        ? "exporting the full model is part of predict"
        : `clinic ${config.name}: policy.allowExport is false in its config; the full model is not assembled`,
    );
  }
}

/** The exported model's path: the raw side names a file of its checkpoint directory, never a path elsewhere. */
function exportPath(config: ClientConfig, exported: unknown): string {
  if (typeof exported !== "string" || !/^[^/\\]+\.onnx$/.test(exported) || exported.startsWith(".")) {
    throw new ClinicError(
      "EXPORT_INVALID",
      `clinic ${config.name}: the export names ${JSON.stringify(exported)}, not a file of the checkpoint directory`,
    );
  }
  return join(config.checkpointDir, exported);
}

/** Spawns the two children, the courier second; the raw side is killed if the courier cannot start. */
async function spawnChildren(
  deno: string,
  rawArgs: string[],
  courierArgs: string[],
  server: string,
): Promise<{ raw: Deno.ChildProcess; courier: Deno.ChildProcess }> {
  const piped = { stdin: "piped", stdout: "piped", stderr: "piped", clearEnv: true } as const;
  const raw = new Deno.Command(deno, { args: rawArgs, ...piped, env: childEnv("rawSide") }).spawn();
  try {
    const courier = new Deno.Command(deno, { args: courierArgs, ...piped, env: childEnv({ courier: server }) });
    return { raw, courier: courier.spawn() };
  } catch (e) {
    raw.kill("SIGKILL");
    await raw.status;
    throw e;
  }
}

/**
 * Spawns the raw-data and courier processes of clinic `config`, relays between them and
 * returns the courier's result. The children's progress lines go to `onLine`; their fatal
 * error lines do not: the one that explains the failure is the message of the error thrown
 * (see `child_log.ts`), so each error reaches the terminal once.
 *
 * @throws {ClinicError} `RAW_SIDE_FAILED` or `COURIER_FAILED` when a child fails (the message
 *   is its own error line); `EXPORT_FORBIDDEN`, `CHECKPOINT_DIR_INVALID`, `EXPORT_INVALID`;
 *   `SYMLINK_REFUSED`, `FOLDER_OVERLAP` (see {@linkcode checkSandboxFolders})
 * @example
 * ```ts
 * import { launchClinic } from "./launcher.ts";
 * import type { ClientConfig } from "./client_config.ts";
 * async function auc(config: ClientConfig) {
 *   const r = await launchClinic(config, "train");
 *   return r.result.eval.test?.auc;
 * }
 * ```
 */
export async function launchClinic<T = ClinicResult>(
  config: ClientConfig,
  task: "train" | "predict",
  opts: LaunchOptions = {},
): Promise<LaunchResult<T>> {
  checkExport(config, task, opts);
  const say = opts.onLine ?? ((l: string) => console.error(l));
  // Checked first: a refused checkpoint folder (inside the code, say) is never created.
  config = await checkSandboxFolders(config);
  const reset = await prepareCheckpointDir(config.checkpointDir, config.name);
  if (reset) say(reset);
  const study = task === "train" ? await studyGateOf(config, opts, say) : undefined;
  if (study && !study.stored && (study.pin || study.trustFirstUse)) {
    // First run of a pinned (or trusted) study: fetch and check it before the raw side starts,
    // so the raw side finds it in its folder from its first moment (its existing read grant).
    const accepted = await fetchStudyFirst(config, study, opts.denoPath ?? Deno.execPath(), say);
    if (accepted) {
      await storeClinicStudy(config.checkpointDir, accepted);
      study.stored = storedForGate(accepted);
    }
  }
  // A clinic config without a data schema encodes with the study's (stored before the raw side starts).
  if (task === "train" && !config.dataSchema) config = await withStudySchema(config);
  if (task === "train" && opts.onDataCheck) {
    const summary = await clinicDataCheck(config);
    if (summary) opts.onDataCheck(summary);
  }
  const rawArgs = rawSideCommandArgs(rawSideConfigOf(config, opts.predictFile, opts.profile));
  const courierArgs = courierCommandArgs({ ...courierConfigOf(config, task, opts), ...(study ? { study } : {}) });
  const { raw, courier } = await spawnChildren(
    opts.denoPath ?? Deno.execPath(),
    rawArgs,
    courierArgs,
    config.server,
  );
  if (opts.revokeRun) {
    Deno.permissions.revokeSync({ name: "run" });
    if (opts.verboseSteps) say(`[${config.name}] launcher: run permission given up (children ${raw.pid}, ${courier.pid})`);
  }
  opts.onSpawn?.({ rawSide: raw.pid, courier: courier.pid });
  const relays = [
    tap(raw.stdout, courier.stdin, opts.onBytes && ((b) => opts.onBytes!("toCourier", b))),
    tap(courier.stdout, raw.stdin, opts.onBytes && ((b) => opts.onBytes!("toRawSide", b))),
  ];
  const onEvent = opts.onEvent;
  const log = new ChildLog(config.name, onEvent ? (l) => {
    const e = parseEventLine(l);
    if (e) onEvent(e);
    else say(l);
  } : say);
  let storing: Promise<void> = Promise.resolve();
  const logs = [
    lines(raw.stderr, (l) => log.rawSideLine(l)),
    lines(courier.stderr, (l) => {
      if (l.startsWith(STUDY_PREFIX)) storing = storeAcceptedStudy(config.checkpointDir, l.slice(STUDY_PREFIX.length));
      else log.courierLine(l);
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
  await storing;
  // The raw side's write grant covers its folder itself (see checkpoint_dir.ts).
  const changed = await checkCheckpointMode(config.checkpointDir, config.name);
  if (changed) say(`${changed} (changed during the run)`);
  const result = log.result;
  if (!courierStatus.success || result === undefined) throw log.failure(courierStatus.code, rawStatus.success);
  log.flush();
  const exported = (result as { exportFile?: unknown } | null)?.exportFile;
  if (exported !== undefined) (result as { exportFile: string }).exportFile = exportPath(config, exported);
  return { result: result as T, courierCode: courierStatus.code, rawSideCode: rawStatus.code };
}
