/**
 * The environment of the clinic's two child processes (issue 16, part 5). The launcher starts
 * them with `clearEnv: true` and exactly the variables of {@linkcode childEnv}; nothing of the
 * operator's shell (tokens, proxies, `NPM_CONFIG_*`, `DENO_AUTH_TOKENS`, ...) reaches them.
 *
 * | variable | raw side | courier | why |
 * | --- | --- | --- | --- |
 * | `DENO_DIR` | if the launcher's is set | same | the module cache both run from (`--cached-only`) |
 * | `DENO_NO_UPDATE_CHECK` | `1` | `1` | Deno's own update check is a request to the network |
 * | `NO_COLOR` | `1` | `1` | plain log lines for the launcher to relay |
 * | `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` | {@linkcode DOWNLOAD_SINK} | — | see below |
 *
 * Why a proxy for the raw side: Deno's `--allow-net` governs the program, not Deno's own module
 * loader. `--no-remote` refuses `http(s):` and `jsr:` specifiers, `--cached-only` refuses
 * downloads, `--frozen` refuses a new lockfile entry, but no Deno 2.9 flag refuses an `npm:`
 * specifier without also refusing the npm packages the raw side is built from (`--no-npm`).
 * Should `--cached-only` ever be dropped, an `import("npm:<data>")` would ask the registry for
 * `<data>`. With every proxy variable set to a closed loopback port, the loader's request goes
 * to that port and nowhere else: no DNS lookup of the registry, no packet leaves the host.
 * The courier keeps no proxy: it must reach its server directly.
 *
 * @example
 * ```ts
 * import { childEnv } from "./child_env.ts";
 * const env = childEnv("rawSide", { DENO_DIR: "/opt/splitgate/deno_dir" });
 * console.log(env.HTTPS_PROXY, env.DENO_DIR); // "http://127.0.0.1:9" "/opt/splitgate/deno_dir"
 * ```
 * @module
 */

/**
 * The proxy every download of the raw side's module loader is sent to: the discard port of
 * loopback (RFC 863), a privileged port nothing listens on in a normal installation, so the
 * connection is refused on the host itself.
 *
 * @example
 * ```ts
 * import { DOWNLOAD_SINK } from "./child_env.ts";
 * console.log(new URL(DOWNLOAD_SINK).hostname); // "127.0.0.1"
 * ```
 */
export const DOWNLOAD_SINK = "http://127.0.0.1:9";

/**
 * The variables a child may inherit from the launcher (only these are ever read).
 *
 * @example
 * ```ts
 * import { INHERITED_VARIABLES } from "./child_env.ts";
 * console.log(INHERITED_VARIABLES); // ["DENO_DIR"]
 * ```
 */
export const INHERITED_VARIABLES = ["DENO_DIR"] as const;

/**
 * The launcher's value of each of {@linkcode INHERITED_VARIABLES} it may read (`--allow-env`);
 * one it may not read is left out, and the child then uses Deno's default cache folder.
 *
 * @example
 * ```ts
 * import { inheritedEnv } from "./child_env.ts";
 * console.log(typeof inheritedEnv()); // "object"
 * ```
 */
export function inheritedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") continue;
    const v = Deno.env.get(name);
    if (v !== undefined && v !== "") out[name] = v;
  }
  return out;
}

/**
 * The complete environment of a child process (used with `clearEnv: true`).
 *
 * @param who which child
 * @param inherited the launcher's values of {@linkcode INHERITED_VARIABLES} (default
 *   {@linkcode inheritedEnv}); other keys are ignored
 * @example
 * ```ts
 * import { childEnv } from "./child_env.ts";
 * console.log(Object.keys(childEnv("courier", {})).sort()); // ["DENO_NO_UPDATE_CHECK", "NO_COLOR"]
 * ```
 */
export function childEnv(
  who: "rawSide" | "courier",
  inherited: Readonly<Record<string, string>> = inheritedEnv(),
): Record<string, string> {
  const env: Record<string, string> = { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
  for (const name of INHERITED_VARIABLES) if (inherited[name]) env[name] = inherited[name];
  if (who === "rawSide") {
    env.HTTP_PROXY = env.HTTPS_PROXY = env.ALL_PROXY = DOWNLOAD_SINK;
  }
  return env;
}
