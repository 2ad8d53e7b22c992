/**
 * `deno task report <dir> [--out file.html]`
 *
 * Renders a study's metrics (`<dir>/metrics.jsonl`, written by the server beside its
 * checkpoint; `<dir>` may also name the file itself) as one static HTML page with SVG
 * charts, no script and nothing external (`runtime/server/dashboard/report_html.ts`), to
 * archive or send by e-mail. Writes `<dir>/report.html` unless `--out` says otherwise, and
 * prints the path written.
 *
 * Permissions: `--allow-read`, `--allow-write` and `--allow-env=INIT_CWD` (relative paths
 * are taken from the folder the command was typed in).
 *
 * @example
 * ```sh
 * deno task report server-ckpt
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { METRICS_FILE, parseMetricsLines } from "../server/metrics/metrics_log.ts";
import { reportHtml } from "../server/dashboard/report_html.ts";
import { readInput, runMain, UsageError } from "./main.ts";
import { enterUserDir } from "./user_dir.ts";

const USAGE = "usage: deno task report <checkpoint dir or metrics.jsonl> [--out report.html]";

await runMain(async () => {
  enterUserDir();
  let parsed;
  try {
    parsed = parseArgs({ args: Deno.args, options: { out: { type: "string" } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [where, ...extra] = parsed.positionals;
  if (!where || extra.length > 0) throw new UsageError(`expected one directory (or metrics file), found ${parsed.positionals.length}`);
  const isDir = (() => {
    try {
      return Deno.statSync(where).isDirectory;
    } catch {
      return false;
    }
  })();
  const file = isDir ? `${where}/${METRICS_FILE}` : where;
  const lines = parseMetricsLines(new TextDecoder().decode(await readInput("metrics", file)));
  const out = parsed.values.out ?? (isDir ? `${where}/report.html` : file.replace(/\.jsonl$/, "") + ".html");
  await Deno.writeTextFile(out, reportHtml(lines, file));
  console.log(`report: ${out} (${lines.filter((l) => l.kind === "step").length} steps)`);
}, USAGE);
