/**
 * Where an int8 cut is quantised (issue 20, "quantise in the graph"): the `quantize` field of
 * a clinic's or the server's `codec` config.
 *
 * - `"graph"` (default): the sender's graph ends in per-channel int8 quantisation and the
 *   receiver's starts with the inverse (`models/train/quantize_cut.ts`), so the JavaScript
 *   codec moves the int8 record's bytes and never converts floats. A side falls back to the
 *   codec by itself wherever the graph cannot stand in for it: a clinic whose defences
 *   (noise, NoPeek) change the activation after its graph, a cut tensor that arrives as
 *   float32/float16 or with scales a graph would overflow on.
 * - `"codec"`: the graphs stay float and the codec quantises and dequantises in JavaScript
 *   (`runtime/codec/quantize.ts`), as before issue 20.
 *
 * Both give the same wire bytes format (the int8 record), so each side chooses alone.
 * The field means nothing for `float32` and `float16`.
 *
 * @example
 * ```ts
 * import { quantizesInGraph } from "./quantize_mode.ts";
 * quantizesInGraph({ dtype: "int8", level: 0 }); // true
 * quantizesInGraph({ dtype: "int8", level: 0, quantize: "codec" }); // false
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

/** `codec.quantize` when absent (bench:split and bench:channel, see the module comment). */
export const DEFAULT_QUANTIZE_MODE: QuantizeMode = "graph";

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
    | { dtype?: string; quantize?: QuantizeMode; channelAxis?: number | null; topK?: number }
    | undefined,
): boolean {
  // The graphs quantise dense, along axis 1: a codec set to another axis or to top-k keeps
  // its own quantiser.
  const axis = codec?.channelAxis === undefined ? 1 : codec.channelAxis;
  const dense = axis === 1 && codec?.topK === undefined;
  return codec?.dtype === "int8" && dense && (codec.quantize ?? DEFAULT_QUANTIZE_MODE) === "graph";
}
