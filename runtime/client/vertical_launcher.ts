/**
 * A vertical party's launcher (docs/design/vertical.md, "Sandbox"): the horizontal clinic's
 * process split (docs/design/processes_and_permissions.md), for one party of a vertical study.
 *
 * 1. Raw-data process (`vertical_raw_main.ts`) with {@linkcode rawSideFlags}: read the data
 *    folder, onnxruntime-web's `.wasm` and the state folder; write the state folder only. No
 *    network. It runs the PSI (secret scalar and identifiers stay there) and the front segment
 *    (its weights stay there), and writes its result to the state folder.
 * 2. Courier process (`vertical_courier_main.ts`) with {@linkcode courierFlags}: network to the
 *    server's host:port, read of the party's key file and the server's public key file. It
 *    relays the raw side's messages (blinded points, cut tensors) into its Noise channel.
 * 3. This launcher copies bytes between the two (raw stdout → courier stdin and back), as the
 *    horizontal launcher does, and reads the result.
 *
 * Both children get the horizontal launcher's module flags (`--cached-only`, `--no-remote`,
 * `--frozen`, this repository's `deno.json`), a cleared environment ({@linkcode childEnv}), and
 * the folder checks ({@linkcode checkSandboxFolders}: no link in the data or state folder, no
 * key inside them, no state folder over the code or module cache; the state folder made `0700`).
 *
 * @example
 * ```ts
 * import { launchVerticalParty } from "./vertical_launcher.ts";
 * // const r = await launchVerticalParty({ name: "pharmacy", server: "http://127.0.0.1:8443",
 * //   keyFile, serverPublicKeyFile, dataFile, stateDir, study }, { onLine: console.log });
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseVerticalStudy } from "../config/vertical_study.ts";
import { childEnv } from "./child_env.ts";
import { ChildLog } from "./child_log.ts";
import { checkCheckpointMode, prepareCheckpointDir } from "./checkpoint_dir.ts";
import { courierFlags } from "./courier_flags.ts";
import { defaultWasmFile, rawSideFlags } from "./raw_side/flags.ts";
import { checkSandboxFolders } from "./sandbox_folders.ts";
import type { VerticalCourierConfig } from "./vertical_courier_main.ts";
import type { VerticalPartyResult } from "./vertical_party.ts";
import { VERTICAL_RESULT_FILE, type VerticalRawConfig } from "./vertical_raw_main.ts";
import { lines, tap } from "./child_streams.ts";

const RAW_MAIN = new URL("./vertical_raw_main.ts", import.meta.url);
const COURIER_MAIN = new URL("./vertical_courier_main.ts", import.meta.url);
const DENO_JSON = new URL("../../deno.json", import.meta.url);
/** Module loading of both children: cache only, no remote module, the lockfile read-only (as `launcher.ts`). */
const MODULE_FLAGS = ["--cached-only", "--no-remote", "--frozen"];

/**
 * One party's launch config: its files and the study.
 *
 * @example
 * ```ts
 * import type { VerticalPartyLaunchConfig } from "./vertical_launcher.ts";
 * const c: VerticalPartyLaunchConfig = { name: "pharmacy", server: "http://127.0.0.1:8443",
 *   keyFile: "/srv/p/keys/pharmacy.key", serverPublicKeyFile: "/srv/p/keys/server.pub",
 *   dataFile: "/srv/p/data/party.npz", stateDir: "/srv/p/state", study: {} };
 * ```
 */
export interface VerticalPartyLaunchConfig {
  name: string;
  /** The server's URL (`http://host:port`). */
  server: string;
  /** The party's private key file (outside the data and state folders). */
  keyFile: string;
  /** The server's public key file. */
  serverPublicKeyFile: string;
  /** The party's data file (`runtime/data/party_file.ts`); its folder is the raw side's to read. */
  dataFile: string;
  /** The raw side's state folder (created `0700`; the only folder it writes). */
  stateDir: string;
  /** The vertical study (JSON, `runtime/config/vertical_study.ts`). */
  study: unknown;
  /** onnxruntime-web's `.wasm` (default: the one in Deno's npm cache). */
  wasmFile?: string;
}

/**
 * The two children's `deno` argument lists.
 *
 * @example
 * ```ts
 * import { verticalCommandArgs } from "./vertical_launcher.ts";
 * const { rawSide } = verticalCommandArgs({ name: "p", server: "http://127.0.0.1:8443", keyFile: "/k/p.key",
 *   serverPublicKeyFile: "/k/s.pub", dataFile: "/d/p.npz", stateDir: "/s", study: {}, wasmFile: "/ort.wasm" });
 * console.log(rawSide.some((a) => a.startsWith("--allow-net"))); // false
 * ```
 */
