/**
 * Refuses symbolic links inside a folder the raw-data process is granted (docs/design/security_model.md).
 * Deno's path-scoped grants (`--allow-read=<dir>`, `--allow-write=<dir>`) check the path the
 * program names, and the operating system then follows any link on it: a link in the data
 * folder pointing at the PSK file, or at `/etc`, is read through the data folder's grant, and
 * a link in the checkpoint folder is written through. So the launcher walks both folders with
 * `lstat` (which does not follow links) before it starts anything.
 *
 * @example
 * ```ts
 * import { refuseLinks } from "./folder_links.ts";
 * const dir = await Deno.makeTempDir();
 * await refuseLinks(dir, "data folder", "clinic-a"); // resolves: an empty folder has no link
 * await Deno.remove(dir);
 * ```
 * @module
 */
import { join } from "node:path";
import { ClinicError } from "./clinic_error.ts";

/**
 * Walks `dir` (not following links) and throws at the first symbolic link found in it, the
 * folder itself included.
 *
 * @param dir the folder (its real path, or the path the config names)
 * @param what the folder's role in messages, e.g. `"data folder"`
 * @param clinic the clinic's name, for messages
 * @throws {ClinicError} `SYMLINK_REFUSED` naming the link and its target
 * @example
 * ```ts
 * import { refuseLinks } from "./folder_links.ts";
 * import { ClinicError } from "./clinic_error.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.symlink("/etc/passwd", `${dir}/records.npz`);
 * try {
 *   await refuseLinks(dir, "data folder", "clinic-a");
 * } catch (e) {
 *   console.log(e instanceof ClinicError && e.code); // "SYMLINK_REFUSED"
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function refuseLinks(dir: string, what: string, clinic: string): Promise<void> {
  const pending = [dir];
  while (pending.length > 0) {
    const path = pending.pop()!;
    const info = await Deno.lstat(path);
    if (info.isSymlink) await refuse(path, dir, what, clinic);
    if (!info.isDirectory) continue;
    for await (const entry of Deno.readDir(path)) pending.push(join(path, entry.name));
  }
}

async function refuse(link: string, dir: string, what: string, clinic: string): Promise<never> {
  const target = await Deno.readLink(link).catch(() => "?");
  throw new ClinicError(
    "SYMLINK_REFUSED",
    `clinic ${clinic}: the ${what} ${dir} holds a symbolic link, ${link} -> ${target}; ` +
      "the sandbox's grants would follow it out of the folder: replace it with the file itself",
  );
}
