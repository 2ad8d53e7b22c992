/**
 * The folders the raw-data process is granted, checked before the launcher starts anything
 * (docs/design/security_model.md): links refused ({@linkcode refuseLinks}), real paths resolved, and
 * overlaps with what the raw side must never read or write refused.
 *
 * The raw side reads its data folder and reads and writes its checkpoint folder. So:
 * - neither may hold the clinic key, the server's public key, the peers file or the PSK file
 *   (data beside the keys would let the raw side read the PSK; a writable peers file would let
 *   it choose whom the courier seals to);
 * - the checkpoint folder may neither hold nor lie inside the code (the folder of `deno.json`,
 *   which holds `deno.json` and `deno.lock`) or Deno's module cache: the courier runs that code
 *   with network access, so a raw side able to rewrite it could leave through the courier. Even
 *   a new folder inside the checkout is refused: tools take folders (`deno test tests/` runs any
 *   `*_test.ts` planted there, with network), so no file the raw side writes may land in it.
 *
 * Reading the code is harmless, so a data folder inside the checkout (the embedded `data/`
 * sets) is allowed.
 *
 * @example
 * ```ts
 * import { checkSandboxFolders } from "./sandbox_folders.ts";
 * import type { ClientConfig } from "./client_config.ts";
 * async function real(config: ClientConfig) {
 *   return (await checkSandboxFolders(config)).checkpointDir; // its real path
 * }
 * ```
 * @module
 */
import { basename, dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClientConfig } from "./client_config.ts";
import { ClinicError } from "./clinic_error.ts";
import { refuseLinks } from "./folder_links.ts";
import { inheritedEnv } from "./child_env.ts";

/**
 * The fields of a clinic config the folder checks read (a vertical party's launcher builds
 * them from its own config, `vertical_launcher.ts`).
 *
 * @example
 * ```ts
 * import type { SandboxFolderConfig } from "./sandbox_folders.ts";
 * const c: SandboxFolderConfig = { name: "a", data: "/srv/a/data/x.npz", checkpointDir: "/srv/a/state",
 *   clinicKey: "/srv/a/keys/a.key", serverPublicKey: "/srv/a/keys/server.pub", model: "ehr" };
 * ```
 */
export type SandboxFolderConfig = Pick<
  ClientConfig,
  "name" | "data" | "checkpointDir" | "clinicKey" | "serverPublicKey" | "peers" | "pskFile" | "model"
>;

