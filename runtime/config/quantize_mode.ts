/**
 * Where an int8 cut is quantised (issue 20, "quantise in the graph"): the `quantize` field of
 * a clinic's or the server's `codec` config.
 *
 * - `"codec"` (default): the graphs stay float and the codec quantises and dequantises in
 *   JavaScript (`runtime/codec/quantize.ts`), as before issue 20.
 * - `"graph"`: the sender's graph ends in per-channel int8 quantisation and the receiver's
 *   starts with the inverse (`models/train/quantize_cut.ts`), so the JavaScript codec moves
 *   the int8 record's bytes and never converts floats. A side falls back to the codec by
 *   itself wherever the graph cannot stand in for it: a clinic whose defences (noise, NoPeek)
 *   change the activation after its graph, a server with label protection, a cut tensor that
 *   arrives as float32/float16 or with scales a graph would overflow on.
 *
 * Why "codec" is the default: on the 2-CPU x86 VM (shared, busy; 2026-12-06) the graph's
 * quantiser (ReduceMin, ReduceMax, the NaN guard's ReduceSum, QuantizeLinear) cost more than
 * the JavaScript quantiser it replaces for the 64×32×7×7 pneumonia_cnn cut: the wasm front's
 * forward took 20.1 ms against 17.9 ms float (median of 20) while the codec's int8
 * encode + decode took 1.1 ms; bench:channel charged the in-graph nodes 1.4–1.7 ms per step
 * against 0.54–0.56 ms per tensor for the JavaScript int8 codec; bench:split's end-to-end
 * rates did not tell the two apart beyond the machine's noise. Re-measure on the target
 * hardware (a GPU server especially) before switching.
 *
 * Both give the same wire bytes format (the int8 record), so each side chooses alone.
 * The field means nothing for `float32` and `float16`.
 *
 * @example
 * ```ts
 * import { quantizesInGraph } from "./quantize_mode.ts";
 * quantizesInGraph({ dtype: "int8", level: 0, quantize: "graph" }); // true
 * quantizesInGraph({ dtype: "int8", level: 0 }); // false: "codec" by default
 * quantizesInGraph({ dtype: "float32", level: 0 }); // false
 * ```
 * @module
 */

/**
 * Where int8 quantisation runs: in the segments' graphs, or in the JavaScript codec.
 *
 * @example
 * ```ts
 * import type { QuantizeMode } from "./quantize_mode.ts";
 * const m: QuantizeMode = "graph";
 * ```
 */
export type QuantizeMode = "graph" | "codec";

/** The modes a config may name. */
export const QUANTIZE_MODES: readonly QuantizeMode[] = ["graph", "codec"];

/** `codec.quantize` when absent (what measured faster, see the module comment). */
export const DEFAULT_QUANTIZE_MODE: QuantizeMode = "codec";

/**
 * Whether a codec config sends its cut tensors as int8 quantised inside the graphs.
 *
 * @example
 * ```ts
 * import { quantizesInGraph } from "./quantize_mode.ts";
 * quantizesInGraph({ dtype: "int8", level: 6, quantize: "graph" }); // true
 * ```
 */
export function quantizesInGraph(
  codec:
    | {
      dtype?: string;
      level?: number;
      quantize?: QuantizeMode;
      channelAxis?: number | null;
      topK?: number;
    }
    | undefined,
): boolean {
  // The graphs quantise dense, along axis 1: a codec set to another axis or to top-k keeps
  // its own quantiser.
  const axis = codec?.channelAxis === undefined ? 1 : codec.channelAxis;
  const dense = axis === 1 && codec?.topK === undefined;
  return codec?.dtype === "int8" && dense && (codec.quantize ?? DEFAULT_QUANTIZE_MODE) === "graph";
}
