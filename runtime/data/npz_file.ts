/**
 * File-system conveniences over {@linkcode readNpz} / {@linkcode writeNpz}:
 * read or write an `.npz` archive by path. Needs `--allow-read` / `--allow-write`.
 *
 * @example
 * ```ts
 * import { readNpzFile } from "./npz_file.ts";
 * const arrays = await readNpzFile("data/pneumoniamnist.npz");
 * ```
 * @module
 */

import type { NpyArray } from "./npy.ts";
import { readNpz, type ReadNpzOptions, writeNpz, type WriteNpzOptions } from "./npz.ts";

/**
 * Reads an `.npz` archive from `path`; error messages name the path.
 *
 * @example
 * ```ts
 * import { readNpzFile } from "./npz_file.ts";
 * const arrays = await readNpzFile("data/pneumoniamnist.npz");
 * console.log(arrays.get("test_labels")?.dims); // [624, 1]
 * ```
 */
export async function readNpzFile(
  path: string | URL,
  options: ReadNpzOptions = {},
): Promise<Map<string, NpyArray>> {
  return readNpz(await Deno.readFile(path), String(path), options);
}

/**
 * Writes arrays as a deflated `.npz` archive at `path`.
 *
 * @example
 * ```ts
 * import { writeNpzFile } from "./npz_file.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const path = await Deno.makeTempFile({ suffix: ".npz" });
 * await writeNpzFile(path, { x: tensor("float32", [1], new Float32Array([1])) });
 * ```
 */
export async function writeNpzFile(
  path: string | URL,
  arrays: Record<string, NpyArray> | ReadonlyMap<string, NpyArray>,
  options: WriteNpzOptions = {},
): Promise<void> {
  await Deno.writeFile(path, writeNpz(arrays, options));
}