/** This checkout or installed copy: the folder of `deno.json`. */
const CODE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * What {@linkcode checkSandboxFolders} protects besides the key files (defaults: this copy's
 * code folder and Deno's module cache).
 *
 * @example
 * ```ts
 * import type { ProtectedFolders } from "./sandbox_folders.ts";
 * const p: ProtectedFolders = { code: "/opt/splitgate/app", moduleCache: "/opt/splitgate/deno_dir" };
 * ```
 */
export interface ProtectedFolders {
  /** The folder of `deno.json` the children run from. */
  code: string;
  /** Deno's cache folder (`DENO_DIR`), when known. */
  moduleCache?: string;
}

/** True when `path` is `folder` or lies inside it (both real, absolute paths). */
function within(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

/**
 * The real path of `path`: links resolved in its longest existing prefix, the rest appended
 * (a checkpoint folder not created yet is checked where it will be created).
 */
async function real(path: string): Promise<string> {
  const rest: string[] = [];
  for (let p = resolve(path);; p = dirname(p)) {
    try {
      return join(await Deno.realPath(p), ...rest.reverse());
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || p === dirname(p)) throw e;
      rest.push(basename(p));
    }
  }
}

/** Deno's cache folder the children will run from (see {@linkcode inheritedEnv}). */
async function moduleCache(): Promise<string | undefined> {
  const dir = inheritedEnv().DENO_DIR;
  return dir ? await real(dir) : undefined;
}

/**
 * The protected folders of this installation: its code folder and module cache.
 *
 * @example
 * ```ts
 * import { protectedFolders } from "./sandbox_folders.ts";
 * console.log((await protectedFolders()).code.length > 0); // true
 * ```
 */
export async function protectedFolders(): Promise<ProtectedFolders> {
  const cache = await moduleCache();
  return { code: await real(CODE_ROOT), ...(cache ? { moduleCache: cache } : {}) };
}

function overlap(config: SandboxFolderConfig, message: string): never {
  throw new ClinicError("FOLDER_OVERLAP", `clinic ${config.name}: ${message}`);
}

/** Refuses key files inside either folder. */
function refuseKeysInside(
  config: SandboxFolderConfig,
  folders: Record<string, string>,
  keys: Record<string, string>,
): void {
  for (const [role, folder] of Object.entries(folders)) {
    for (const [field, file] of Object.entries(keys)) {
      if (within(file, folder)) {
        overlap(
          config,
          `the ${role} ${folder} holds ${field} ${file}; the raw-data process may read everything ` +
            `in its ${role}: keep key, PSK and peers files outside the data and checkpoint folders`,
        );
      }
    }
  }
}

/** Refuses a checkpoint folder that holds, or lies inside, a protected folder. */
function refuseCheckpointOver(
  config: SandboxFolderConfig,
  checkpointDir: string,
  p: ProtectedFolders,
): void {
  const named = [["code folder (the folder of deno.json)", p.code], [
    "Deno module cache",
    p.moduleCache,
  ]];
  for (const [what, folder] of named) {
    if (folder === undefined) continue;
    if (within(checkpointDir, folder) || within(folder, checkpointDir)) {
      overlap(
        config,
        `checkpointDir ${checkpointDir} ${
          within(checkpointDir, folder) ? "lies inside" : "holds"
        } the ` +
          `${what} ${folder}; the raw-data process writes its checkpoint folder and the courier runs ` +
          "that code with network access: choose a checkpoint folder outside both (e.g. " +
          `/var/lib/splitgate/${config.name}, as the systemd unit does)`,
      );
    }
  }
}

/**
 * Checks the raw side's folders of `config` and returns the config with real paths (links in
 * the folders' own paths resolved) for the data file, checkpoint folder, model and key files, so
 * the grants name what the processes will actually open. Run it before the checkpoint folder
 * is created, so a refused one is not.
 *
 * @param config the clinic config
 * @param protect the code folder and module cache (default {@linkcode protectedFolders})
 * @throws {ClinicError} `SYMLINK_REFUSED` for a link inside the data or checkpoint folder;
 *   `FOLDER_OVERLAP` for a key, PSK or peers file inside either folder, or a checkpoint
 *   folder holding or inside the code folder or module cache
 * @example
 * ```ts
 * import { checkSandboxFolders } from "./sandbox_folders.ts";
 * import { ClinicError } from "./clinic_error.ts";
 * import type { ClientConfig } from "./client_config.ts";
 * async function check(config: ClientConfig) {
 *   try {
 *     return await checkSandboxFolders(config);
 *   } catch (e) {
 *     if (e instanceof ClinicError && e.code === "FOLDER_OVERLAP") console.error(e.message);
 *     throw e;
 *   }
 * }
 * ```
 */
export async function checkSandboxFolders<C extends SandboxFolderConfig>(
  config: C,
  protect?: ProtectedFolders,
): Promise<C> {
  const p = protect ?? await protectedFolders();
  const dataDir = await real(dirname(config.data));
  const checkpointDir = await real(config.checkpointDir);
  await refuseLinks(dataDir, "data folder", config.name).catch(ignoreMissing);
  await refuseLinks(checkpointDir, "checkpoint folder", config.name).catch(ignoreMissing);
  const keys: Record<string, string> = {
    clinicKey: await real(config.clinicKey),
    serverPublicKey: await real(config.serverPublicKey),
  };
  if (config.peers !== undefined) keys.peers = await real(config.peers);
  if (config.pskFile !== undefined) keys.pskFile = await real(config.pskFile);
  refuseKeysInside(config, { "data folder": dataDir, "checkpoint folder": checkpointDir }, keys);
  refuseCheckpointOver(config, checkpointDir, p);
  return {
    ...config,
    data: join(dataDir, basename(config.data)),
    checkpointDir,
    clinicKey: keys.clinicKey,
    serverPublicKey: keys.serverPublicKey,
    ...(keys.peers ? { peers: keys.peers } : {}),
    ...(keys.pskFile ? { pskFile: keys.pskFile } : {}),
    model: config.model.endsWith(".onnx") ? await real(config.model) : config.model,
  };
}

/** A folder that does not exist yet holds no link (the raw side reports a missing data file). */
function ignoreMissing(e: unknown): void {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}
