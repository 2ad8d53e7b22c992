/**
 * The folder the user typed a command in, for entry points whose path arguments are the
 * user's own files (configs, key files, allowlists).
 *
 * `deno task` runs a task in the folder of its `deno.json` and keeps the folder the command
 * was typed in in `INIT_CWD`, as `npm run` does (docs.deno.com, "deno task": "Specifying the
 * current working directory"). Without this, `deno task allowlist add ../clinic-a.pub` typed in
 * a subfolder would look for the file next to the repository instead.
 *
 * @module
 */

/**
 * Changes the working directory to `INIT_CWD` when the task grants `--allow-env=INIT_CWD` and
 * the variable is set; otherwise (`deno run`, a systemd unit, no permission) leaves it as it
 * is. The permission is queried first, so a plain `deno run` never prompts for it.
 *
 * @returns the working directory in force afterwards
 * @throws {Error} naming `INIT_CWD` when that folder cannot be entered
 * @example
 * ```ts
 * import { enterUserDir } from "./user_dir.ts";
 * console.assert(enterUserDir() === Deno.cwd());
 * ```
 */
export function enterUserDir(): string {
  const granted = Deno.permissions.querySync({ name: "env", variable: "INIT_CWD" }).state ===
    "granted";
  const dir = granted ? Deno.env.get("INIT_CWD") : undefined;
  if (dir) {
    try {
      Deno.chdir(dir);
    } catch (e) {
      throw new Error(
        `INIT_CWD ${dir}: cannot enter the folder the command was typed in (${
          (e as Error).message
        })`,
      );
    }
  }
  return Deno.cwd();
}
