/**
 * The runtime's end of a cut quantised inside the graphs (`codec.quantize`; the graphs:
 * `models/train/quantize_segments.ts`): turning the three carriers a graph emits (`cut.q`,
 * `cut.scale`, `cut.zero_point`) into one view tensor that the codec sends as its int8
 * record byte for byte, and a received view back into the carriers a graph takes.
 *
 * A view (`runtime/codec/quantized_view.ts`) is a float32 `Tensor` whose values are its
 * dequantised codes, so a side whose graphs are not quantised, or a check that reads values,
 * sees exactly what the codec's int8 decoding gives. The carriers are fed only when the
 * graph's dequantisation computes those same floats ({@linkcode graphExact}); otherwise the
 * caller runs its float graph on the view's values.
 *
 * @example
 * ```ts
 * import { Int8Cut } from "./int8_cut.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const cut = new Int8Cut("act", 1, 0);
 * const view = cut.view({
 *   "act.q": tensor("int8", [1, 2], new Int8Array([-128, 127])),
 *   "act.scale": tensor("float32", [2], new Float32Array([1, 1])),
 *   "act.zero_point": tensor("int8", [2], new Int8Array([-128, -128])),
 * });
 * console.log(view.data, Object.keys(cut.feeds(view)!)); // Float32Array [0, 255] [ "act.q", "act.scale", "act.zero_point" ]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import { quantizedNames } from "../../models/train/quantize_cut.ts";
import {
  graphExact,
  quantizedOf,
  quantizedRecord,
  quantizedView,
} from "../codec/quantized_view.ts";

/**
 * One cut tensor `name` that crosses as per-channel int8 along `axis`; `level` is the DEFLATE
 * level its record is written with (the codec's `level`).
 *
 * @example
 * ```ts
 * import { Int8Cut } from "./int8_cut.ts";
 * const cut = new Int8Cut("/features/MaxPool_output_0", 1, 0);
 * console.log(cut.names.q); // "/features/MaxPool_output_0.q"
 * ```
 */
export class Int8Cut {
  /** The carrier names of the cut (and, by `gradName`, of its gradient). */
  readonly names: ReturnType<typeof quantizedNames>;

  constructor(readonly name: string, readonly axis: number, readonly level: number) {
    this.names = quantizedNames(name);
  }

  /**
   * The carriers of `t` keyed by carrier name, when `t` is a view a quantised graph reads as
   * exactly its values; undefined otherwise (a plain float tensor, another axis, or scales
   * so large that `dequantizeInt8` clamps).
   *
   * @example
   * ```ts
   * import { Int8Cut } from "./int8_cut.ts";
   * import { tensor } from "../../models/tensor.ts";
   * new Int8Cut("act", 1, 0).feeds(tensor("float32", [1, 2])); // undefined
   * ```
   */
  feeds(t: Tensor): Record<string, Tensor> | undefined {
    const qt = quantizedOf(t);
    if (!qt || !graphExact(qt, this.axis)) return undefined;
    const c = qt.params.scales.length;
    return {
      [this.names.q]: tensor("int8", qt.dims, qt.q),
      [this.names.scale]: tensor("float32", [c], qt.params.scales),
      [this.names.zeroPoint]: tensor("int8", [c], qt.params.zeroPoints),
    };
  }

  /**
   * The view of the carriers in `out` (a graph's outputs or input gradients, keyed by carrier
   * name), with its int8 record ready for the codec's `reuseRecords`.
   *
   * @throws {RangeError} when a carrier is missing or a scale is not positive and finite
   *   (a graph quantised a non-finite tensor): the caller refuses it before it is sent
   * @example
   * ```ts
   * import { Int8Cut } from "./int8_cut.ts";
   * import { tensor } from "../../models/tensor.ts";
   * const v = new Int8Cut("g", 1, 0).view({
   *   "g.q": tensor("int8", [1, 1], new Int8Array([0])),
   *   "g.scale": tensor("float32", [1], new Float32Array([0.5])),
   *   "g.zero_point": tensor("int8", [1], new Int8Array([-2])),
   * });
   * console.log(v.data[0]); // 1
   * ```
   */
  view(out: Readonly<Record<string, Tensor>>): Tensor<"float32"> {
    const q = out[this.names.q], s = out[this.names.scale], z = out[this.names.zeroPoint];
    if (!q || !s || !z) {
      throw new RangeError(
        `the graph gave no carriers ${JSON.stringify(this.names)} of ${JSON.stringify(this.name)}`,
      );
    }
    const qt = {
      dims: [...q.dims],
      q: q.data as Int8Array,
      params: { axis: this.axis, scales: s.data as Float32Array, zeroPoints: z.data as Int8Array },
    };
    return quantizedView(qt, quantizedRecord(qt, this.level));
  }
}
