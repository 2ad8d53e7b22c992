/**
 * Entry point of the clinic's sandboxed raw-data process. It runs with the permissions of
 * `rawSideFlags` only (read: data dir, model, key, ort `.wasm`, checkpoints; write:
 * checkpoints; no network, no subprocesses, no FFI, no env, no sys), loads its records and
 * segments, and serves the `RawSide` API over stdin/stdout frames (`wire.ts`).
 * stdout carries frames only: console output goes to stderr.
 *
 * ```
 * deno run <rawSideFlags(config)> runtime/client/raw_side/main.ts '<config JSON>'
 * ```
 *
 * @example
 * ```ts
 * import { runRawSideMain } from "./main.ts";
 * import type { RawSideProcessConfig } from "./config.ts";
 * // In the sandboxed process, with stdin and stdout as the frame pipe:
 * async function serve(config: RawSideProcessConfig) { await runRawSideMain([JSON.stringify(config)]); }
 * ```
 * @module
 */
import { createEngine } from "../../engine/mod.ts";
import { validateRawSideConfig } from "./config.ts";
import { loadRawSide } from "./load_raw_side.ts";
import { RawSideError } from "./error.ts";
import { defaultWasmFile } from "./flags.ts";
import { serveRawSide } from "./service.ts";
import { PhaseProfile } from "../../protocol/phase_profile.ts";

/**
 * Parses the config argument, builds the raw side on the wasm engine and serves it until the
 * parent closes it.
 *
 * @throws {RawSideError} `CONFIG_INVALID` for a missing or invalid config argument
 * @example
 * ```ts
 * import { runRawSideMain } from "./main.ts";
 * async function serve(input: ReadableStream<Uint8Array>, output: WritableStream<Uint8Array>) {
 *   await runRawSideMain(Deno.args, { input, output });
 * }
 * ```
 */
export async function runRawSideMain(
  args: readonly string[],
  io: { input: ReadableStream<Uint8Array>; output: WritableStream<Uint8Array> } = {
    input: Deno.stdin.readable,
    output: Deno.stdout.writable,
  },
): Promise<void> {
  if (args.length !== 1) {
    throw new RawSideError(
      "CONFIG_INVALID",
      `raw_side_main takes one argument (the config JSON), got ${args.length}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(args[0]);
  } catch {
    throw new RawSideError("CONFIG_INVALID", "raw_side_main: the argument is not valid JSON");
  }
  const config = validateRawSideConfig(parsed);
  // The engine gets the module's bytes, so ort never needs fs access beyond this one read.
  const wasmBinary = await Deno.readFile(config.wasmFile ?? defaultWasmFile());
  const engine = await createEngine("wasm", { threads: config.threads ?? 1, wasmBinary });
  try {
    const side = await loadRawSide(config, engine);
    // Training pays session loading before "ready", as central training does; predict needs
    // the inference session only, which its first call loads.
    if (config.predictFile === undefined) await side.warm();
    const profile = new PhaseProfile(config.profile === true);
    await serveRawSide(side, io.input, io.output, profile, config.codec);
    // Phase names and times only (no data): stderr goes to the launcher's log.
    if (profile.enabled) console.error(profile.format("profile raw side"));
  } finally {
    await engine.dispose();
  }
}

if (import.meta.main) {
  // stdout is the frame channel: nothing else may write there.
  const toStderr = (...a: unknown[]) => console.error(...a);
  console.log = console.info = console.debug = toStderr;
  try {
    await runRawSideMain(Deno.args);
  } catch (e) {
    const code = e instanceof RawSideError ? ` [${e.code}]` : "";
    console.error(`raw side${code}: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
