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
import type { PublishedStudy } from "../study/published_study.ts";
import {
  archiveState,
  readStoredStudy,
  stateEntries,
  STUDIES_DIR,
  writeStoredStudy,
} from "../study/study_state_folder.ts";
import { firstDifference } from "../study/study_digest.ts";
import { HANDSHAKE_TIMESTAMPS_FILE } from "./handshake_timestamps.ts";

export { STUDIES_DIR, STUDY_FILE } from "../study/study_state_folder.ts";

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
  // The handshake timestamps stay: they guard the server key against replayed handshakes
  // whatever the study.
  const entries = await stateEntries(dir, [HANDSHAKE_TIMESTAMPS_FILE]);
  const stored = await readStoredStudy(dir, ["id", "digest"]);
  let archived: string | null = null;
  if (entries.length > 0) {
    if (newStudy || (study && stored && stored.id !== study.id)) {
      archived = await archiveState(dir, entries, stored?.id ?? "unnamed");
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
    await writeStoredStudy(dir, study);
  }
  const what = study ? `study ${study.id} (${study.digest})` : "a run without a study file";
  return archived
    ? `kept the former state in ${archived}; ${what}: a fresh start`
    : study
    ? `${what}: a fresh start in ${dir}`
    : null;
}
