/**
 * How `deno task server` ends a finished study (`runtime/server/study_end.ts`): it checks
 * twice a second whether every clinic has left, or none was heard from for the turn timeout
 * since the end, and then stops the server (exit 0). A server restarted on a study that is
 * already finished says so and exits 0 at once. `--serve-finished` keeps either serving (for
 * `deno task client predict`, which needs the server's segment).
 *
 * @example
 * ```ts
 * import { finishedLine } from "./server_end.ts";
 * console.log(finishedLine("s1", "/var/lib/splitgate/server")); // study s1 is finished ...
 * ```
 * @module
 */
import { join } from "node:path";
import type { ServerHandle } from "../server/mod.ts";
import { FINAL_DIR } from "../server/study_end.ts";

/**
 * The line a server restarted on a finished study prints before exiting 0.
 *
 * @example
 * ```ts
 * import { finishedLine } from "./server_end.ts";
 * console.log(finishedLine(undefined, undefined).startsWith("the study is finished")); // true
 * ```
 */
export function finishedLine(id: string | undefined, checkpointDir: string | undefined): string {
  return `${id ? `study ${id} is` : "the study is"} finished` +
    (checkpointDir ? ` (final metrics and model in ${join(checkpointDir, FINAL_DIR)})` : "") +
    "; nothing to serve, exiting. Start another with --new-study or a new study id; --serve-finished serves this one for client predict";
}

/**
 * Calls `stop` once the finished study may end; returns a function that cancels the watch.
 *
 * @example
 * ```ts
 * import { watchStudyEnd } from "./server_end.ts";
 * import type { ServerHandle } from "../server/mod.ts";
 * function watch(server: ServerHandle) { return watchStudyEnd(server, 60_000, (why) => console.log(why)); }
 * ```
 */
export function watchStudyEnd(
  server: Pick<ServerHandle, "end">,
  idleMs: number,
  stop: (line: string) => void,
  now: () => number = Date.now,
): () => void {
  const timer = setInterval(() => {
    const why = server.end.stopReason(now(), idleMs);
    if (!why) return;
    clearInterval(timer);
    stop(
      why === "all-left"
        ? "study finished and every clinic has left: stopping"
        : `study finished; no clinic heard from for ${Math.round(idleMs / 1000)} s (waiting for ${
          server.end.waitingFor.join(", ")
        }): stopping`,
    );
  }, 500);
  return () => clearInterval(timer);
}
