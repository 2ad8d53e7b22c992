/**
 * The common frame of splitgate's command-line entry points: argument parsing with
 * `node:util`'s `parseArgs`, and one-line errors with a non-zero exit status instead of
 * stack traces (set `SPLITGATE_DEBUG=1` to see the stack).
 *
 * @example
 * ```ts
 * import { runMain } from "./main.ts";
 * await runMain(async () => { console.log("hello"); });
 * ```
 * @module
 */

import { isAbsolute, relative, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A usage error: wrong or missing flags. Printed with the command's usage line. */
export class UsageError extends Error {
  readonly code = "USAGE";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Runs `fn`; on an error prints `error: <message>` (and `usage` for a usage error) to
 * stderr and exits with status 1 (2 for usage errors). With `--help` or `-h` among the
 * command's arguments it prints `usage` to stdout instead and runs nothing (exit 0).
 *
 * @example
 * ```ts
 * import { runMain, UsageError } from "./main.ts";
 * await runMain(() => { throw new UsageError("--model is required"); }, "usage: grad --model F");
 * ```
 */
export async function runMain(fn: () => Promise<void> | void, usage?: string): Promise<void> {
  if (usage && Deno.args.some((a) => a === "--help" || a === "-h")) {
    console.log(usage);
    return;
  }
  try {
    await fn();
  } catch (e) {
    const err = e as Error & { code?: string };
    if (debugEnabled()) console.error(err);
    const msg = (err?.message ?? String(e)).split("\n")[0];
    console.error(`error: ${msg}`);
    if (err instanceof UsageError && usage) console.error(usage);
    Deno.exit(err instanceof UsageError ? 2 : 1);
  }
}

function debugEnabled(): boolean {
  try {
    return Deno.env.get("SPLITGATE_DEBUG") === "1";
  } catch {
    return false; // no --allow-env: no debug output
  }
}

/**
 * Reads a file, turning a missing or unreadable path into an error naming the flag.
 *
 * @example
 * ```ts
 * import { readInput } from "./main.ts";
 * // const bytes = await readInput("--model", "model.onnx");
 * ```
 */
export async function readInput(flag: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${flag} ${path}: file not found`);
    if (e instanceof Deno.errors.IsADirectory) {
      throw new Error(`${flag} ${path}: is a directory, expected a file`);
    }
    throw new Error(`${flag} ${path}: cannot read (${(e as Error).message})`);
  }
}

/**
 * Parses `--flag value` arguments strictly (no positionals, no unknown flags); a parse
 * failure becomes a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./main.ts";
 * const flags = parseFlags(["--model", "m.onnx"], { model: { type: "string" } });
 * console.log(flags.model); // "m.onnx"
 * ```
 */
export function parseFlags<const O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    // Node's message for `--lr -1` spans three lines and only the last says what to do.
    const m = /^Option '(--[\w-]+)' argument is ambiguous/.exec((e as Error).message);
    if (m) {
      const v = args[args.indexOf(m[1]) + 1] ?? "";
      throw new UsageError(`${m[1]} ${v}: a value that starts with a dash is written ${m[1]}=${v}`);
    }
    throw new UsageError((e as Error).message);
  }
}

/**
 * Refuses an output path that would overwrite what the run reads or keeps: an input file
 * (`--input`, `--batch`, `--model`, the data), or anything inside a directory of stored
 * state (a clinic's checkpoint folder). Paths are compared after resolving them against the
 * working directory.
 *
 * @throws {UsageError} naming the flag, the path and what it would overwrite
 * @example
 * ```ts
 * import { refuseOverwrite } from "./main.ts";
 * refuseOverwrite("--out", "pred.csv", { files: { "--input": "x.npz" }, dirs: { checkpointDir: "ck" } });
 * ```
 */
export function refuseOverwrite(
  flag: string,
  path: string,
  protect: { files?: Record<string, string | undefined>; dirs?: Record<string, string | undefined> },
): void {
  const out = resolve(path);
  for (const [what, f] of Object.entries(protect.files ?? {})) {
    if (f !== undefined && resolve(f) === out) {
      throw new UsageError(`${flag} ${path}: that is the ${what} file; it would be overwritten`);
    }
  }
  for (const [what, d] of Object.entries(protect.dirs ?? {})) {
    if (d === undefined) continue;
    const rel = relative(resolve(d), out);
    if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) {
      throw new UsageError(`${flag} ${path}: it lies in the ${what} ${d}, whose files must not be overwritten`);
    }
  }
}
