/**
 * Length padding: the encoded message is zero-padded up to a bucket so that its
 * (encrypted) length says little about how well the tensor compressed — which
 * itself reveals something about the data (e.g. how many activations are 0).
 * The true body length travels inside the padded message; the receiver checks
 * that the padding is exactly what the declared scheme produces, all zeros.
 *
 * Schemes:
 * - `none`: no padding;
 * - `pow2`: the next power of two (leaks O(log log L) bits, costs up to 100 %);
 * - `multiple`: the next multiple of `bucket` bytes;
 * - `padme` (default): Padmé, from Nikitin et al., "Reducing Metadata Leakage
 *   from Encrypted Files and Communication with PURBs", PETS 2019, §4: keep
 *   the top ⌊log2 E⌋ + 1 bits of the length, where E = ⌊log2 L⌋, and round the
 *   rest up. It leaks O(log log L) bits like `pow2` but costs at most 12 %.
 *
 * @example
 * ```ts
 * import { paddedLength } from "./padding.ts";
 * paddedLength({ mode: "padme" }, 100_000); // 100352 (+0.35 %)
 * paddedLength({ mode: "pow2" }, 100_000); // 131072
 * paddedLength({ mode: "multiple", bucket: 4096 }, 100_000); // 102400
 * ```
 * @module
 */

import { PADDING_CODE } from "./wire_format.ts";

/** How to pad an encoded message; see the module doc. */
export type Padding =
  | { readonly mode: "none" }
  | { readonly mode: "pow2" }
  | { readonly mode: "multiple"; readonly bucket: number }
  | { readonly mode: "padme" };

/** Largest padded message length the codec produces or accepts (2 GiB − 1). */
export const MAX_MESSAGE_BYTES = 0x7fffffff;
/** Largest `bucket` of the `multiple` scheme (16 MiB). */
export const MAX_BUCKET = 1 << 24;

function ilog2(v: number): number {
  return 31 - Math.clz32(v); // v is a positive integer < 2^31 here
}

/**
 * Checks a {@linkcode Padding} given by a caller.
 *
 * @throws {RangeError} on an unknown mode or a bucket outside [1, 16 MiB].
 *
 * @example
 * ```ts
 * import { checkPadding } from "./padding.ts";
 * checkPadding({ mode: "multiple", bucket: 4096 }); // fine
 * try {
 *   checkPadding({ mode: "multiple", bucket: 0 });
 * } catch (e) {
 *   console.log(e instanceof RangeError); // true
 * }
 * ```
 */
export function checkPadding(p: Padding): void {
  if (!p || !(p.mode in PADDING_CODE)) {
    throw new RangeError(
      `padding mode ${
        JSON.stringify((p as { mode?: unknown })?.mode)
      } is unknown: expected none, pow2, multiple or padme`,
    );
  }
  if (
    p.mode === "multiple" && (!Number.isInteger(p.bucket) || p.bucket < 1 || p.bucket > MAX_BUCKET)
  ) {
    throw new RangeError(
      `padding bucket ${p.bucket} is invalid: expected an integer in [1, ${MAX_BUCKET}]`,
    );
  }
}

/**
 * The padded length of a message of `length` bytes (`1 ≤ length < 2^31`), or
 * `Infinity` when padding would exceed {@linkcode MAX_MESSAGE_BYTES}.
 *
 * @example
 * ```ts
 * import { paddedLength } from "./padding.ts";
 * paddedLength({ mode: "none" }, 17); // 17
 * ```
 */
export function paddedLength(p: Padding, length: number): number {
  let padded: number;
  switch (p.mode) {
    case "none":
      padded = length;
      break;
    case "pow2":
      padded = 1;
      while (padded < length) padded *= 2;
      break;
    case "multiple":
      padded = Math.ceil(length / p.bucket) * p.bucket;
      break;
    case "padme": {
      if (length < 2) return length;
      const e = ilog2(length);
      const s = ilog2(e) + 1;
      const step = 2 ** (e - s);
      padded = Math.ceil(length / step) * step;
      break;
    }
  }
  return padded > MAX_MESSAGE_BYTES ? Infinity : padded;
}
