/**
 * The environment of the clinic's two child processes (docs/design/security_model.md). The launcher starts
 * them with `clearEnv: true` and exactly the variables of {@linkcode childEnv}; nothing of the
 * operator's shell (tokens, proxies, `NPM_CONFIG_*`, `DENO_AUTH_TOKENS`, ...) reaches them.
 *
 * | variable | raw side | courier | why |
 * | --- | --- | --- | --- |
 * | `DENO_DIR` | the launcher's cache ({@linkcode inheritedEnv}) | same | the module cache both run from (`--cached-only`) |
 * | `DENO_NO_UPDATE_CHECK` | `1` | `1` | Deno's own update check (a `CONNECT dl.deno.land:443`, seen from a child without it) |
 * | `NO_COLOR` | `1` | `1` | plain log lines for the launcher to relay |
 * | `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` | {@linkcode DOWNLOAD_SINK} | same | see below |
 * | `NO_PROXY` | — | the server's host | the courier's requests to its server go direct |
 *
 * Why a proxy for the raw side: Deno's `--allow-net` governs the program, not Deno's own module
 * loader. `--no-remote` refuses `http(s):` and `jsr:` specifiers, `--cached-only` refuses
 * downloads, `--frozen` refuses a new lockfile entry, but no Deno 2.9 flag refuses an `npm:`
 * specifier without also refusing the npm packages the raw side is built from (`--no-npm`).
 * Should `--cached-only` ever be dropped, an `import("npm:<data>")` would ask the registry for
 * `<data>`. With every proxy variable set to a closed loopback port, the loader's request goes
 * to that port and nowhere else: no DNS lookup of the registry, no packet leaves the host.
 * The courier gets the same sink, with its server's host in `NO_PROXY`, so it still reaches its
 * server directly (its `--allow-net` names that one address anyway).
 *
 * @example
 * ```ts
 * import { childEnv } from "./child_env.ts";
 * const env = childEnv("rawSide", { DENO_DIR: "/opt/splitgate/deno_dir" });
 * console.log(env.HTTPS_PROXY, env.DENO_DIR); // "http://127.0.0.1:9" "/opt/splitgate/deno_dir"
 * ```
 * @module
 */

import { basename, dirname } from "node:path";
import { defaultWasmFile } from "./raw_side/flags.ts";

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
 * The Deno cache folder this process loads its npm packages from, found from where
 * onnxruntime-web's `.wasm` resolved (`<deno dir>/npm/<registry host>/onnxruntime-web/...`);
 * undefined when the packages come from elsewhere (a `node_modules` folder).
 *
 * @example
 * ```ts
 * import { cacheFolderOfPackages } from "./child_env.ts";
 * console.log(cacheFolderOfPackages()); // e.g. "/home/me/.cache/deno"
 * ```
 */
export function cacheFolderOfPackages(): string | undefined {
  let dir = dirname(defaultWasmFile());
  while (dir !== dirname(dir) && basename(dir) !== "npm") dir = dirname(dir);
  return basename(dir) === "npm" ? dirname(dir) : undefined;
}

/**
 * What the children inherit: `DENO_DIR` as the launcher sees it when it may read it
 * (`--allow-env=DENO_DIR`, as the `client` task grants), else the cache folder its own packages
 * came from ({@linkcode cacheFolderOfPackages}), so both children load the very modules the
 * launcher was installed with, wherever `HOME` or `XDG_CACHE_HOME` pointed.
 *
 * @example
 * ```ts
 * import { inheritedEnv } from "./child_env.ts";
 * console.log(typeof inheritedEnv().DENO_DIR); // "string" (from Deno's npm cache)
 * ```
 */
export function inheritedEnv(): Record<string, string> {
  const granted =
    Deno.permissions.querySync({ name: "env", variable: "DENO_DIR" }).state === "granted";
  const dir = (granted ? Deno.env.get("DENO_DIR") : undefined) || cacheFolderOfPackages();
  return dir ? { DENO_DIR: dir } : {};
}

/**
 * Which child an environment is for: the raw side, or the courier with its server's URL (the
 * one host it reaches directly, past the download sink).
 *
 * @example
 * ```ts
 * import type { Child } from "./child_env.ts";
 * const c: Child = { courier: "http://10.0.0.5:8443" };
 * ```
 */
export type Child = "rawSide" | { courier: string };

/**
 * The complete environment of a child process (used with `clearEnv: true`).
 *
 * @param who the raw side, or the courier and its server URL
 * @param inherited the launcher's values of {@linkcode INHERITED_VARIABLES} (default
 *   {@linkcode inheritedEnv}); other keys are ignored
 * @example
 * ```ts
 * import { childEnv } from "./child_env.ts";
 * const env = childEnv({ courier: "http://10.0.0.5:8443" }, {});
 * console.log(env.NO_PROXY, env.HTTPS_PROXY); // "10.0.0.5" "http://127.0.0.1:9"
 * ```
 */
export function childEnv(
  who: Child,
  inherited: Readonly<Record<string, string>> = inheritedEnv(),
): Record<string, string> {
  const env: Record<string, string> = { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
  for (const name of INHERITED_VARIABLES) if (inherited[name]) env[name] = inherited[name];
  env.HTTP_PROXY = env.HTTPS_PROXY = env.ALL_PROXY = DOWNLOAD_SINK;
  // The courier's requests to its server go direct (NO_PROXY takes host names, not ports).
  if (who !== "rawSide") env.NO_PROXY = new URL(who.courier).hostname.replace(/^\[(.*)\]$/, "$1");
  return env;
}
