/**
 * Conversion between splitgate's {@linkcode Tensor} and ONNX Runtime's `Tensor`, sharing the
 * typed array wherever the two layouts agree (all dtypes do), so that no element is copied on
 * the JavaScript side.
 *
 * onnxruntime-web and onnxruntime-node each bring their own `Tensor` class (from their own copy
 * of onnxruntime-common), so the conversion takes the class of the engine in use.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web";
 * import { fromOrtTensor, toOrtTensor } from "./ort_tensor.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const t = tensor("float32", [2], new Float32Array([1, 2]));
 * const o = toOrtTensor(ort.Tensor, t);
 * console.log(fromOrtTensor(o, "x").data === t.data); // true: same array
 * ```
 * @module
 */

import type { Tensor as OrtTensor } from "onnxruntime-common";
import { type DType, DTYPE_ARRAYS, type Tensor, type TensorData } from "../../models/tensor.ts";
import { EngineError } from "./engine_error.ts";

/** The `Tensor` constructor of one ONNX Runtime package. */
export type OrtTensorConstructor = typeof import("onnxruntime-common").Tensor;

const DTYPES: ReadonlySet<string> = new Set(Object.keys(DTYPE_ARRAYS));

/**
 * Whether an ONNX Runtime element type name is one that {@linkcode Tensor} can hold.
 *
 * @example
 * ```ts
 * import { isDType } from "./ort_tensor.ts";
 * isDType("int64"); // true
 * isDType("string"); // false
 * ```
 */
export function isDType(type: string): type is DType {
  return DTYPES.has(type);
}

/**
 * Wraps a splitgate tensor as an ORT tensor of class `Ctor`, sharing its typed array.
 *
 * `bool` goes as the `Uint8Array` ORT expects for it; `float16` goes as its `Uint16Array`
 * of IEEE 754 binary16 bits, which onnxruntime-common 1.30 re-views as a `Float16Array`
 * (same buffer) where the runtime has one. With `float16Bits` (onnxruntime-node) the tensor
 * keeps the `Uint16Array` itself.
 *
 * @param Ctor the `Tensor` class of the engine's package
 * @param t the tensor to wrap
 * @param float16Bits keep float16 data as `Uint16Array` (needed by onnxruntime-node)
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web";
 * import { toOrtTensor } from "./ort_tensor.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const o = toOrtTensor(ort.Tensor, tensor("int64", [1], new BigInt64Array([7n])));
 * console.log(o.type); // "int64"
 * ```
 */
export function toOrtTensor(Ctor: OrtTensorConstructor, t: Tensor, float16Bits = false): OrtTensor {
  // The overloads of the ORT constructor are typed per dtype; the pairing of dtype and
  // array is already guaranteed by `Tensor`, so a single loosely typed call is exact here.
  const C = Ctor as unknown as new (
    type: string,
    data: TensorData,
    dims: readonly number[],
  ) => OrtTensor;
  const o = new C(t.dtype, t.data, t.dims);
  if (float16Bits && t.dtype === "float16" && !(o.data instanceof Uint16Array)) {
    // onnxruntime-node 1.30's addon accepts float16 only as a Uint16Array (Node-API has no
    // Float16Array type), but onnxruntime-common re-views it as a Float16Array. Put the
    // original bits back into the tensor's (TypeScript-private) `cpuData` field, which its
    // `data` getter returns. Pinned to onnxruntime-common 1.30; the engine tests cover it.
    (o as unknown as { cpuData: Uint16Array }).cpuData = t.data as Uint16Array;
  }
  return o;
}

/**
 * Reads an ORT tensor (on the CPU) back as a splitgate tensor, sharing its typed array.
 * `float16` data held as a `Float16Array` is re-viewed as the raw `Uint16Array` bits.
 *
 * @param o the ORT tensor; its data must be on the CPU (`location === "cpu"`)
 * @param name the output's name, for error messages
 * @throws {EngineError} `OUTPUT_DTYPE` if the element type has no splitgate dtype
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web";
 * import { fromOrtTensor } from "./ort_tensor.ts";
 * const t = fromOrtTensor(new ort.Tensor("bool", new Uint8Array([1, 0]), [2]), "mask");
 * console.log(t.dtype, t.dims); // "bool" [2]
 * ```
 */
export function fromOrtTensor(o: OrtTensor, name: string): Tensor {
  const type = o.type;
  if (!isDType(type)) {
    throw new EngineError(
      "OUTPUT_DTYPE",
      `output '${name}' has element type ${type}, which splitgate tensors cannot hold ` +
        `(expected one of ${[...DTYPES].join(", ")})`,
    );
  }
  if (o.location !== "cpu") {
    throw new EngineError(
      "OUTPUT_DTYPE",
      `output '${name}' lies in ${o.location}, expected it on the cpu`,
    );
  }
  let data = o.data as unknown as ArrayBufferView & { length: number };
  if (type === "float16" && !(data instanceof Uint16Array)) {
    // Float16Array (ES2025) → the raw binary16 bits, same memory.
    data = new Uint16Array(data.buffer, data.byteOffset, data.length);
  } else if (type === "bool" && !(data instanceof Uint8Array)) {
    data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return { dtype: type, dims: [...o.dims], data: data as TensorData };
}
