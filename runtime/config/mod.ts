/**
 * The JSON config files of server and clinic: one reader whose errors name the field, what
 * was expected and what was found.
 *
 * @example
 * ```ts
 * import { readJsonConfig } from "./mod.ts";
 * try {
 *   readJsonConfig('{"listen": 8443}', new Set(["listen"]), "/etc/splitgate").str("listen");
 * } catch (e) {
 *   console.log((e as TypeError).message); // "config.listen: expected a non-empty string, got 8443"
 * }
 * ```
 * @module
 */
export { type CodecConfig, type JsonConfig, readJsonConfig } from "./json_config.ts";
export { permissionPath } from "./permission_path.ts";
