/**
 * Reading and writing NumPy `.npz` archives: a ZIP file (PKWARE APPNOTE) whose
 * members are `.npy` files, one per array, named `<key>.npy` (numpy.savez /
 * numpy.savez_compressed). ZIP handling comes from fflate.
 *
 * @example
 * ```ts
 * import { readNpz, writeNpz } from "./npz.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const zip = writeNpz({ w: tensor("float32", [2], new Float32Array([1, 2])) });
 * const arrays = readNpz(zip, "w.npz");
 * console.log([...arrays.keys()]); // ["w"]
 * ```
 * @module
 */

import { unzipSync, type Zippable, zipSync } from "fflate";
import { crc32 } from "node:zlib";
import { storedCrcs } from "./zip_crc.ts";
import { type NpyArray, readNpy, writeNpy } from "./npy.ts";

/** Options of {@linkcode readNpz}. */
export interface ReadNpzOptions {
  /**
   * Refuse archives whose members would inflate to more than this many bytes in
   * total, checked from the ZIP directory before inflating. Default 2 GiB.
   */
  maxBytes?: number;
  /** Read only these keys (array names without `.npy`); default all. */
  keys?: readonly string[];
}

/**
 * Decodes an `.npz` archive into a map from array name (member name without
 * `.npy`, as `numpy.load` names them) to array. Members not ending in `.npy`
 * are skipped.
 *
 * @param bytes the archive
 * @param fileName a name for error messages
 * @throws {TypeError} the bytes are not a readable ZIP archive (the message names `fileName`)
 * @throws {RangeError} the archive would inflate past `maxBytes`
 *
 * @example
 * ```ts
 * import { readNpz } from "./npz.ts";
 * const arrays = readNpz(Deno.readFileSync("data/pneumoniamnist.npz"), "pneumoniamnist.npz");
 * console.log(arrays.get("train_images")?.dims); // [4708, 28, 28]
 * ```
 */
export function readNpz(
  bytes: Uint8Array,
  fileName = "<npz>",
  options: ReadNpzOptions = {},
): Map<string, NpyArray> {
  const maxBytes = options.maxBytes ?? 2 ** 31;
  const wanted = options.keys ? new Set(options.keys.map((k) => `${k}.npy`)) : undefined;
  let total = 0;
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes, {
      filter(f) {
        if (!f.name.endsWith(".npy")) return false;
        if (wanted && !wanted.has(f.name)) return false;
        total += f.originalSize;
        if (total > maxBytes) {
          throw new RangeError(
            `${fileName}: members inflate to more than ${maxBytes} bytes (limit maxBytes)`,
          );
        }
        return true;
      },
    });
  } catch (e) {
    if (e instanceof RangeError) throw e;
    throw new TypeError(
      `${fileName}: not a valid .npz (ZIP) archive: ${(e as Error).message}`,
      { cause: e },
    );
  }
  // fflate inflates without checking the CRC-32 each member was stored with: a damaged
  // file (a checkpoint hit by a disk error, a truncated copy) would load as if whole.
  let crcs: Map<string, number> | null;
  try {
    crcs = storedCrcs(bytes);
  } catch (e) {
    throw new TypeError(`${fileName}: not a valid .npz (ZIP) archive: ${(e as Error).message}`, { cause: e });
  }
  const out = new Map<string, NpyArray>();
  for (const [member, data] of Object.entries(members)) {
    const stored = crcs?.get(member);
    if (stored !== undefined) {
      const got = crc32(data) >>> 0;
      if (got !== stored) {
        throw new TypeError(
          `${fileName}: array '${member.slice(0, -4)}' fails its CRC-32 check (stored ${hex(stored)}, ` +
            `read ${hex(got)}): the file is damaged`,
        );
      }
    }
    out.set(member.slice(0, -4), readNpy(data, `${fileName}:${member}`));
  }
  if (wanted) {
    const missing = [...wanted].filter((m) => !members[m]).map((m) => m.slice(0, -4));
    if (missing.length > 0) {
      throw new RangeError(
        `${fileName}: no array ${missing.map((k) => `'${k}'`).join(", ")}; found ` +
          (listNpz(bytes, fileName).map((k) => `'${k}'`).join(", ") || "none"),
      );
    }
  }
  return out;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/**
 * Names of the arrays in an `.npz` archive, without inflating them.
 *
 * @example
 * ```ts
 * import { listNpz } from "./npz.ts";
 * listNpz(Deno.readFileSync("data/pneumoniamnist.npz")); // ["train_images", ...]
 * ```
 */
export function listNpz(bytes: Uint8Array, fileName = "<npz>"): string[] {
  const names: string[] = [];
  try {
    unzipSync(bytes, {
      filter(f) {
        if (f.name.endsWith(".npy")) names.push(f.name.slice(0, -4));
        return false;
      },
    });
  } catch (e) {
    throw new TypeError(`${fileName}: not a valid .npz (ZIP) archive: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return names;
}

/** Options of {@linkcode writeNpz}. */
export interface WriteNpzOptions {
  /** Deflate level 0 (stored) to 9; default 6, like `numpy.savez_compressed`. */
  level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
}

/**
 * Encodes arrays as an `.npz` archive (deflate-compressed, like
 * `numpy.savez_compressed`), one member `<key>.npy` per array. Member times are
 * fixed at 1980-01-01 (the ZIP epoch) so the same arrays give the same bytes.
 *
 * @example
 * ```ts
 * import { writeNpz } from "./npz.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const bytes = writeNpz(new Map([["loss", tensor("float32", [], new Float32Array([0.5]))]]));
 * Deno.writeFileSync(await Deno.makeTempFile({ suffix: ".npz" }), bytes);
 * ```
 */
export function writeNpz(
  arrays: Record<string, NpyArray> | ReadonlyMap<string, NpyArray>,
  options: WriteNpzOptions = {},
): Uint8Array {
  const entries = arrays instanceof Map ? [...arrays.entries()] : Object.entries(arrays);
  const files: Zippable = {};
  for (const [key, array] of entries) {
    if (key.length === 0) throw new TypeError("writeNpz: array name must not be empty");
    const member = `${key}.npy`;
    if (member in files) throw new TypeError(`writeNpz: duplicate array name '${key}'`);
    files[member] = writeNpy(array);
  }
  return zipSync(files, { level: options.level ?? 6, mtime: new Date(1980, 0, 1) });
}
