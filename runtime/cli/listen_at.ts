/**
 * Binding a command's listen address: when the bind fails, what the command had already
 * started is undone and the error names the address ("Address already in use" alone does
 * not say which).
 *
 * @example
 * ```ts
 * import { listenAt } from "./listen_at.ts";
 * const http = await listenAt(
 *   { hostname: "127.0.0.1", port: 0 },
 *   () => Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok")),
 *   async () => {},
 * );
 * await http.shutdown();
 * ```
 * @module
 */

/**
 * Runs `bind` (which listens on `at`); when it throws, awaits `undo` and throws an error that
 * names `at`, with the bind's error as cause.
 *
 * @example
 * ```ts
 * import { listenAt } from "./listen_at.ts";
 * try {
 *   await listenAt({ hostname: "127.0.0.1", port: 1 }, () => { throw new Error("denied"); }, async () => {});
 * } catch (e) {
 *   console.log((e as Error).message); // listen 127.0.0.1:1: denied
 * }
 * ```
 */
export async function listenAt<T>(
  at: { hostname: string; port: number },
  bind: () => T,
  undo: () => Promise<void>,
): Promise<T> {
  try {
    return bind();
  } catch (e) {
    await undo();
    throw new Error(`listen ${at.hostname}:${at.port}: ${(e as Error).message}`, { cause: e });
  }
}
