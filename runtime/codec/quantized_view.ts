/**
 * Float tensors that keep the int8 codes they stand for (`codec.quantize: "graph"`).
 *
 * A cut tensor quantised inside a graph (`models/train/quantize_cut.ts`) leaves it as codes,
 * scales and zero points; one that arrives as an int8 record can enter a graph the same way.
 * Between the two, the runtime hands tensors around as `Tensor`s (the raw side's API, the
 * protocol's messages). A *view* is such a `Tensor`: float32, with the dims of the float
 * tensor, whose `data` is the dequantisation of its codes — `(q − zeroPoint) · scale`, exactly
 * `dequantizeInt8` (quantize.ts) — computed on first read only. Code that knows about views
 * takes the codes ({@linkcode quantizedOf}) and feeds them to a graph, or writes their record
 * as bytes; code that does not reads `data` and sees the very floats the codec's int8 decoding
 * would have given it. So a view can go anywhere a decoded int8 tensor goes, unchanged in
 * meaning, and costs a float conversion only where one is still needed.
 *
 * The registry is a `WeakMap`, as for wire records (`wire_records.ts`): the codes live as long
 * as the tensor.
 *
 * @example
 * ```ts
 * import { quantizedOf, quantizedView } from "./quantized_view.ts";
 * const t = quantizedView({
 *   dims: [1, 2], q: new Int8Array([-128, 127]),
 *   params: { axis: 1, scales: new Float32Array([0.5, 2]), zeroPoints: new Int8Array([-128, 0]) },
 * });
 * console.log(quantizedOf(t)?.q); // Int8Array [-128, 127]
 * console.log(t.data); // Float32Array [0, 254]
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { ByteWriter } from "./byte_io.ts";
import { dequantizeInt8 } from "./quantize.ts";
import { type QuantizedTensor, writeQuantizedRecord } from "./tensor_record.ts";
import { rememberWireRecord } from "./wire_records.ts";

const VIEWS = new WeakMap<Tensor, QuantizedTensor>();

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * A float32 tensor standing for `qt`: its `data` is dequantised on first read. With `record`
 * (the tensor record of `qt`, as `tensor_record.ts` writes it), a bundle encoded with
 * `reuseRecords` writes those bytes as they are (`wire_records.ts`).
 *
 * @example
 * ```ts
 * import { quantizedView } from "./quantized_view.ts";
 * const t = quantizedView({
 *   dims: [2], q: new Int8Array([0, 1]),
 *   params: { axis: null, scales: new Float32Array([0.25]), zeroPoints: new Int8Array([0]) },
 * });
 * console.log(t.dtype, t.dims); // "float32" [2]
 * ```
 */
export function quantizedView(qt: QuantizedTensor, record?: Uint8Array): Tensor<"float32"> {
  let data: Float32Array | undefined;
  const t = { dtype: "float32", dims: [...qt.dims] } as { dtype: "float32"; dims: number[] };
  Object.defineProperty(t, "data", {
    enumerable: true,
    get(): Float32Array {
      if (!data) {
        data = new Float32Array(qt.q.length);
        dequantizeInt8(qt.q, qt.params, qt.dims, null, data);
      }
      return data;
    },
  });
  const view = t as unknown as Tensor<"float32">;
  VIEWS.set(view, qt);
  if (record) rememberWireRecord(view, record);
  return view;
}

/**
 * The codes `t` stands for when it is a view ({@linkcode quantizedView}), else undefined.
 *
 * @example
 * ```ts
 * import { quantizedOf } from "./quantized_view.ts";
 * import { tensor } from "../../models/tensor.ts";
 * quantizedOf(tensor("float32", [1])); // undefined
 * ```
 */
export function quantizedOf(t: Tensor): QuantizedTensor | undefined {
  return VIEWS.get(t);
}

/**
 * The tensor record of `qt` (DEFLATE `level` for its codes), for a view that is sent on.
 *
 * @throws {RangeError} when the codes or parameters do not fit its dims, or a scale is not
 *   positive and finite (`writeQuantizedRecord`)
 * @example
 * ```ts
 * import { quantizedRecord } from "./quantized_view.ts";
 * quantizedRecord({
 *   dims: [1], q: new Int8Array([3]),
 *   params: { axis: null, scales: new Float32Array([1]), zeroPoints: new Int8Array([0]) },
 * }, 0).length > 0; // true
 * ```
 */
export function quantizedRecord(qt: QuantizedTensor, level: number): Uint8Array {
  const w = new ByteWriter();
  writeQuantizedRecord(w, qt, level);
  return w.finish();
}

/**
 * Whether a graph that dequantises `qt` along `axis` as `(q − zeroPoint) · scale` in float32
 * (`prependInt8Dequantize`) computes exactly the floats of its view: the channel axis is
 * `axis`, and every scale is positive, finite and small enough (scale · 256 ≤ the largest
 * float32) that no product overflows — the one case where `dequantizeInt8` clamps and a
 * graph would give ±Infinity. A receiver feeds the codes to its graph only then, and the
 * view's floats to the float graph otherwise, so both paths compute the same numbers.
 *
 * @example
 * ```ts
 * import { graphExact } from "./quantized_view.ts";
 * graphExact({
 *   dims: [1, 2], q: new Int8Array(2),
 *   params: { axis: 1, scales: new Float32Array([1, 1]), zeroPoints: new Int8Array(2) },
 * }, 1); // true
 * ```
 */
export function graphExact(qt: QuantizedTensor, axis: number): boolean {
  if (qt.params.axis !== axis || qt.dims.length <= axis) return false;
  for (const s of qt.params.scales) {
    if (!(s > 0) || !(s * 256 <= FLOAT32_MAX)) return false;
  }
  return true;
}
