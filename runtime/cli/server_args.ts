/**
 * The server's command line: `--config <server.json>` read and checked, then the flags that
 * override it (`--listen`, `--engine`, `--checkpoint-dir`, `--epochs`). Both the `server`
 * task's launcher (`server_launch.ts`, which derives the server's permissions from the result)
 * and the server itself (`server.ts`) read the arguments here, so they cannot disagree on
 * the address or the checkpoint directory.
 *
 * Relative paths in the file resolve against the file's folder; a relative `--config` or
 * `--checkpoint-dir` against the working directory (see `enterUserDir` in `main.ts`).
 *
 * @example
 * ```ts
 * import { readServerArgs } from "./server_args.ts";
 * try {
 *   await readServerArgs(["--listen", "0.0.0.0:8443"]);
 * } catch (e) {
 *   console.log((e as Error).message); // "--config is required"
 * }
 * ```
 * @module
 */
import { dirname, resolve } from "node:path";
import { ENGINE_NAMES, type EngineName } from "../engine/mod.ts";
import {
  parseListen,
  parseServerConfigFile,
  type ServerConfigFile,
} from "../server/config_file.ts";
import { parseFlags, readInput, UsageError } from "./main.ts";
import type { PublishedStudy } from "../study/published_study.ts";
import { mergeStudyConfig } from "../server/study_config.ts";
import { readStudyFile } from "./study_file.ts";
import { type RoleArgs, readServerRole } from "./server_role.ts";
import { checkReplicaSchedule } from "../cluster/replica_schedule.ts";
import { resolveScheduleConfig } from "../server/schedule_config.ts";

/** The usage line of `deno task server`. */
export const SERVER_USAGE = "usage: deno task server --config <server.json> [--listen host:port] " +
  "[--engine native|wasm|webgpu|native-webgpu] [--checkpoint-dir DIR] [--epochs N] [--turns-per-epoch T] " +
  "[--study <study.json>] [--new-study] [--serve-finished] [--role single|front|trainer] [--nats <url>] [--trainer-id <id>] [--applied-log <file>] [--bus-timeout-ms <ms>]";

/**
 * The server's arguments: its config (the study's fields merged in, when it runs a study
 * file) and the study-lifecycle flags.
 *
 * @example
 * ```ts
 * import type { ServerArgs } from "./server_args.ts";
 * function id(a: ServerArgs) { return a.study?.id ?? "(no study file)"; }
 * ```
 */
export type ServerArgs = ServerConfigFile & RoleArgs & {
  /** The study it publishes (from `--study` or the config's `study` field). */
  study?: PublishedStudy;
  /** `--new-study`: keep the checkpoint directory's state under `studies/` and start afresh. */
  newStudy: boolean;
  /** `--serve-finished`: keep serving a finished study (for `client predict`) instead of exiting. */
  serveFinished: boolean;
};

/**
 * Parses the server's arguments and reads its config file; flags override the file.
 *
 * @throws {UsageError} for a bad or missing flag, or a config file that does not parse
 * @throws {Error} naming `--config` when the file cannot be read
 * @example
 * ```ts
 * import { readServerArgs } from "./server_args.ts";
 * // const file = await readServerArgs(["--config", "/etc/splitgate/server.json"]);
 * // file.hostname, file.port, file.checkpointDir
 * ```
 */
