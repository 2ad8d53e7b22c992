/**
 * `deno task server ...`: reads the server's arguments and config (`server_args.ts`), then
 * starts `server.ts` in a child process with exactly the permissions that config needs
 * (`serverFlags`: network on its listen address, write on its checkpoint directory) and
 * waits for it, passing SIGINT and SIGTERM on.
 *
 * Why a launcher: Deno's permissions are fixed when a process starts, and a task's flags are
 * fixed in `deno.json`, so a task granting `--allow-write=out/server` could only keep state
 * inside the repository. This process may read and start processes but has no network and
 * writes nothing; the server it starts may not start processes. An installed copy can thus
 * keep its state where its config says (`/var/lib/splitgate/server`), and the server's
 * network grant is narrower than the blanket `--allow-net` the task used to give.
 *
 * Errors in the arguments or the config are reported here, in one line, before anything
 * starts; relative paths are those of the folder the command was typed in (`INIT_CWD`).
 *
 * @example
 * ```sh
 * deno task --config /opt/splitgate/app/deno.json server --config /etc/splitgate/server.json
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";
import { serverFlags } from "../server/server_flags.ts";
import { runMain } from "./main.ts";
import { enterUserDir } from "./user_dir.ts";
import { readServerArgs, SERVER_USAGE } from "./server_args.ts";

const SERVER_MAIN = new URL("./server.ts", import.meta.url);
const DENO_JSON = new URL("../../deno.json", import.meta.url);

/**
 * The full `deno` argument list that starts the server for `args` (as typed) and the
 * config they name.
 *
 * @example
 * ```ts
 * import { serverCommandArgs } from "./server_launch.ts";
 * const a = serverCommandArgs({ hostname: "127.0.0.1", port: 8443 }, ["--config", "s.json"]);
 * console.log(a[0], a.at(-2), a.at(-1)); // "run" "--config" "s.json"
 * ```
 */
export function serverCommandArgs(
  config: Parameters<typeof serverFlags>[0],
  args: string[],
): string[] {
  return [
    "run",
    ...serverFlags(config),
    `--config=${fileURLToPath(DENO_JSON)}`,
    fileURLToPath(SERVER_MAIN),
    ...args,
  ];
}

if (import.meta.main) {
  await runMain(async () => {
    enterUserDir();
    const file = await readServerArgs(Deno.args);
    const child = new Deno.Command(Deno.execPath(), {
      args: serverCommandArgs(file, Deno.args),
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.addSignalListener(signal, () => {
          try {
            child.kill(signal);
          } catch { /* already gone */ }
        });
      } catch { /* signals unavailable */ }
    }
    const status = await child.status;
    // The server printed its own error line; keep its exit status (128 + n for a signal).
    Deno.exit(status.signal ? 128 + signalNumber(status.signal) : status.code);
  }, SERVER_USAGE);
}

function signalNumber(signal: Deno.Signal): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Partial<Record<Deno.Signal, number>>)[signal] ??
    1;
}
