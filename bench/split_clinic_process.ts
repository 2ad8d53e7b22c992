/**
 * One clinic of `bench:split`, in a process of its own: `deno run --allow-read --allow-write
 * --allow-run bench/split_clinic_process.ts <clinic.json> [--profile]`.
 *
 * Runs the real launcher (`runtime/client/launcher.ts`: sandboxed raw side, courier, and the
 * relay between them) as `deno task client` does at a clinic gateway, and prints the courier's
 * `profile ...` lines and then one line `result <json>` (samples, train seconds, steady samples/s, bytes, steps).
 * Why a process: the launcher relays every pipe chunk on its JavaScript thread. In the bench
 * process that thread also runs the server, whose engine holds it during a step (a session's
 * `run` is synchronous on both engines), so the clinic's relay would wait on the server's work
 * — which a clinic on its own gateway never does.
 *
 * @example
 * ```sh
 * deno run --allow-read --allow-write --allow-run bench/split_clinic_process.ts /tmp/x/clinic.json --profile
 * ```
 * @module
 */
import { dirname } from "node:path";
import { parseClientConfig } from "../runtime/client/client_config.ts";
import { launchClinic } from "../runtime/client/launcher.ts";
import type { ClinicResult } from "../runtime/client/clinic.ts";

/** Prefix of the line carrying the result. */
export const RESULT_LINE = "result ";

/** A launcher log line as a profile line (its `[process]` tag dropped), or null for any other line. */
export function profileLine(line: string): string | null {
  return line.includes("profile ") ? line.replace(/^\[[^\]]*\] /, "") : null;
}

if (import.meta.main) {
  const [path, flag] = Deno.args;
  if (!path || (flag !== undefined && flag !== "--profile")) {
    console.error("usage: split_clinic_process.ts <clinic.json> [--profile]");
    Deno.exit(2);
  }
  const profile = flag === "--profile";
  const config = parseClientConfig(await Deno.readTextFile(path), dirname(path));
  const r = (await launchClinic<ClinicResult>(config, "train", {
    profile,
    onLine: (l) => {
      const p = profileLine(l);
      if (p !== null) console.log(p);
    },
  })).result;
  console.log(RESULT_LINE + JSON.stringify({
    samples: r.samples,
    trainSeconds: r.trainSeconds,
    steadySamplesPerSec: r.steadySamplesPerSec,
    bytesUp: r.bytesUp,
    bytesDown: r.bytesDown,
    steps: r.steps,
  }));
}
