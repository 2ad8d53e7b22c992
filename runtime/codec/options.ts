/**
 * What the sender chooses ({@linkcode CodecOptions}) and what the receiver
 * accepts ({@linkcode DecodeLimits}), with their defaults and checks.
 *
 * @example
 * ```ts
 * import { resolveEncoding, resolveLimits } from "./options.ts";
 * resolveEncoding({ dtype: "int8" }); // { dtype: "int8", channelAxis: 1, topK: undefined, level: 6 }
 * resolveLimits({ maxElements: 1024 }).maxRank; // 8
 * ```
 * @module
 */

import { checkPadding, type Padding } from "./padding.ts";

/**
 * How float tensors travel: `float32` exact, `float16` (round to nearest even,
 * relative error ≤ 2^-11 for normal values), `int8` (per-channel affine,
 * absolute error ≤ scale/2). Integer and bool tensors always travel exactly in
 * their own dtype, whatever this says.
 *
 * @example
 * ```ts
 * import type { WireDType } from "./options.ts";
 * const w: WireDType = "float16";
 * ```
 */
export type WireDType = "float32" | "float16" | "int8";

/**
 * Per-tensor encoding choices. Lossy settings (`dtype`, `channelAxis`, `topK`)
 * apply to float tensors only; `level` applies to every tensor.
 *
 * @example
 * ```ts
 * import type { TensorEncoding } from "./options.ts";
 * const activations: TensorEncoding = { dtype: "int8", topK: 0.1, level: 1 };
 * ```
 */
export interface TensorEncoding {
  /** Wire dtype of float tensors. Default `"float32"` (exact). */
  readonly dtype?: WireDType;
  /**
   * Channel axis of int8 quantisation (negative counts from the end), or
   * `null` for one scale per tensor. Default 1 (NCHW channels). Tensors of
   * rank < 2 always use one scale.
   */
  readonly channelAxis?: number | null;
  /**
   * Top-k sparsification: keep this fraction (0, 1] of the elements, those of
   * largest magnitude (at least one), and send their indices. Default: dense.
   */
  readonly topK?: number;
  /** DEFLATE level 0–9; 0 sends the payload uncompressed. Default 6. */
  readonly level?: number;
}

/**
 * Options of {@linkcode encodeTensor}: a {@linkcode TensorEncoding} plus the
 * length padding of the whole message.
 *
 * @example
 * ```ts
 * import type { CodecOptions } from "./options.ts";
 * const o: CodecOptions = { dtype: "int8", level: 6, padding: { mode: "multiple", bucket: 1024 } };
 * ```
 */
export interface CodecOptions extends TensorEncoding {
  /** Length padding of the message. Default Padmé (≤ 12 % overhead). */
  readonly padding?: Padding;
}

/**
 * Options of {@linkcode encodeTensors}: defaults for every tensor of the
 * bundle, overridden per name by `perTensor`.
 *
 * @example
 * ```ts
 * import type { BundleOptions } from "./options.ts";
 * const o: BundleOptions = { dtype: "float16", perTensor: { activation: { dtype: "int8" } } };
 * ```
 */
export interface BundleOptions extends CodecOptions {
  /** Encoding overrides by tensor name (merged over the defaults). */
  readonly perTensor?: Readonly<Record<string, TensorEncoding>>;
  /**
   * Write a tensor that was decoded with `keepRecords` as the record it arrived in, instead
   * of encoding it again (a relay's option; `wire_records.ts`). Default false.
   */
  readonly reuseRecords?: boolean;
}

/**
 * What a receiver accepts. Every declared size is checked against these before
 * anything of that size is allocated.
 *
 * @example
 * ```ts
 * import type { DecodeLimits } from "./options.ts";
 * const server: DecodeLimits = { maxElements: 64 * 32 * 7 * 7 };
 * ```
 */
