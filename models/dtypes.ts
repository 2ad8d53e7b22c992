/**
 * The one table of element types: for each {@linkcode DType}, its ONNX
 * `TensorProto.DataType` code and name, the typed array that backs it, its byte width, and
 * whether it holds real numbers. Every other mapping (the ONNX reader and writer, shape
 * inference of `Cast`, the gradient rules' `Cast`s, the wire format's dtype byte, the
 * allocators) is derived from it, so no two places can disagree about a dtype.
 *
 * Codes are those of onnx/onnx.proto, `message TensorProto { enum DataType }`: FLOAT = 1,
 * UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7, STRING = 8, BOOL = 9,
 * FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13, COMPLEX64 = 14, COMPLEX128 = 15,
 * BFLOAT16 = 16. splitgate handles the eleven below; STRING, UINT64, the complex types and
 * BFLOAT16 have no {@linkcode DType}.
 *
 * @example
 * ```ts
 * import { DTYPE_OF_ONNX_CODE, DTYPE_TABLE, ONNX_DTYPE_CODES } from "./dtypes.ts";
 * console.log(ONNX_DTYPE_CODES.float16); // 10
 * console.log(DTYPE_OF_ONNX_CODE.get(11)); // "float64"
 * console.log(DTYPE_TABLE.float16.bytes); // 2
 * ```
 * @module
 */

/**
 * Element types splitgate understands, named as onnxruntime-common names them.
 *
 * @example
 * ```ts
 * import type { DType } from "./dtypes.ts";
 * const d: DType = "float16";
 * ```
 */
export type DType =
  | "float32"
  | "float64"
  | "float16"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "bool";

/**
 * The typed array that backs each {@linkcode DType}. `float16` is held as raw IEEE 754
 * binary16 bits in a `Uint16Array`; `bool` as one byte per element in a `Uint8Array`.
 *
 * @example
 * ```ts
 * import type { DTypeArrays } from "./dtypes.ts";
 * const bits: DTypeArrays["float16"] = new Uint16Array([0x3c00]); // 1.0
 * ```
 */
