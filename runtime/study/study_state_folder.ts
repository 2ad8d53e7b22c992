/**
 * A state folder that names the study it holds, shared by the server's checkpoint directory
 * (`runtime/server/study_folder.ts`) and a clinic's state folder
 * (`runtime/client/clinic_study_folder.ts`): the stored study in `study.json`, the folder's
 * state entries, and moving them under `studies/<name>[-n]/` so that nothing stored is lost
 * when another study starts there (`-2`, `-3`, … when the name is taken). Moves are renames
 * inside the folder, the one write grant of its owner.
 *
 * @example
 * ```ts
 * import { readStoredStudy } from "./study_state_folder.ts";
 * console.log(await readStoredStudy(await Deno.makeTempDir(), ["id", "digest"])); // null
 * ```
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic_file.ts";
import type { PublishedStudy } from "./published_study.ts";

/** The file naming the study a state folder holds. */
export const STUDY_FILE = "study.json";
/** The folder inside a state folder that keeps former studies' state. */
export const STUDIES_DIR = "studies";

/**
 * The study `dir` holds, or null when it has no `study.json`; each of `fields` must be a string.
 *
 * @throws {TypeError} naming the file and `fields` for a `study.json` that is not a stored study
 * @example
 * ```ts
 * import { readStoredStudy } from "./study_state_folder.ts";
 * // const s = await readStoredStudy("/var/lib/splitgate/server", ["id", "digest"]);
 * ```
 */
export async function readStoredStudy(
  dir: string,
  fields: readonly ("id" | "digest" | "text")[],
): Promise<PublishedStudy | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, STUDY_FILE));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const s = JSON.parse(text) as PublishedStudy | null;
  if (!s || fields.some((f) => typeof s[f] !== "string")) {
    throw new TypeError(`${join(dir, STUDY_FILE)}: not a stored study (${fields.join(", ")})`);
  }
  return s;
}

/**
 * Writes `study` as `dir/study.json` (atomically, indented, newline-terminated).
 *
 * @example
 * ```ts
 * import { writeStoredStudy } from "./study_state_folder.ts";
 * import { publishStudy } from "./published_study.ts";
 * await writeStoredStudy(await Deno.makeTempDir(), publishStudy({ id: "s1" }));
 * ```
 */
export async function writeStoredStudy(dir: string, study: PublishedStudy): Promise<void> {
  await writeFileAtomic(
    join(dir, STUDY_FILE),
    new TextEncoder().encode(JSON.stringify(study, null, 2) + "\n"),
  );
}

/**
 * The entries of `dir` that are a study's state, sorted: all but `studies/` and the names in
 * `keep` (none when `dir` is absent).
 *
 * @example
 * ```ts
 * import { stateEntries } from "./study_state_folder.ts";
 * console.log(await stateEntries("/nonexistent", [])); // []
 * ```
 */
export async function stateEntries(dir: string, keep: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name !== STUDIES_DIR && !keep.includes(e.name)) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return names.sort();
}

/**
 * Moves `entries` of `dir` into a new `studies/<name>[-n]/` (folders made with `mode` when
 * given); returns that folder.
 *
 * @example
 * ```ts
 * import { archiveState } from "./study_state_folder.ts";
 * // await archiveState(dir, await stateEntries(dir, []), "s1", 0o700); // ".../studies/s1"
 * ```
 */
export async function archiveState(
  dir: string,
  entries: readonly string[],
  name: string,
  mode?: number,
): Promise<string> {
  const base = join(dir, STUDIES_DIR);
  await Deno.mkdir(base, mode === undefined ? { recursive: true } : { recursive: true, mode });
  let target = join(base, name);
  for (let n = 2; await exists(target); n++) target = join(base, `${name}-${n}`);
  await Deno.mkdir(target, mode === undefined ? {} : { mode });
  for (const e of entries) await Deno.rename(join(dir, e), join(target, e));
  return target;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
