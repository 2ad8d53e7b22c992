/**
 * Which study a checkpoint directory holds, and starting another without deleting folders by
 * hand. The directory keeps the study it holds in `study.json` (id, digest, definition). At
 * start ({@linkcode prepareStudyFolder}):
 *
 * | the directory holds | started with | outcome |
 * | --- | --- | --- |
 * | nothing | any | a fresh study (`study.json` written when there is one) |
 * | study X | study X, same digest | resume |
 * | study X | study X, another digest | refused, naming the first field that differs |
 * | study X | study Y (another id) | X's state moved to `studies/X/`, Y starts afresh |
 * | study X | no study file | refused: start it with X's study file |
 * | a run without a study file | a study file | refused: `--new-study` keeps that run under `studies/unnamed/` |
 * | anything | `--new-study` | the state moved to `studies/<its id or "unnamed">/`, a fresh start |
 *
 * A folder name already taken under `studies/` gets `-2`, `-3`, …: nothing stored is lost. The
 * handshake timestamps (`handshake_timestamps.json`) stay: they guard the server's key against
 * replayed handshakes, whichever study it runs.
 * Moves are renames inside the checkpoint directory (the server's one write grant).
 *
 * @example
 * ```ts
 * import { prepareStudyFolder } from "./study_folder.ts";
 * const dir = await Deno.makeTempDir();
 * console.log(await prepareStudyFolder(dir, undefined, false)); // null
 * ```
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic_file.ts";
import type { PublishedStudy } from "../study/published_study.ts";
import { firstDifference } from "../study/study_digest.ts";
import { HANDSHAKE_TIMESTAMPS_FILE } from "./handshake_timestamps.ts";

/** The file naming the study a checkpoint directory holds. */
export const STUDY_FILE = "study.json";
/** The folder former studies' state is kept in. */
export const STUDIES_DIR = "studies";

/**
 * Makes `dir` hold `study`: resumes, archives a former study's state, or refuses.
 * Returns a line for the log, or null when nothing needed saying.
 *
 * @throws {Error} naming the directory, the studies and what to do
 * @example
 * ```ts
 * import { prepareStudyFolder } from "./study_folder.ts";
 * import { publishStudy } from "../study/published_study.ts";
 * const dir = await Deno.makeTempDir();
 * console.log(await prepareStudyFolder(dir, publishStudy({ id: "s1" }), false)); // study s1: a fresh start in …
 * ```
 */
export async function prepareStudyFolder(
  dir: string,
  study: PublishedStudy | undefined,
  newStudy: boolean,
): Promise<string | null> {
  const entries = await stateEntries(dir);
  const stored = await readStored(dir);
  let archived: string | null = null;
  if (entries.length > 0) {
    if (newStudy || (study && stored && stored.id !== study.id)) {
      archived = await archive(dir, entries, stored?.id ?? "unnamed");
    } else if (study && stored) {
      if (stored.digest !== study.digest) {
        const diff = firstDifference(stored.definition, study.definition) ?? "(the digests differ)";
        throw new Error(
          `checkpoint directory ${dir} holds study ${stored.id} with another definition (${diff}; stored vs study file): ` +
            `restore the study file, or give the changed study a new id (or start with --new-study) to begin afresh and keep this state under ${STUDIES_DIR}/`,
        );
      }
      return null;
    } else if (study) {
      throw new Error(
        `checkpoint directory ${dir} holds a run without a study definition: start with --new-study to keep it under ` +
          `${STUDIES_DIR}/unnamed/ and begin study ${study.id}, or start without a study file to resume it`,
      );
    } else if (stored) {
      throw new Error(
        `checkpoint directory ${dir} holds study ${stored.id}: start the server with its study file (--study), or with --new-study to begin afresh`,
      );
    } else {
      return null;
    }
  }
  if (study) {
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(
      join(dir, STUDY_FILE),
      new TextEncoder().encode(JSON.stringify(study, null, 2) + "\n"),
    );
  }
  const what = study ? `study ${study.id} (${study.digest})` : "a run without a study file";
  return archived
    ? `kept the former state in ${archived}; ${what}: a fresh start`
    : study
    ? `${what}: a fresh start in ${dir}`
    : null;
}

/**
 * The entries of `dir` that are a study's state: all but `studies/` and the handshake
 * timestamps, which guard the server key against replayed handshakes whatever the study
 * (none when `dir` is absent).
 */
async function stateEntries(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name !== STUDIES_DIR && e.name !== HANDSHAKE_TIMESTAMPS_FILE) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return names.sort();
}

/** The study `dir` holds, or null when it names none. */
async function readStored(dir: string): Promise<PublishedStudy | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, STUDY_FILE));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const s = JSON.parse(text) as PublishedStudy;
  if (typeof s?.id !== "string" || typeof s.digest !== "string") {
    throw new TypeError(`${join(dir, STUDY_FILE)}: not a stored study (id, digest)`);
  }
  return s;
}

/** Moves `entries` of `dir` into a new `studies/<name>[-n]/`; returns that folder. */
async function archive(dir: string, entries: string[], name: string): Promise<string> {
  const base = join(dir, STUDIES_DIR);
  await Deno.mkdir(base, { recursive: true });
  let target = join(base, name);
  for (let n = 2; await exists(target); n++) target = join(base, `${name}-${n}`);
  await Deno.mkdir(target);
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
