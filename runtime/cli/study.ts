/**
 * `deno task study digest <study.json>`: prints the study's id and the digest each clinic
 * pins in its config (`"study": "sha256:<hex>"`), computed as the server computes the one it
 * publishes (`runtime/server/study_config.ts`). `deno task study show <study.json>` prints the
 * canonical JSON the digest is taken over.
 *
 * Permissions: read only (the study file and its `.onnx` model).
 *
 * @example
 * ```sh
 * deno task study digest deploy/study.json
 * # bc-2026-01 sha256:2f0c…
 * ```
 * @module
 */
import { resolve } from "node:path";
import { publishStudyFile } from "../server/study_config.ts";
import { runMain, UsageError } from "./main.ts";
import { enterUserDir } from "./user_dir.ts";
import { readStudyFile } from "./study_file.ts";

const USAGE = "usage: deno task study digest|show <study.json>";

await runMain(async () => {
  enterUserDir();
  const [command, file, ...rest] = Deno.args;
  if ((command !== "digest" && command !== "show") || !file || rest.length > 0) {
    throw new UsageError(
      `expected a command and one study file, got ${Deno.args.join(" ") || "nothing"}`,
    );
  }
  const path = resolve(file);
  const { study, onnx } = await readStudyFile("study file", path);
  const published = publishStudyFile(study, onnx);
  console.log(command === "digest" ? `${published.id} ${published.digest}` : published.text);
}, USAGE);
