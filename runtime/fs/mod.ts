/**
 * File writes that leave either the old or the new content, never a mix: what the server's
 * checkpoints, the clinic's checkpoints and the allowlist editor keep.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/state.json`, new TextEncoder().encode("{}"));
 * console.log(await Deno.readTextFile(`${dir}/state.json`)); // {}
 * ```
 * @module
 */
export { writeFileAtomic } from "./atomic_file.ts";