export function verticalCommandArgs(
  c: VerticalPartyLaunchConfig,
): { rawSide: string[]; courier: string[] } {
  const wasmFile = c.wasmFile ?? defaultWasmFile();
  const config = `--config=${fileURLToPath(DENO_JSON)}`;
  const raw: VerticalRawConfig = {
    name: c.name,
    dataFile: c.dataFile,
    wasmFile,
    stateDir: c.stateDir,
    study: c.study,
  };
  const courier: VerticalCourierConfig = {
    name: c.name,
    server: c.server,
    keyFile: c.keyFile,
    serverPublicKeyFile: c.serverPublicKeyFile,
    codec: parseVerticalStudy(c.study).codec,
  };
  return {
    rawSide: [
      "run",
      ...rawSideFlags({ dataFile: c.dataFile, wasmFile, checkpointDir: c.stateDir }),
      ...MODULE_FLAGS,
      config,
      fileURLToPath(RAW_MAIN),
      JSON.stringify(raw),
    ],
    courier: [
      "run",
      ...courierFlags({
        server: c.server,
        keyFile: c.keyFile,
        serverPublicKeyFile: c.serverPublicKeyFile,
      }),
      ...MODULE_FLAGS,
      config,
      fileURLToPath(COURIER_MAIN),
      JSON.stringify(courier),
    ],
  };
}

/** Options of {@linkcode launchVerticalParty}. */
export interface VerticalLaunchOptions {
  /** Each progress line of the two processes (default: stderr). */
  onLine?: (line: string) => void;
  /** Sees every byte chunk relayed, by direction (audits). */
  onBytes?: (direction: "toCourier" | "toRawSide", bytes: Uint8Array) => void;
  /** The deno executable (default `Deno.execPath()`). */
  denoPath?: string;
}

/**
 * Checks the folders, spawns the party's two processes, relays between them and returns the
 * raw side's result (with the courier's sealed byte counts).
 *
 * @throws {ClinicError} `SYMLINK_REFUSED`, `FOLDER_OVERLAP`, `CHECKPOINT_DIR_INVALID` before
 *   anything starts; `RAW_SIDE_FAILED` or `COURIER_FAILED` with the failing child's error line
 */
export async function launchVerticalParty(
  config: VerticalPartyLaunchConfig,
  opts: VerticalLaunchOptions = {},
): Promise<VerticalPartyResult> {
  const say = opts.onLine ?? ((l: string) => console.error(l));
  const checked = await checkSandboxFolders({
    name: config.name,
    data: config.dataFile,
    checkpointDir: config.stateDir,
    clinicKey: config.keyFile,
    serverPublicKey: config.serverPublicKeyFile,
    model: "vertical",
  });
  const c: VerticalPartyLaunchConfig = {
    ...config,
    dataFile: checked.data,
    stateDir: checked.checkpointDir,
    keyFile: checked.clinicKey,
    serverPublicKeyFile: checked.serverPublicKey,
  };
  const reset = await prepareCheckpointDir(c.stateDir, c.name);
  if (reset) say(reset);
  await Deno.remove(join(c.stateDir, VERTICAL_RESULT_FILE)).catch(() => {});
  const args = verticalCommandArgs(c);
  const deno = opts.denoPath ?? Deno.execPath();
  const piped = { stdin: "piped", stdout: "piped", stderr: "piped", clearEnv: true } as const;
  const raw = new Deno.Command(deno, { args: args.rawSide, ...piped, env: childEnv("rawSide") })
    .spawn();
  let courier: Deno.ChildProcess;
  try {
    courier = new Deno.Command(deno, {
      args: args.courier,
      ...piped,
      env: childEnv({ courier: c.server }),
    }).spawn();
  } catch (e) {
    raw.kill("SIGKILL");
    await raw.status;
    throw e;
  }
  const log = new ChildLog(c.name, say);
  // The party's own lines already name it.
  const own = `[${c.name}] `;
  const done = Promise.all([
    tap(raw.stdout, courier.stdin, opts.onBytes && ((b) => opts.onBytes!("toCourier", b))),
    tap(courier.stdout, raw.stdin, opts.onBytes && ((b) => opts.onBytes!("toRawSide", b))),
    lines(raw.stderr, (l) => l.startsWith(own) ? say(l) : log.rawSideLine(l)),
    lines(courier.stderr, (l) => log.courierLine(l)),
  ]);
  const [rawStatus, courierStatus] = await Promise.all([raw.status, courier.status]);
  await done;
  const changed = await checkCheckpointMode(c.stateDir, c.name);
  if (changed) say(`${changed} (changed during the run)`);
  const bytes = log.result as { bytesUp: number; bytesDown: number } | undefined;
  if (!rawStatus.success || !courierStatus.success || bytes === undefined) {
    // A courier that failed (a refused handshake, say) ended the raw side's pipe: its error explains both.
    throw log.failure(courierStatus.code, courierStatus.success ? rawStatus.success : true);
  }
  log.flush();
  const result = JSON.parse(
    await Deno.readTextFile(join(c.stateDir, VERTICAL_RESULT_FILE)),
  ) as VerticalPartyResult;
  return { ...result, bytesUp: bytes.bytesUp, bytesDown: bytes.bytesDown };
}
