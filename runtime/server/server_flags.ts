/**
 * The Deno permissions of the server process, derived from its config so that the grant is
 * exactly what the config asks for: network on the one listen address, write on the one
 * checkpoint directory (none without one), read everywhere (config, keys, model,
 * checkpoints, onnxruntime's own files), and FFI, system information and environment for
 * the native engine (onnxruntime-node is a Node-API addon). No `--allow-run`: the process
 * that faces the network starts nothing.
 *
 * ```
 * deno run --no-prompt --allow-net=<host:port> --allow-read [--allow-write=<checkpoint dir>]
 *          --allow-ffi --allow-sys --allow-env --unstable-webgpu runtime/cli/server.ts ...
 * ```
 *
 * `deno task server` (`runtime/cli/server_launch.ts`) spawns the server with these flags;
 * the systemd unit and the container recipe in `deploy/` write them out, and a test keeps
 * them equal.
 *
 * @example
 * ```ts
 * import { serverFlags } from "./server_flags.ts";
 * serverFlags({ hostname: "0.0.0.0", port: 8443, checkpointDir: "/var/lib/splitgate/server" });
 * // ["--no-prompt", "--allow-net=0.0.0.0:8443", "--allow-read",
 * //  "--allow-write=/var/lib/splitgate/server", "--allow-ffi", "--allow-sys", "--allow-env",
 * //  "--unstable-webgpu"]
 * ```
 * @module
 */
import { isAbsolute } from "node:path";
import { permissionPath } from "../config/permission_path.ts";

/**
 * What the server's permissions are built from (fields of a parsed server config).
 *
 * @example
 * ```ts
 * import type { ServerFlagsConfig } from "./server_flags.ts";
 * const c: ServerFlagsConfig = { hostname: "127.0.0.1", port: 8443 };
 * ```
 */
export interface ServerFlagsConfig {
  /** The listen host (an IPv6 address without brackets, as `parseListen` returns it). */
  hostname: string;
  /** The listen port. */
  port: number;
  /** The checkpoint directory, absolute; none: the server writes nothing. */
  checkpointDir?: string;
  /** The NATS server of a scale-out front or trainer (`--nats`): it may connect there too. */
  nats?: { host: string; port: number };
  /** A trainer's applied-step log (`--applied-log`), absolute: it may write that file too. */
  appliedLog?: string;
}

/**
 * The permission flags of the server process.
 *
 * @throws {TypeError} for a relative checkpoint directory (a grant must not depend on the
 *   working directory) or one containing a comma
 * @example
 * ```ts
 * import { serverFlags } from "./server_flags.ts";
 * const f = serverFlags({ hostname: "::1", port: 8443 });
 * console.log(f[1]); // "--allow-net=[::1]:8443"
 * console.log(f.some((x) => x.startsWith("--allow-write"))); // false
 * ```
 */
export function serverFlags(config: ServerFlagsConfig): string[] {
  const bracket = (h: string) => h.includes(":") ? `[${h}]` : h;
  const nats = config.nats ? `,${bracket(config.nats.host)}:${config.nats.port}` : "";
  const flags = ["--no-prompt", `--allow-net=${bracket(config.hostname)}:${config.port}${nats}`, "--allow-read"];
  if (config.checkpointDir !== undefined) {
    const dir = permissionPath(config.checkpointDir, "checkpointDir");
    if (!isAbsolute(dir)) {
      throw new TypeError(`checkpointDir ${JSON.stringify(dir)}: expected an absolute path`);
    }
    flags.push(`--allow-write=${dir}${config.appliedLog ? `,${permissionPath(config.appliedLog, "appliedLog")}` : ""}`);
  } else if (config.appliedLog !== undefined) {
    flags.push(`--allow-write=${permissionPath(config.appliedLog, "appliedLog")}`);
  }
  // Today's engines: native needs FFI (Node-API), sys and env; webgpu needs the unstable API.
  flags.push("--allow-ffi", "--allow-sys", "--allow-env", "--unstable-webgpu");
  return flags;
}
