/**
 * Test-only reader of the real cut-layer tensors in
 * tests/fixtures/models/pneumonia_cnn.golden.npz (kept private to the codec tests
 * so they do not depend on runtime/data while it is being written).
 *
 * An .npz is a zip of .npy files (numpy.lib.format); a .npy is the magic
 * `\x93NUMPY`, a version, a little-endian header length (u16 for 1.0, u32 for
 * 2.0/3.0), a Python-literal header dict, then the raw C-order data.
 *
 * @example
 * ```ts
 * import { goldenCut } from "./golden_fixture.ts";
 * const act = goldenCut("activation"); // float32 [8, 32, 7, 7]
 * ```
 * @module
 */

import { unzipSync } from "fflate";
import { type Tensor, tensor } from "../../../models/tensor.ts";

/**
 * The golden file of the fixture CNN.
 *
 * @example
 * ```ts
 * import { GOLDEN_NPZ } from "./golden_fixture.ts";
 * console.log(GOLDEN_NPZ.endsWith("pneumonia_cnn.golden.npz")); // true
 * ```
 */
export const GOLDEN_NPZ = new URL("../../fixtures/models/pneumonia_cnn.golden.npz", import.meta.url).pathname;

/**
 * Parses a little-endian float32 (`<f4`), C-order .npy.
 *
 * @example
 * ```ts
 * import { parseF4Npy } from "./golden_fixture.ts";
 * // parseF4Npy(bytesOfAnNpyFile).dims
 * ```
 */
export function parseF4Npy(bytes: Uint8Array): Tensor<"float32"> {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (!magic.every((b, i) => bytes[i] === b)) throw new Error("not a .npy file");
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`expected '<f4', header ${header}`);
  if (!/'fortran_order':\s*False/.test(header)) throw new Error("expected C order");
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!shape) throw new Error(`no shape in ${header}`);
  const dims = shape[1].split(",").map((s) => s.trim()).filter((s) => s).map(Number);
  const off = start + headerLen;
  const data = new Float32Array(bytes.slice(off).buffer); // aligned copy; x86/arm are LE like '<'
  return tensor("float32", dims, data);
}

/**
 * `cut.activation` or `cut.grad` of pneumonia_cnn (float32 [8, 32, 7, 7]).
 *
 * @example
 * ```ts
 * import { goldenCut } from "./golden_fixture.ts";
 * goldenCut("grad").dims; // [8, 32, 7, 7]
 * ```
 */
export function goldenCut(which: "activation" | "grad"): Tensor<"float32"> {
  const name = `cut.${which}.npy`;
  const files = unzipSync(Deno.readFileSync(GOLDEN_NPZ), { filter: (f) => f.name === name });
  const bytes = files[name];
  if (!bytes) throw new Error(`${name} missing from ${GOLDEN_NPZ}`);
  return parseF4Npy(bytes);
}

/**
 * The golden activation tiled along the batch axis to `batch` (a multiple of 8).
 *
 * @example
 * ```ts
 * import { tiledActivation } from "./golden_fixture.ts";
 * tiledActivation(64).dims; // [64, 32, 7, 7]
 * ```
 */
export function tiledActivation(batch: number): Tensor<"float32"> {
  const a = goldenCut("activation");
  const out = new Float32Array((a.data.length / a.dims[0]) * batch);
  for (let o = 0; o < out.length; o += a.data.length) {
    out.set(a.data.subarray(0, Math.min(a.data.length, out.length - o)), o);
  }
  return tensor("float32", [batch, ...a.dims.slice(1)], out);
}