export interface DecodeLimits {
  /** Largest rank. Default 8. */
  readonly maxRank?: number;
  /** Largest single dimension. Default 2^26. */
  readonly maxDim?: number;
  /** Largest element count of a message (summed over a bundle). Default 64 Mi = 2^26. */
  readonly maxElements?: number;
  /** Largest number of tensors in a bundle. Default 64. */
  readonly maxTensors?: number;
}

/** A {@linkcode TensorEncoding} with every default filled in. */
export interface ResolvedEncoding {
  /** Wire dtype of float tensors. */
  readonly dtype: WireDType;
  /** Channel axis as given (normalised per tensor), or null. */
  readonly channelAxis: number | null;
  /** Kept fraction, or undefined for dense. */
  readonly topK: number | undefined;
  /** DEFLATE level. */
  readonly level: number;
}

/** Default {@linkcode DecodeLimits}. */
export const DEFAULT_LIMITS: Readonly<Required<DecodeLimits>> = {
  maxRank: 8,
  maxDim: 2 ** 26,
  maxElements: 2 ** 26,
  maxTensors: 64,
};

/** Default padding: Padmé. */
export const DEFAULT_PADDING: Padding = { mode: "padme" };

const WIRE_DTYPES: ReadonlySet<string> = new Set(["float32", "float16", "int8"]);

/**
 * Fills in defaults and checks a {@linkcode TensorEncoding}.
 *
 * @throws {RangeError} naming the bad option.
 *
 * @example
 * ```ts
 * import { resolveEncoding } from "./options.ts";
 * try {
 *   resolveEncoding({ level: 10 });
 * } catch (e) {
 *   console.log(e instanceof RangeError); // true
 * }
 * ```
 */
export function resolveEncoding(e: TensorEncoding = {}): ResolvedEncoding {
  const dtype = e.dtype ?? "float32";
  if (!WIRE_DTYPES.has(dtype)) {
    throw new RangeError(
      `wire dtype ${JSON.stringify(dtype)} is unknown: expected float32, float16 or int8`,
    );
  }
  const level = e.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new RangeError(`level ${level} is invalid: expected an integer in [0, 9]`);
  }
  const topK = e.topK;
  if (topK !== undefined && !(typeof topK === "number" && topK > 0 && topK <= 1)) {
    throw new RangeError(`topK ${topK} is invalid: expected a fraction in (0, 1]`);
  }
  const channelAxis = e.channelAxis === undefined ? 1 : e.channelAxis;
  if (channelAxis !== null && !Number.isInteger(channelAxis)) {
    throw new RangeError(`channelAxis ${channelAxis} is invalid: expected an integer or null`);
  }
  return { dtype, channelAxis, topK, level };
}

/**
 * Fills in defaults and checks {@linkcode DecodeLimits}.
 *
 * @throws {RangeError} naming the bad limit.
 *
 * @example
 * ```ts
 * import { resolveLimits } from "./options.ts";
 * try {
 *   resolveLimits({ maxRank: 300 });
 * } catch (e) {
 *   console.log(e instanceof RangeError); // true
 * }
 * ```
 */
export function resolveLimits(l: DecodeLimits = {}): Required<DecodeLimits> {
  const r = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof DecodeLimits)[]) {
    const v = l[key];
    if (v === undefined) continue;
    const max = key === "maxRank" ? 255 : key === "maxTensors" ? 0xffff : 2 ** 32;
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new RangeError(`limit ${key} = ${v} is invalid: expected an integer in [0, ${max}]`);
    }
    r[key] = v;
  }
  return r;
}

/**
 * Fills in and checks the padding of {@linkcode CodecOptions}.
 *
 * @example
 * ```ts
 * import { resolvePadding } from "./options.ts";
 * resolvePadding(undefined); // { mode: "padme" }
 * ```
 */
export function resolvePadding(p: Padding | undefined): Padding {
  const padding = p ?? DEFAULT_PADDING;
  checkPadding(padding);
  return padding;
}
