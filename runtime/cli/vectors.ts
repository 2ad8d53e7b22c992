/**
 * `deno task vectors <file.json>`: runs a Noise test-vector file (cacophony
 * layout) against `crypto/noise` and prints one line per vector:
 *
 * ```
 * ok   Noise_IK_25519_ChaChaPoly_SHA256
 * FAIL Noise_XX_25519_ChaChaPoly_SHA256: message 1 ciphertext: got …, want …
 * skip Noise_NN_448_AESGCM_SHA256: unsupported DH "448": expected 25519
 * 236 passed, 0 failed
 * ```
 *
 * The last line is `N passed, N failed` (`, N skipped` is appended when
 * some were skipped). Exit status: 0 when nothing failed, 1 on a failed
 * vector or unreadable input, 2 on a usage error.
 *
 * @module
 */
import { runVectors, summarize } from "../../crypto/noise/vectors.ts";

const USAGE = "usage: deno task vectors <file.json>";

/**
 * Runs the CLI with `args`, writing to `out`/`err`; returns the exit status.
 *
 * @example
 * ```ts
 * import { main } from "./vectors.ts";
 * const lines: string[] = [];
 * const code = await main(["/nonexistent.json"], (l) => lines.push(l), (l) => lines.push(l));
 * console.assert(code === 1 && lines.length === 1);
 * ```
 */
export async function main(
  args: readonly string[],
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  if (args.length !== 1 || args[0].startsWith("-")) {
    err(args.includes("--help") || args.includes("-h") ? USAGE : `vectors: ${USAGE}`);
    return 2;
  }
  const path = args[0];
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    err(`vectors: cannot read ${path}: ${(e as Error).message}`);
    return 1;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    err(`vectors: ${path} is not valid JSON: ${(e as Error).message}`);
    return 1;
  }
  let results;
  try {
    results = runVectors(doc);
  } catch (e) {
    err(`vectors: ${path}: ${(e as Error).message}`);
    return 1;
  }
  for (const r of results) {
    const tag = r.status === "ok" ? "ok  " : r.status === "fail" ? "FAIL" : "skip";
    out(`${tag} ${r.protocolName}${r.status === "ok" || !r.reason ? "" : `: ${r.reason}`}`);
  }
  const s = summarize(results);
  out(`${s.passed} passed, ${s.failed} failed${s.skipped > 0 ? `, ${s.skipped} skipped` : ""}`);
  return s.failed > 0 ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
