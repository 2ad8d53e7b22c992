/**
 * A dense tensor held in host memory: the one tensor type shared by every room of
 * splitgate (graphs, engines, data readers, the wire codec).
 *
 * Elements are stored row-major (C order). `float16` data is kept as raw IEEE 754
 * binary16 bits in a `Uint16Array`; `bool` as one byte per element in a `Uint8Array`.
 *
 * @example
 * ```ts
 * import { tensor } from "./tensor.ts";
 * const t = tensor("float32", [2, 2], new Float32Array([1, 2, 3, 4]));
 * console.log(t.dims); // [2, 2]
 * ```
 * @module
 */

import { type DType, DTYPE_ARRAYS, type DTypeArrays } from "./dtypes.ts";

// The dtypes, their backing arrays and widths live in the one dtype table (dtypes.ts);
// re-exported here, where every room has always imported them from.
export { type DType, DTYPE_ARRAYS, DTYPE_BYTES, type DTypeArrays } from "./dtypes.ts";

/** Any backing array of a {@linkcode Tensor}. */
export type TensorData = DTypeArrays[DType];

/** A dense row-major tensor. */
export interface Tensor<D extends DType = DType> {
  /** Element type. */
  readonly dtype: D;
  /** Dimensions; `[]` is a scalar. */
  readonly dims: readonly number[];
  /** Row-major elements; its length is the product of `dims`. */
  readonly data: DTypeArrays[D];
}

/**
 * Number of elements of a shape, checked: every dimension must be a non-negative
 * safe integer.
 *
 * @example
 * ```ts
 * import { sizeOf } from "./tensor.ts";
 * sizeOf([8, 1, 28, 28]); // 6272
 * ```
 */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `invalid dimension ${d} in shape [${dims.join(", ")}]: expected an integer >= 0`,
      );
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`shape [${dims.join(", ")}] has too many elements`);
  }
  return n;
}

/**
 * A zero-filled typed array for `dtype` with `n` elements.
 *
 * @example
 * ```ts
 * import { allocate } from "./tensor.ts";
 * allocate("int64", 3); // BigInt64Array(3)
 * ```
 */
export function allocate<D extends DType>(dtype: D, n: number): DTypeArrays[D] {
  const C = DTYPE_ARRAYS[dtype];
  if (!C) throw new TypeError(`unknown dtype ${JSON.stringify(dtype)}`);
  return new C(n) as DTypeArrays[D];
}

/**
 * Makes a tensor, checking that `data` matches `dtype` and `dims`. Without `data`
 * the tensor is zero-filled.
 *
 * @example
 * ```ts
 * import { tensor } from "./tensor.ts";
 * const z = tensor("float32", [3]); // zeros
 * ```
 */
export function tensor<D extends DType>(
  dtype: D,
  dims: readonly number[],
  data?: DTypeArrays[D],
): Tensor<D> {
  const n = sizeOf(dims);
  const C = DTYPE_ARRAYS[dtype];
  if (!C) throw new TypeError(`unknown dtype ${JSON.stringify(dtype)}`);
  if (data === undefined) data = allocate(dtype, n);
  if (!(data instanceof C)) {
    throw new TypeError(
      `tensor data for dtype ${dtype} must be a ${C.name}, got ${data?.constructor?.name}`,
    );
  }
  if (data.length !== n) {
    throw new RangeError(
      `tensor data has ${data.length} elements but shape [${dims.join(", ")}] needs ${n}`,
    );
  }
  return { dtype, dims: [...dims], data };
}
