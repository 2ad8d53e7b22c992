/**
 * The study a clinic's state folder (its checkpoint directory) holds: `study.json` (id,
 * digest, text, definition), written by the launcher when the clinic accepts the server's
 * study on its first run (before the raw side starts: `launcher.ts` runs the courier alone on
 * task `study` first), read on every later run and passed to the courier, which refuses a
 * server whose study differs (`study_gate.ts`). The raw side may read it with the grant it
 * already has on that folder. `--new-study` keeps the folder's state under `studies/<id>/` (or
 * `studies/unnamed/`; `-2`, `-3`, … when taken) and starts this clinic afresh.
 *
 * @example
 * ```ts
 * import { readClinicStudy } from "./clinic_study_folder.ts";
 * console.log(await readClinicStudy(await Deno.makeTempDir())); // null
 * ```
 * @module
 */
import type { PublishedStudy } from "../study/published_study.ts";
import {
  archiveState,
  readStoredStudy,
  stateEntries,
  STUDIES_DIR,
  STUDY_FILE,
  writeStoredStudy,
} from "../study/study_state_folder.ts";
import type { StudyGate } from "./study_gate.ts";

/** The file naming the study a clinic's state folder holds. */
export const CLINIC_STUDY_FILE = STUDY_FILE;
/** The folder of former studies' state inside a clinic's state folder. */
export const CLINIC_STUDIES_DIR = STUDIES_DIR;
/**
 * Largest stored definition passed to the courier (characters of JSON): it travels in the
 * courier's command line, and Linux caps one argument at 128 KiB. A larger one is passed as
 * id and digest only, and a changed study is then named by its digests, not by the field.
 */
export const MAX_PASSED_DEFINITION = 64 * 1024;

/**
 * The study `dir` holds, or null.
 *
 * @throws {TypeError} for a `study.json` that is not a stored study
 * @example
 * ```ts
 * import { readClinicStudy } from "./clinic_study_folder.ts";
 * // const s = await readClinicStudy("/var/lib/splitgate/clinic-a"); s?.id
 * ```
 */
export function readClinicStudy(dir: string): Promise<PublishedStudy | null> {
  return readStoredStudy(dir, ["id", "digest", "text"]);
}

/**
 * The stored study as the courier's {@linkcode StudyGate} takes it.
 *
 * @example
 * ```ts
 * import { storedForGate } from "./clinic_study_folder.ts";
 * console.log(storedForGate(null)); // undefined
 * ```
 */
export function storedForGate(s: PublishedStudy | null): StudyGate["stored"] {
  if (!s) return undefined;
  return s.text.length <= MAX_PASSED_DEFINITION
    ? { id: s.id, digest: s.digest, definition: s.definition }
    : { id: s.id, digest: s.digest };
}

/**
 * Writes the accepted study into `dir` (atomically).
 *
 * @example
 * ```ts
 * import { storeClinicStudy } from "./clinic_study_folder.ts";
 * import { publishStudy } from "../study/published_study.ts";
 * await storeClinicStudy(await Deno.makeTempDir(), publishStudy({ id: "s1" }));
 * ```
 */
export function storeClinicStudy(dir: string, s: PublishedStudy): Promise<void> {
  return writeStoredStudy(dir, s);
}

/**
 * `--new-study`: moves everything in `dir` but `studies/` into a new `studies/<id>[-n]/`.
 * Returns that folder, or null when `dir` held nothing.
 *
 * @example
 * ```ts
 * import { archiveClinicState } from "./clinic_study_folder.ts";
 * console.log(await archiveClinicState(await Deno.makeTempDir())); // null
 * ```
 */
export async function archiveClinicState(dir: string): Promise<string | null> {
  const entries = await stateEntries(dir, []);
  if (entries.length === 0) return null;
  const name = (await readClinicStudy(dir).catch(() => null))?.id ?? "unnamed";
  return await archiveState(dir, entries, name, 0o700);
}
