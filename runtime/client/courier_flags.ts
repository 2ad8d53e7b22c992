/**
 * The Deno permissions of the clinic's courier process: network access to the one server
 * address, and read access to the clinic's key file, the server's public key file and the
 * peers file (the other clinics' public keys) — no
 * read of the data directory, no write, no run, no FFI, no env, no sys.
 *
 * ```
 * deno run --no-prompt --allow-net=<server host:port>
 *          --allow-read=<clinic key file>,<server pub key file>[,<peers file>]
 *          runtime/client/courier_main.ts ...
 * ```
 *
 * @example
 * ```ts
 * import { courierFlags } from "./courier_flags.ts";
 * courierFlags({ server: "http://10.0.0.5:8787", keyFile: "keys/a.key", serverPublicKeyFile: "keys/server.pub" });
 * // ["--no-prompt", "--allow-net=10.0.0.5:8787", "--allow-read=keys/a.key,keys/server.pub"]
 * ```
 * @module
 */
import { permissionPath } from "../config/permission_path.ts";

/**
 * What the courier's permissions are built from.
 *
 * @example
 * ```ts
 * import type { CourierFlagsConfig } from "./courier_flags.ts";
 * const c: CourierFlagsConfig = { server: "127.0.0.1:8787", keyFile: "a.key", serverPublicKeyFile: "s.pub" };
 * ```
 */
export interface CourierFlagsConfig {
  /** The server: `host:port`, or an `http(s)://` URL (the port defaults to 80 / 443). */
  server: string;
  /** This clinic's private key file (Noise static key). */
  keyFile: string;
  /** The server's public key file. */
  serverPublicKeyFile: string;
  /**
   * The peers file (allowlist format: the other clinics' public keys, to seal relayed
   * weights to), when the clinic trains with others.
   */
  peersFile?: string;
  /** The consortium pre-shared key file (IKpsk2), when there is one. */
  pskFile?: string;
}

/**
 * The `host:port` of a server address, with the port made explicit (Deno's `--allow-net` entry).
 *
 * @throws {TypeError} for an address that is neither `host:port` nor an http(s) URL
 * @example
 * ```ts
 * import { serverHostPort } from "./courier_flags.ts";
 * console.log(serverHostPort("https://gpu.example.org")); // "gpu.example.org:443"
 * ```
 */
export function serverHostPort(server: string): string {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`);
  } catch {
    throw new TypeError(`server ${JSON.stringify(server)}: expected host:port or an http(s) URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `server ${JSON.stringify(server)}: expected an http or https URL, got ${url.protocol}`,
    );
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(server) && !/:\d+$/.test(server)) {
    throw new TypeError(
      `server ${JSON.stringify(server)}: give host:port (the port is part of the permission)`,
    );
  }
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${url.hostname}:${port}`;
}

/**
 * The permission flags of the courier process.
 *
 * @throws {TypeError} for a bad server address, a missing path or a path with a comma
 * @example
 * ```ts
 * import { courierFlags } from "./courier_flags.ts";
 * const f = courierFlags({ server: "127.0.0.1:8787", keyFile: "a.key", serverPublicKeyFile: "s.pub" });
 * console.log(f[1]); // "--allow-net=127.0.0.1:8787"
 * ```
 */
export function courierFlags(config: CourierFlagsConfig): string[] {
  const reads = [
    permissionPath(config.keyFile, "keyFile"),
    permissionPath(config.serverPublicKeyFile, "serverPublicKeyFile"),
  ];
  if (config.peersFile !== undefined) reads.push(permissionPath(config.peersFile, "peersFile"));
  if (config.pskFile !== undefined) reads.push(permissionPath(config.pskFile, "pskFile"));
  return [
    "--no-prompt",
    `--allow-net=${serverHostPort(config.server)}`,
    `--allow-read=${reads.join(",")}`,
  ];
}
