/**
 * Launcher run-permission probe: runs `launchClinic` on the clinic config of its argument with
 * `revokeRun` as the `client` command does (the children fail: no server listens), then tries
 * to spawn `sh`, `curl` and Deno itself, and prints one JSON object `{attempt: outcome}` on
 * stdout (`"ok"`, `"NotCapable"` or another error's class name). `before` is a spawn of `sh`
 * before the launch: the control that the process could spawn at all.
 *
 * Usage: deno run --no-prompt --allow-read --allow-write --allow-run --allow-env \
 *          launcher_run_probe.ts '<ClientConfig JSON>'
 * @module
 */
import { launchClinic } from "../../../../runtime/client/launcher.ts";
import type { ClientConfig } from "../../../../runtime/client/client_config.ts";

const config = JSON.parse(Deno.args[0]) as ClientConfig;

async function attempt(cmd: string, args: string[]): Promise<string> {
  try {
    await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return "ok";
  } catch (e) {
    return e instanceof Deno.errors.NotCapable ? "NotCapable" : (e as Error).constructor.name;
  }
}

const before = await attempt("sh", ["-c", "true"]);
let launch = "ok";
try {
  await launchClinic(config, "train", { revokeRun: true, onLine: () => {} });
} catch (e) {
  launch = `${(e as Error).name} ${(e as { code?: string }).code ?? ""}`.trim();
}
console.log(JSON.stringify({
  before,
  launch,
  sh: await attempt("sh", ["-c", "true"]),
  curl: await attempt("curl", ["--version"]),
  deno: await attempt(Deno.execPath(), ["--version"]),
}));