export interface DTypeArrays {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

/**
 * One row of {@linkcode DTYPE_TABLE}.
 *
 * @example
 * ```ts
 * import type { DTypeInfo } from "./dtypes.ts";
 * const row: DTypeInfo = { onnx: 1, onnxName: "FLOAT", bytes: 4, array: Float32Array, float: true };
 * ```
 */
export interface DTypeInfo {
  /** The ONNX `TensorProto.DataType` code (onnx.proto). */
  readonly onnx: number;
  /** The ONNX `TensorProto.DataType` enum name. */
  readonly onnxName: string;
  /** Bytes per element (the backing array's `BYTES_PER_ELEMENT`). */
  readonly bytes: number;
  /** The typed-array constructor backing the dtype. */
  readonly array:
    | Float32ArrayConstructor
    | Float64ArrayConstructor
    | Int8ArrayConstructor
    | Uint8ArrayConstructor
    | Int16ArrayConstructor
    | Uint16ArrayConstructor
    | Int32ArrayConstructor
    | Uint32ArrayConstructor
    | BigInt64ArrayConstructor;
  /** Whether elements are real numbers (gradients flow, the codec quantizes them). */
  readonly float: boolean;
}

/**
 * Every {@linkcode DType} with its ONNX code, backing array, width and kind: the one table.
 * Rows are in {@linkcode DType} order, which the derived tables keep (error messages list
 * dtypes in it), except {@linkcode ONNX_DTYPE_CODES}, in code order.
 *
 * @example
 * ```ts
 * import { DTYPE_TABLE } from "./dtypes.ts";
 * console.log(DTYPE_TABLE.int64.onnx, DTYPE_TABLE.int64.bytes); // 7 8
 * ```
 */
export const DTYPE_TABLE = {
  float32: { onnx: 1, onnxName: "FLOAT", bytes: 4, array: Float32Array, float: true },
  float64: { onnx: 11, onnxName: "DOUBLE", bytes: 8, array: Float64Array, float: true },
  float16: { onnx: 10, onnxName: "FLOAT16", bytes: 2, array: Uint16Array, float: true },
  int8: { onnx: 3, onnxName: "INT8", bytes: 1, array: Int8Array, float: false },
  uint8: { onnx: 2, onnxName: "UINT8", bytes: 1, array: Uint8Array, float: false },
  int16: { onnx: 5, onnxName: "INT16", bytes: 2, array: Int16Array, float: false },
  uint16: { onnx: 4, onnxName: "UINT16", bytes: 2, array: Uint16Array, float: false },
  int32: { onnx: 6, onnxName: "INT32", bytes: 4, array: Int32Array, float: false },
  uint32: { onnx: 12, onnxName: "UINT32", bytes: 4, array: Uint32Array, float: false },
  int64: { onnx: 7, onnxName: "INT64", bytes: 8, array: BigInt64Array, float: false },
  bool: { onnx: 9, onnxName: "BOOL", bytes: 1, array: Uint8Array, float: false },
} as const satisfies { readonly [D in DType]: DTypeInfo };

const ROWS = Object.entries(DTYPE_TABLE) as [DType, (typeof DTYPE_TABLE)[DType]][];

function column<K extends keyof DTypeInfo>(
  key: K,
): { readonly [D in DType]: (typeof DTYPE_TABLE)[D][K] } {
  return Object.fromEntries(ROWS.map(([d, row]) => [d, row[key]])) as {
    readonly [D in DType]: (typeof DTYPE_TABLE)[D][K];
  };
}

/**
 * ONNX `TensorProto.DataType` code of each dtype, in code order.
 *
 * @example
 * ```ts
 * import { ONNX_DTYPE_CODES } from "./dtypes.ts";
 * console.log(ONNX_DTYPE_CODES.float32, ONNX_DTYPE_CODES.float16); // 1 10
 * ```
 */
export const ONNX_DTYPE_CODES: Readonly<Record<DType, number>> = Object.fromEntries(
  ROWS.map(([d, row]) => [d, row.onnx] as const).sort((a, b) => a[1] - b[1]),
) as Record<DType, number>;

/**
 * The dtype of each ONNX `TensorProto.DataType` code splitgate handles (the inverse of
 * {@linkcode ONNX_DTYPE_CODES}, in code order).
 *
 * @example
 * ```ts
 * import { DTYPE_OF_ONNX_CODE } from "./dtypes.ts";
 * DTYPE_OF_ONNX_CODE.get(10); // "float16"
 * DTYPE_OF_ONNX_CODE.get(16); // undefined (BFLOAT16)
 * ```
 */
export const DTYPE_OF_ONNX_CODE: ReadonlyMap<number, DType> = new Map(
  (Object.entries(ONNX_DTYPE_CODES) as [DType, number][]).map(([d, c]) => [c, d]),
);

/**
 * Bytes per element of each dtype.
 *
 * @example
 * ```ts
 * import { DTYPE_BYTES } from "./dtypes.ts";
 * console.log(DTYPE_BYTES.float16); // 2
 * ```
 */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = column("bytes");

/**
 * The typed-array constructor backing each dtype.
 *
 * @example
 * ```ts
 * import { DTYPE_ARRAYS } from "./dtypes.ts";
 * new DTYPE_ARRAYS.int64(2); // BigInt64Array(2)
 * ```
 */
export const DTYPE_ARRAYS: { readonly [D in DType]: (typeof DTYPE_TABLE)[D]["array"] } = column(
  "array",
);

/**
 * The dtypes holding real numbers (float32, float64, float16): where gradients flow and
 * what the wire codec may quantize.
 *
 * @example
 * ```ts
 * import { FLOAT_DTYPES } from "./dtypes.ts";
 * FLOAT_DTYPES.has("float16"); // true
 * FLOAT_DTYPES.has("int64"); // false
 * ```
 */
export const FLOAT_DTYPES: ReadonlySet<DType> = new Set(
  ROWS.filter(([, row]) => row.float).map(([d]) => d),
);

/**
 * Whether `dtype` holds real numbers (is in {@linkcode FLOAT_DTYPES}); accepts any string,
 * so a dtype read from a file or an engine can be tested before it is known to be a
 * {@linkcode DType}.
 *
 * @example
 * ```ts
 * import { isFloatDType } from "./dtypes.ts";
 * isFloatDType("float64"); // true
 * isFloatDType("string"); // false
 * ```
 */
export function isFloatDType(dtype: string): dtype is DType {
  return (FLOAT_DTYPES as ReadonlySet<string>).has(dtype);
}
