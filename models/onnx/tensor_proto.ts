/**
 * Conversion between ONNX `TensorProto` messages (as protobufjs plain objects) and
 * splitgate's {@linkcode Tensor}.
 *
 * Reading accepts both storage forms the ONNX spec allows: `raw_data` (little-endian bytes,
 * what PyTorch writes) and the typed repeated fields (`float_data`, `int32_data` — which also
 * carries int8/uint8/int16/uint16/bool/float16 per onnx.proto3 comments —, `int64_data`,
 * `double_data`, `uint64_data`). Writing always uses `raw_data`.
 *
 * @example
 * ```ts
 * import { tensorToProto, tensorFromProto } from "./tensor_proto.ts";
 * import { tensor } from "../tensor.ts";
 * const t = tensorFromProto(tensorToProto("w", tensor("float32", [2], new Float32Array([1, 2]))));
 * ```
 * @module
 */
import { type DType, DTYPE_BYTES, sizeOf, type Tensor, tensor } from "../tensor.ts";
import { DTYPE_OF_ONNX_CODE, ONNX_DTYPE_CODES } from "../dtypes.ts";
import { OnnxFormatError } from "./errors.ts";

/**
 * The splitgate dtype of an ONNX `DataType` code, or an error naming the code.
 *
 * @example
 * ```ts
 * import { dtypeFromCode } from "./tensor_proto.ts";
 * dtypeFromCode(1); // "float32"
 * ```
 */
export function dtypeFromCode(code: number, what = "tensor"): DType {
  const d = DTYPE_OF_ONNX_CODE.get(code);
  if (!d) {
    throw new OnnxFormatError(
      "UNSUPPORTED_DTYPE",
      `${what}: ONNX data type ${code} is not supported (supported: ${
        [...DTYPE_OF_ONNX_CODE.values()].join(", ")
      })`,
    );
  }
  return d;
}

/**
 * The ONNX `DataType` code of a splitgate dtype.
 *
 * @example
 * ```ts
 * import { codeFromDtype } from "./tensor_proto.ts";
 * codeFromDtype("int64"); // 7
 * ```
 */
export function codeFromDtype(dtype: DType): number {
  return ONNX_DTYPE_CODES[dtype];
}

/** A protobufjs plain object of `onnx.TensorProto`. */
export interface TensorProtoObject {
  name?: string;
  dims?: (number | { low: number; high: number })[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: (number | { low: number; high: number })[];
  double_data?: number[];
  uint64_data?: (number | { low: number; high: number })[];
  data_location?: number;
  external_data?: unknown[];
}

/**
 * Converts a protobuf int64 (a number, or a {low, high} pair) to a JS number, refusing
 * values beyond 2^53.
 */
export function int64ToNumber(v: number | { low: number; high: number } | bigint): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  const n = BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0));
  return Number(n);
}

/**
 * Decodes a `TensorProto` into a tensor.
 *
 * @example
 * ```ts
 * import { tensorFromProto } from "./tensor_proto.ts";
 * tensorFromProto({ dims: [1], data_type: 1, float_data: [3] });
 * ```
 */
export function tensorFromProto(p: TensorProtoObject): Tensor {
  const name = p.name ? `tensor ${JSON.stringify(p.name)}` : "tensor";
  if (p.data_location === 1 || (p.external_data && p.external_data.length > 0)) {
    throw new OnnxFormatError(
      "EXTERNAL_DATA",
      `${name}: stored as external data; save the model with weights embedded`,
    );
  }
  const dtype = dtypeFromCode(p.data_type ?? 0, name);
  const dims = (p.dims ?? []).map(int64ToNumber);
  const n = sizeOf(dims);
  // Check the stored size against the declared shape before allocating anything: a
  // corrupt file must not make us allocate what its dims claim.
  if (p.raw_data && p.raw_data.length > 0) {
    const bytesPer = DTYPE_BYTES[dtype];
    if (p.raw_data.length !== n * bytesPer) {
      throw new OnnxFormatError(
        "BAD_TENSOR",
        `${name}: raw_data has ${p.raw_data.length} bytes, shape [${dims}] of ${dtype} needs ${
          n * bytesPer
        }`,
      );
    }
    // Copy into an aligned buffer: raw_data is a view into the file at any offset.
    const t = tensor(dtype, dims);
    new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).set(p.raw_data);
    return t;
  }
  const src: ArrayLike<unknown> | undefined = dtype === "float32"
    ? p.float_data
    : dtype === "float64"
    ? p.double_data
    : dtype === "int64"
    ? p.int64_data
    : dtype === "uint32"
    ? p.uint64_data
    : p.int32_data;
  const len = src?.length ?? 0;
  if (len !== n) {
    throw new OnnxFormatError(
      "BAD_TENSOR",
      `${name}: has ${len} values, shape [${dims}] needs ${n}`,
    );
  }
  const t = tensor(dtype, dims);
  const out = t.data;
  for (let i = 0; i < n; i++) {
    const v = (src as ArrayLike<number | { low: number; high: number }>)[i];
    if (dtype === "int64") (out as BigInt64Array)[i] = BigInt(int64ToNumber(v));
    else (out as Float32Array)[i] = typeof v === "number" ? v : int64ToNumber(v);
  }
  return t;
}

/**
 * Encodes a tensor as a `TensorProto` plain object with `raw_data`.
 *
 * @example
 * ```ts
 * import { tensorToProto } from "./tensor_proto.ts";
 * import { tensor } from "../tensor.ts";
 * tensorToProto("bias", tensor("float32", [4]));
 * ```
 */
export function tensorToProto(name: string, t: Tensor): TensorProtoObject {
  const d = t.data;
  return {
    name,
    dims: [...t.dims],
    data_type: codeFromDtype(t.dtype),
    raw_data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  };
}
