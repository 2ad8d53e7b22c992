/**
 * Test helper: runs a splitgate command-line entry point in a subprocess, as a user
 * would, and captures its exit code and output.
 * @module
 */
export const ROOT = new URL("../../", import.meta.url);
export const SHARED_MODELS = new URL("tests/fixtures/models/", ROOT);

/** Result of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run <flags> runtime/cli/<script> <args>` from the repository root. */
export async function runCli(script: string, args: string[], flags: string[] = ["-A", "--unstable-webgpu"]): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, new URL(`runtime/cli/${script}`, ROOT).pathname, ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Runs `deno task <name> <args>` from the repository root, as the README tells users to: the
 * task's own permission flags apply. Killed after `timeoutMs`.
 */
export async function runTask(name: string, args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The lines of `text` that are not ONNX Runtime's own log lines. */
export function ownLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() && !/\[[WE]:onnxruntime/.test(l));
}