export async function readServerArgs(args: string[]): Promise<ServerArgs> {
  const values = parseFlags(args, {
    config: { type: "string" },
    listen: { type: "string" },
    engine: { type: "string" },
    "checkpoint-dir": { type: "string" },
    epochs: { type: "string" },
    "turns-per-epoch": { type: "string" },
    study: { type: "string" },
    "new-study": { type: "boolean" },
    "serve-finished": { type: "boolean" },
    role: { type: "string" },
    nats: { type: "string" },
    "trainer-id": { type: "string" },
    "applied-log": { type: "string" },
    "bus-timeout-ms": { type: "string" },
  });
  // Checked before the config is read: a missing --nats is the error to see first.
  const role = readServerRole(values, envValue, () => Deno.hostname());
  if (!values.config) throw new UsageError("--config is required");
  const text = new TextDecoder().decode(await readInput("--config", values.config));
  let file: ServerArgs;
  try {
    const { text: merged, study } = await withStudy(text, values.config, values.study);
    file = { ...parseServerConfigFile(merged, dirname(resolve(values.config))), ...role, study, newStudy: false, serveFinished: false };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // Not JSON, or a bad field: one line naming the file.
    throw new UsageError(`${values.config}: ${(e as Error).message}`);
  }
  try {
    // The schedule's fields against each other (serverBatch "merge" needs "parallel", ...),
    // with the study's merged in: a config error, refused before anything starts. Replicas
    // have their own rules (a trainer runs its clinics as "parallel" inside).
    if (role.role === "single") resolveScheduleConfig(file, file.mode);
    else checkReplicaSchedule(file);
  } catch (e) {
    throw new UsageError(`${values.config}: ${(e as Error).message}`);
  }
  file.newStudy = values["new-study"] === true;
  if (file.newStudy && role.role !== "single") {
    // Replicas keep a study's rounds in the object store under its id; starting afresh there
    // would race the other trainers, so a new study takes a new id.
    throw new UsageError(`--new-study: not with --role ${role.role}; give the new study its own id (the study file's "id") so its rounds start afresh`);
  }
  file.serveFinished = values["serve-finished"] === true;
  if (file.study && (values.epochs !== undefined || values["turns-per-epoch"] !== undefined)) {
    throw new UsageError(`--epochs and --turns-per-epoch: the study file sets the schedule (study ${file.study.id}); change it there`);
  }
  if (values.listen) {
    try {
      Object.assign(file, parseListen(values.listen));
    } catch (e) {
      throw new UsageError(`--${(e as Error).message}`);
    }
  }
  if (values.engine) {
    if (!ENGINE_NAMES.includes(values.engine as EngineName)) {
      throw new UsageError(`--engine ${values.engine}: expected one of ${ENGINE_NAMES.join(", ")}`);
    }
    file.engine = values.engine as EngineName;
  }
  if (values["checkpoint-dir"]) file.checkpointDir = resolve(values["checkpoint-dir"]);
  if (values.epochs !== undefined) file.epochs = positiveInteger("--epochs", values.epochs);
  if (values["turns-per-epoch"] !== undefined) {
    file.turnsPerEpoch = positiveInteger("--turns-per-epoch", values["turns-per-epoch"]);
  }
  return file;
}

/**
 * The config text with the study's fields merged in, when a study file is named (`--study`,
 * else the config's `study` field, relative to the config's folder), and the published study.
 */
async function withStudy(
  configText: string,
  configPath: string,
  flag: string | undefined,
): Promise<{ text: string; study?: PublishedStudy }> {
  let config;
  try {
    config = JSON.parse(configText);
  } catch {
    return { text: configText }; // the config parser says what is wrong with it
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) return { text: configText };
  const field = config.study;
  delete config.study;
  if (field !== undefined && typeof field !== "string") throw new TypeError("config.study: expected the path of a study file");
  const path = flag !== undefined ? resolve(flag) : field !== undefined ? resolve(dirname(resolve(configPath)), field) : undefined;
  if (path === undefined) return { text: configText };
  const what = flag !== undefined ? "--study" : "config.study";
  const { study, onnx } = await readStudyFile(what, path);
  const merged = mergeStudyConfig(config, study, path, onnx);
  return { text: JSON.stringify(merged.config), study: merged.published };
}

/** An environment variable, or undefined where this process may not read it. */
function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** A flag's value as an integer ≥ 1, or a usage error naming the flag and the value. */
function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} ${value}: expected a positive integer`);
  return n;
}
