/**
 * The clinic's checkpoint folder as the launcher prepares and watches it (docs/design/security_model.md).
 *
 * The raw-data process is granted `--allow-write=<checkpoint folder>`. Deno 2.9's grants are
 * path prefixes with no "contents only" form, so that grant covers the folder itself: the raw
 * side can `chmod` it (and remove it when empty). It cannot create a symbolic link (Deno's
 * `symlink` needs read and write everywhere) or rename the folder (that writes its parent).
 * What the launcher can do is own the folder's mode: {@linkcode prepareCheckpointDir} creates
 * it `0700` and puts back `0700` on an existing one, and {@linkcode checkCheckpointMode} tells,
 * after the run, whether the mode was changed meanwhile (and puts it back), so a raw side that
 * opened its folder to other local users does not stay unnoticed.
 *
 * @example
 * ```ts
 * import { prepareCheckpointDir } from "./checkpoint_dir.ts";
 * const dir = `${await Deno.makeTempDir()}/ckpt`;
 * await prepareCheckpointDir(dir, "clinic-a");
 * console.log(((await Deno.stat(dir)).mode! & 0o777).toString(8)); // "700"
 * ```
 * @module
 */
import { ClinicError } from "./clinic_error.ts";

/** The checkpoint folder's mode: the clinic's user only. */
const MODE = 0o700;
const POSIX = Deno.build.os !== "windows";

/** The permission bits of `dir`, or null where the platform has none. */
async function modeOf(dir: string): Promise<number | null> {
  const m = (await Deno.stat(dir)).mode;
  return POSIX && m !== null ? m & 0o777 : null;
}

/**
 * Creates the checkpoint folder (mode `0700`) or puts `0700` back on an existing one (the raw
 * side may write only inside it, so it must exist before the raw side starts).
 *
 * @returns the folder's mode before, when it was not `0700` (a message for the operator), else null
 * @throws {ClinicError} `CHECKPOINT_DIR_INVALID` when the path is a file
 * @example
 * ```ts
 * import { prepareCheckpointDir } from "./checkpoint_dir.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.chmod(dir, 0o755);
 * console.log(await prepareCheckpointDir(dir, "clinic-a")); // "checkpoint folder ... mode 755 set to 700"
 * ```
 */
export async function prepareCheckpointDir(dir: string, clinic: string): Promise<string | null> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: MODE });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new ClinicError(
        "CHECKPOINT_DIR_INVALID",
        `clinic ${clinic}: checkpointDir ${dir}: not a directory`,
        { cause: e },
      );
    }
    throw e;
  }
  return await checkCheckpointMode(dir, clinic);
}

/**
 * Puts mode `0700` back on the checkpoint folder if it differs.
 *
 * @returns a line naming the folder and the mode found, when it differed, else null
 * @example
 * ```ts
 * import { checkCheckpointMode } from "./checkpoint_dir.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.chmod(dir, 0o700);
 * console.log(await checkCheckpointMode(dir, "clinic-a")); // null
 * ```
 */
export async function checkCheckpointMode(dir: string, clinic: string): Promise<string | null> {
  const mode = await modeOf(dir);
  if (mode === null || mode === MODE) return null;
  await Deno.chmod(dir, MODE);
  return `clinic ${clinic}: checkpoint folder ${dir} had mode ${mode.toString(8)}; set to ${
    MODE.toString(8)
  }`;
}
