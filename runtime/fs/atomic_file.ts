/**
 * Crash-safe file replacement: write a temporary file in the same directory, flush it to
 * disk, then rename it over the target. POSIX `rename(2)` replaces the target atomically within
 * one file system, so a reader (or a restart after a crash) sees the old file or the new one,
 * never a torn mix.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/state.json`, new TextEncoder().encode("{}"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */

/**
 * Atomically replaces `path` with `bytes`. The new file gets `options.mode` (default 0600,
 * set explicitly so the umask cannot widen or narrow it).
 *
 * @throws the file system's error (e.g. `Deno.errors.NotFound` for a missing directory); the
 *   temporary file is removed on failure
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic_file.ts";
 * async function commit(bytes: Uint8Array) {
 *   await writeFileAtomic("ckpt/clinic-a.checkpoint.json", bytes);
 * }
 * ```
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const slash = path.lastIndexOf("/");
  const base = slash >= 0 ? path.slice(slash + 1) : path;
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  // Same directory (so rename does not cross file systems), a name no other writer picks.
  const rand = crypto.getRandomValues(new Uint8Array(6));
  const tmp = `${dir}.${base}.${
    Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("")
  }.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      if (Deno.build.os !== "windows") await Deno.chmod(tmp, mode);
      let at = 0;
      while (at < bytes.length) at += await file.write(bytes.subarray(at));
      // fsync before rename, so the rename never points at data still in the page cache.
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
