/**
 * Reads a study file for the command line (`deno task server --study`, `deno task study`):
 * the file, checked (`runtime/study/study_definition.ts`), and the bytes of its `.onnx` model
 * when it names one (relative to the study file's folder), which its digest covers.
 *
 * @example
 * ```ts
 * import { readStudyFile } from "./study_file.ts";
 * try { await readStudyFile("--study", "/no/such/study.json"); } catch (e) { console.log((e as Error).message); }
 * ```
 * @module
 */
import { parseStudy, type StudyDefinition } from "../study/study_definition.ts";
import { onnxPath } from "../server/study_config.ts";
import { readInput, UsageError } from "./main.ts";

/**
 * The study file at `path` (named `what` in errors) and its `.onnx` model's bytes.
 *
 * @throws {UsageError} naming the file and the bad field
 * @throws {Error} naming `what` when the file (or the model) cannot be read
 * @example
 * ```ts
 * import { readStudyFile } from "./study_file.ts";
 * // const { study, onnx } = await readStudyFile("--study", "study.json");
 * ```
 */
export async function readStudyFile(
  what: string,
  path: string,
): Promise<{ study: StudyDefinition; onnx: Uint8Array | null }> {
  const text = new TextDecoder().decode(await readInput(what, path));
  let study;
  try {
    study = parseStudy(text, path);
  } catch (e) {
    throw new UsageError(`${path}: ${(e as Error).message}`);
  }
  const onnx = study.model.name.endsWith(".onnx")
    ? await readInput("study.model.name", onnxPath(study.model.name, path))
    : null;
  return { study, onnx };
}
