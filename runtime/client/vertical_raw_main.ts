/**
 * A vertical party's raw-data process (docs/design/vertical.md, "Sandbox"): it reads the
 * party's data file and onnxruntime-web's `.wasm`, runs the PSI (its secret scalar and the
 * identifiers never leave this process) and the party's front segment (its weights stay
 * here), and reaches the server only through its courier, over stdin/stdout
 * (`vertical_pipe.ts`). It runs with the horizontal raw side's permissions
 * (`raw_side/flags.ts`): read of the data folder, the `.wasm` and its state folder, write of
 * its state folder only; no network, no subprocess, no FFI, no environment.
 *
 * `deno run <raw-side flags> vertical_raw_main.ts '<config JSON>'` with config fields `name`,
 * `dataFile` (a `runtime/data/party_file.ts` npz), `wasmFile`, `stateDir` and `study` (a
 * vertical study, `runtime/config/vertical_study.ts`). It writes its
 * {@linkcode VerticalPartyResult} (matched counts, metrics, timings: no record, no identifier)
 * to `<stateDir>/result.json`; progress lines go to stderr; a fatal error is one
 * `raw side [CODE]: message` line and exit 1.
 *
 * @example
 * ```ts
 * import { VERTICAL_RESULT_FILE } from "./vertical_raw_main.ts";
 * console.log(VERTICAL_RESULT_FILE); // "result.json"
 * ```
 * @module
 */
import { join } from "node:path";
import { parseVerticalStudy } from "../config/vertical_study.ts";
import { readPartyFile } from "../data/party_file.ts";
import { createEngine } from "../engine/mod.ts";
import { writeFileAtomic } from "../fs/atomic_file.ts";
import { RawSideError } from "./raw_side/error.ts";
import { runVerticalParty } from "./vertical_party.ts";
import { PipeVerticalConnection } from "./vertical_pipe.ts";

/**
 * The name of the result file in the party's state folder.
 *
 * @example
 * ```ts
 * import { VERTICAL_RESULT_FILE } from "./vertical_raw_main.ts";
 * const path = `state/${VERTICAL_RESULT_FILE}`;
 * ```
 */
export const VERTICAL_RESULT_FILE = "result.json";

/**
 * The raw-data process's config (see the module documentation).
 *
 * @example
 * ```ts
 * import type { VerticalRawConfig } from "./vertical_raw_main.ts";
 * const c: VerticalRawConfig = { name: "pharmacy", dataFile: "/srv/pharmacy/data/party.npz",
 *   wasmFile: "/ort.wasm", stateDir: "/srv/pharmacy/state", study: {} };
 * ```
 */
export interface VerticalRawConfig {
  name: string;
  dataFile: string;
  wasmFile: string;
  stateDir: string;
  study: unknown;
}

/**
 * Checks the config argument's string fields.
 *
 * @throws {RawSideError} `CONFIG_INVALID` naming the field
 */
export function parseVerticalRawConfig(json: string | undefined): VerticalRawConfig {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(json ?? "");
  } catch {
    throw new RawSideError("CONFIG_INVALID", "vertical raw side: the argument is not valid JSON");
  }
  for (const k of ["name", "dataFile", "wasmFile", "stateDir"]) {
    if (typeof c?.[k] !== "string" || !c[k]) {
      throw new RawSideError(
        "CONFIG_INVALID",
        `config.${k}: expected a non-empty string, got ${JSON.stringify(c?.[k])}`,
      );
    }
  }
  return c as unknown as VerticalRawConfig;
}

/**
 * Runs the party on the pipe `io` and writes its result file.
 *
 * @throws {RawSideError} `CONFIG_INVALID`; the party's errors (`runVerticalParty`)
 */
export async function runVerticalRawSide(
  config: VerticalRawConfig,
  io: { input: ReadableStream<Uint8Array>; output: WritableStream<Uint8Array> },
  log: (line: string) => void,
): Promise<void> {
  const study = parseVerticalStudy(config.study);
  const data = readPartyFile(await Deno.readFile(config.dataFile), config.dataFile);
  const engine = await createEngine("wasm", {
    threads: 1,
    wasmBinary: await Deno.readFile(config.wasmFile),
  });
  const conn = new PipeVerticalConnection(io.input, io.output);
  try {
    const r = await runVerticalParty({
      name: config.name,
      conn,
      data,
      study,
      engine,
      log,
      stateDir: config.stateDir,
    });
    await writeFileAtomic(
      join(config.stateDir, VERTICAL_RESULT_FILE),
      new TextEncoder().encode(JSON.stringify(r)),
    );
  } finally {
    await conn.close();
    await engine.dispose();
  }
}

if (import.meta.main) {
  // stdout is the frame channel to the courier: nothing else may write there.
  const toStderr = (...a: unknown[]) => console.error(...a);
  console.log = console.info = console.debug = toStderr;
  try {
    const config = parseVerticalRawConfig(Deno.args[0]);
    await runVerticalRawSide(
      config,
      { input: Deno.stdin.readable, output: Deno.stdout.writable },
      toStderr,
    );
  } catch (e) {
    const code = (e as { code?: string })?.code;
    console.error(
      `raw side${code ? ` [${code}]` : ""}: ${e instanceof Error ? e.message : String(e)}`,
    );
    Deno.exit(1);
  }
}
