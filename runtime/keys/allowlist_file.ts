/**
 * Allowlist files on disk, edited without ever losing an entry: the I/O half of
 * `crypto/keys/allowlist.ts`, whose pure `addAllowlistEntry`/`removeAllowlistEntry` compute
 * the new list.
 *
 * An edit reads and validates the whole file first (a malformed file is refused, naming the
 * file and the problem, and left as it is), then writes the new list to a temporary file in
 * the same directory, fsyncs it and renames it over the old one (POSIX rename(2) is atomic
 * within a file system), so a reader or a crash sees the old list or the new one, never a torn
 * mix. Just before the rename it reads the file again: if another editor changed it meanwhile,
 * the edit is refused rather than overwriting that change. The file keeps its permission bits;
 * a new one gets 0644 (public keys only, and the server may run as another user).
 *
 * @module
 */
import { dirname } from "node:path";
import { type Allowlist, parseAllowlist, serializeAllowlist } from "../../crypto/keys/mod.ts";
import { NoiseError } from "../../crypto/errors.ts";
import { writeFileAtomic } from "../fs/atomic_file.ts";
import { readSmallTextFile } from "./key_store.ts";

/** Mode of an allowlist file that an edit creates: owner read/write, everyone read. */
export const NEW_ALLOWLIST_MODE = 0o644;

/**
 * What an edit does when the file is missing: `"create"` starts from an empty list (and
 * creates the directory, mode 0700 like `keygen`'s), `"refuse"` fails with `NotFound`.
 */
export type MissingAllowlist = "create" | "refuse";

/**
 * Reads and validates the allowlist at `path`, or returns null when there is no such file.
 *
 * @throws {NoiseError} `ALLOWLIST_INVALID` naming the file and the problem; `KEY_FILE_INVALID`
 *   for something that is not a small regular file.
 * @example
 * ```ts
 * import { readAllowlistFile } from "./allowlist_file.ts";
 * const dir = await Deno.makeTempDir();
 * console.assert((await readAllowlistFile(`${dir}/allowlist.json`)) === null);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readAllowlistFile(path: string): Promise<Allowlist | null> {
  const text = await readIfPresent(path);
  return text === null ? null : parseAllowlist(text, path);
}

/**
 * Applies `edit` to the allowlist at `path` and writes the list it returns atomically; returns
 * that list. Nothing is written when `edit` throws.
 *
 * @throws {NoiseError} `ALLOWLIST_INVALID` for a malformed file (left unchanged), whatever
 *   `edit` throws, `ALLOWLIST_CHANGED` when another writer changed the file during the edit;
 *   `Deno.errors.NotFound` for a missing file when `missing` is `"refuse"`.
 * @example
 * ```ts
 * import { editAllowlistFile } from "./allowlist_file.ts";
 * import { addAllowlistEntry, generateStaticKeyPair } from "../../crypto/keys/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const entry = { name: "clinic-a", publicKey: generateStaticKeyPair().publicKey };
 * const list = await editAllowlistFile(`${dir}/keys/allowlist.json`, "create", (l) =>
 *   addAllowlistEntry(l, entry));
 * console.assert(list.size === 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function editAllowlistFile(
  path: string,
  missing: MissingAllowlist,
  edit: (list: Allowlist) => Allowlist,
): Promise<Allowlist> {
  const target = await resolveLink(path);
  const before = await readIfPresent(target);
  if (before === null && missing === "refuse") {
    throw new Deno.errors.NotFound(`${path}: no such file`);
  }
  const current = before === null ? parseAllowlist("[]", path) : parseAllowlist(before, path);
  const list = edit(current);
  let mode = NEW_ALLOWLIST_MODE;
  if (before === null) {
    await Deno.mkdir(dirname(target), { recursive: true, mode: 0o700 });
  } else {
    mode = ((await Deno.stat(target)).mode ?? NEW_ALLOWLIST_MODE) & 0o777;
  }
  // Read-modify-write: a second editor between our read and our rename would lose its
  // change silently, so compare once more right before replacing the file.
  if ((await readIfPresent(target)) !== before) {
    throw new NoiseError(
      "ALLOWLIST_CHANGED",
      `${path} changed while it was being edited (another allowlist command?); nothing was ` +
        `written, run the command again`,
    );
  }
  await writeFileAtomic(target, new TextEncoder().encode(serializeAllowlist(list)), { mode });
  return list;
}

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readSmallTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** A symlinked allowlist is edited where it points, so the link itself survives the rename. */
async function resolveLink(path: string): Promise<string> {
  try {
    return (await Deno.lstat(path)).isSymlink ? await Deno.realPath(path) : path;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return path;
    throw e;
  }
}
