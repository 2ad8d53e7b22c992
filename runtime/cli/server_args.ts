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

/** The usage line of `deno task server`. */
export const SERVER_USAGE = "usage: deno task server --config <server.json> [--listen host:port] " +
  "[--engine native|wasm|webgpu|native-webgpu] [--checkpoint-dir DIR] [--epochs N] [--turns-per-epoch T]";

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
export async function readServerArgs(args: string[]): Promise<ServerConfigFile> {
  const values = parseFlags(args, {
    config: { type: "string" },
    listen: { type: "string" },
    engine: { type: "string" },
    "checkpoint-dir": { type: "string" },
    epochs: { type: "string" },
    "turns-per-epoch": { type: "string" },
  });
  if (!values.config) throw new UsageError("--config is required");
  const text = new TextDecoder().decode(await readInput("--config", values.config));
  let file: ServerConfigFile;
  try {
    file = parseServerConfigFile(text, dirname(resolve(values.config)));
  } catch (e) {
    // Not JSON, or a bad field: one line naming the file.
    throw new UsageError(`${values.config}: ${(e as Error).message}`);
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

/** A flag's value as an integer ≥ 1, or a usage error naming the flag and the value. */
function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} ${value}: expected a positive integer`);
  return n;
}
