/**
 * The exit status of `deno task client` when the hijack guard raised its alarm
 * (`defence.hijackGuard`; `runtime/client/raw_side/hijack_watch.ts`): 3, apart from the 1 of
 * any other failure, so that a supervisor which restarts a failed gateway can tell "this server
 * looks malicious, do not train with it" from a crash. The line printed is the usual one:
 * `error: courier [HIJACK_SUSPECTED]: hijack suspected at step …`.
 *
 * @example
 * ```ts
 * import { exitOnHijack } from "./hijack_exit.ts";
 * await exitOnHijack(Promise.resolve(1)); // 1
 * ```
 * @module
 */

/** `deno task client`'s exit status after a `HIJACK_SUSPECTED` alarm. */
export const HIJACK_EXIT_CODE = 3;

/** The courier's fatal line as the launcher reports it (`courier_main.ts`, `child_log.ts`). */
const ALARM = /^courier \[HIJACK_SUSPECTED\]: /;

/**
 * Whether `e` is the hijack guard's alarm, as a clinic run reports it.
 *
 * @example
 * ```ts
 * import { isHijackAlarm } from "./hijack_exit.ts";
 * isHijackAlarm(new Error("courier [HIJACK_SUSPECTED]: hijack suspected at step 0:13")); // true
 * ```
 */
export function isHijackAlarm(e: unknown): boolean {
  return e instanceof Error && ALARM.test(e.message);
}

/**
 * Awaits `run`; on the hijack alarm prints `error: <its first line>` and exits with
 * {@linkcode HIJACK_EXIT_CODE}; any other error passes through (to `runMain`, exit 1).
 *
 * @example
 * ```ts
 * import { exitOnHijack } from "./hijack_exit.ts";
 * await exitOnHijack(Promise.resolve("trained"));
 * ```
 */
export async function exitOnHijack<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (e) {
    if (!isHijackAlarm(e)) throw e;
    console.error(`error: ${(e as Error).message.split("\n")[0]}`);
    Deno.exit(HIJACK_EXIT_CODE);
  }
}
