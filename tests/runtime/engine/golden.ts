/**
 * Test helper: reads the numeric arrays of a `.golden.npz` from tests/fixtures/models (NumPy
 * `.npz` = zip of `.npy` files; `.npy` format spec v1.0/2.0: magic, version, little-endian
 * header length, a Python dict literal header, then C-order data). Only the little-endian
 * `<f4` and `<i8` arrays the engine tests need are decoded; other keys are skipped.
 *
 * @example
 * ```ts
 * import { readGolden } from "./golden.ts";
 * const g = readGolden("tests/fixtures/models/pneumonia_cnn.golden.npz");
 * console.log(g["logits"].dims); // [8, 1]
 * ```
 * @module
 */

import { unzipSync } from "fflate";
import { type Tensor, tensor } from "../../../models/tensor.ts";

function parseNpy(bytes: Uint8Array, key: string): Tensor | undefined {
  // .npy spec: "\x93NUMPY", major, minor, header length (u16 for v1, u32 for v2+).
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") {
    throw new TypeError(`${key}: not a .npy array`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "";
  const dims = shapeText.split(",").map((s) => s.trim()).filter((s) => s).map(Number);
  if (fortran) throw new TypeError(`${key}: fortran order not supported`);
  const body = bytes.slice(start + headerLen); // copy: aligned buffer of its own
  if (descr === "<f4") return tensor("float32", dims, new Float32Array(body.buffer));
  if (descr === "<i8") return tensor("int64", dims, new BigInt64Array(body.buffer));
  return undefined;
}

/**
 * The `<f4`/`<i8` arrays of an `.npz` file, by key (without `.npy`).
 *
 * @example
 * ```ts
 * import { readGolden } from "./golden.ts";
 * const g = readGolden("tests/fixtures/models/ehr_mlp.golden.npz");
 * console.log(g["input.codes"].dtype); // "int64"
 * ```
 */
export function readGolden(path: string): Record<string, Tensor> {
  const files = unzipSync(Deno.readFileSync(path));
  const out: Record<string, Tensor> = {};
  for (const [name, bytes] of Object.entries(files)) {
    const key = name.replace(/\.npy$/, "");
    const t = parseNpy(bytes, key);
    if (t) out[key] = t;
  }
  return out;
}
