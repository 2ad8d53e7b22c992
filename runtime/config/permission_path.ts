/**
 * Paths that go into Deno's permission flags (`--allow-read=a,b`), checked once for every
 * process that builds such flags: the clinic's raw side and courier, and the server.
 *
 * @example
 * ```ts
 * import { permissionPath } from "./permission_path.ts";
 * console.log(permissionPath("/var/lib/splitgate/server", "checkpointDir")); // "/var/lib/splitgate/server"
 * ```
 * @module
 */

/**
 * Checks a path for a permission list: Deno separates list entries with commas, so a path
 * holding one would widen or break the grant.
 *
 * @throws {TypeError} for an empty path or one containing a comma
 * @example
 * ```ts
 * import { permissionPath } from "./permission_path.ts";
 * permissionPath("/srv/data", "data directory"); // "/srv/data"
 * ```
 */
export function permissionPath(path: string, what: string): string {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError(`${what} must be a non-empty path, got ${JSON.stringify(path)}`);
  }
  if (path.includes(",")) {
    throw new TypeError(
      `${what} ${JSON.stringify(path)} contains a comma, which Deno's permission lists cannot hold`,
    );
  }
  return path;
}
