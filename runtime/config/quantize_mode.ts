/**
 * Where an int8 cut is quantised ("quantise in the graph"): the `quantize` field of
 * a clinic's or the server's `codec` config.
 *
 * - `"codec"` (a clinic's default): the graphs stay float and the codec quantises and
 *   dequantises in JavaScript (`runtime/codec/quantize.ts`), as the codec always did.
 * - `"graph"` (the server's default): the sender's graph ends in per-channel int8 quantisation and the receiver's
 *   starts with the inverse (`models/train/quantize_cut.ts`), so the JavaScript codec moves
 *   the int8 record's bytes and never converts floats. A side falls back to the codec by
 *   itself wherever the graph cannot stand in for it: a clinic whose defences (noise, NoPeek, the hijack guard's decoys)
 *   change the activation after its graph, a server with label protection, a cut tensor that
 *   arrives as float32/float16 or with scales a graph would overflow on.
 *
 * Why the defaults differ by side (`deno task bench:int8-placement`, 64×32×7×7 pneumonia_cnn
 * cut, batch 64, medians of 60, on the 2-CPU x86 VM while it was shared and busy,
 * 2026-12-06): on the native server the quantised step took 0.00–0.15 ms more than the float
 * one while saving the codec's int8 decode and encode (0.8–2.4 ms); on the wasm clinic the
 * graph's quantiser and dequantiser (ReduceMin, ReduceMax, the NaN guard's ReduceSum,
 * QuantizeLinear; Cast, Sub, Mul) added −0.2 to +1.5 ms to the forward and +0.9 to +3.1 ms to
 * the backward against 0.9 ms of codec work saved. (The dequantiser has since become one
 * DequantizeLinear, and the quantiser lost a full-size Mul: bench:int8-nodes counts about 35 %
 * less kernel time on native; the clinic's default was not re-measured on wasm, whose timings
 * the shared machine drowned.) bench:split's end-to-end rates did not
 * tell the settings apart beyond the machine's noise. Re-measure on the target hardware (a
 * GPU server especially) before changing them.
 *
 * Both give the same wire bytes format (the int8 record), so each side chooses alone.
 * The field means nothing for `float32` and `float16`.
 *
 * @example
 * ```ts
 * import { quantizesInGraph } from "./quantize_mode.ts";
 * quantizesInGraph({ dtype: "int8", level: 0, quantize: "graph" }, "clinic"); // true
 * quantizesInGraph({ dtype: "int8", level: 0 }, "clinic"); // false: a clinic's default is "codec"
 * quantizesInGraph({ dtype: "int8", level: 0 }, "server"); // true: the server's is "graph"
 * quantizesInGraph({ dtype: "float32", level: 0 }, "server"); // false
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

/** Which side a codec config belongs to: the defaults differ (see the module comment). */
export type CodecSide = "server" | "clinic";

/** `codec.quantize` when absent, per side (what measured faster, see the module comment). */
export const DEFAULT_QUANTIZE_MODE: Readonly<Record<CodecSide, QuantizeMode>> = {
  server: "graph",
  clinic: "codec",
};

/**
 * Whether `side`'s codec config sends its cut tensors as int8 quantised inside the graphs.
 *
 * @example
 * ```ts
 * import { quantizesInGraph } from "./quantize_mode.ts";
 * quantizesInGraph({ dtype: "int8", level: 6, quantize: "graph" }, "clinic"); // true
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
  side: CodecSide,
): boolean {
  // The graphs quantise dense, along axis 1: a codec set to another axis or to top-k keeps
  // its own quantiser.
  const axis = codec?.channelAxis === undefined ? 1 : codec.channelAxis;
  const dense = axis === 1 && codec?.topK === undefined;
  return codec?.dtype === "int8" && dense &&
    (codec.quantize ?? DEFAULT_QUANTIZE_MODE[side]) === "graph";
}

/**
 * What a start-up line says of the cut's codec: where int8 is quantised on `side`, or nothing
 * for another dtype.
 *
 * @example
 * ```ts
 * import { describeInt8Placement } from "./quantize_mode.ts";
 * console.log(describeInt8Placement({ dtype: "int8" }, "server")); // "int8 cut quantised in the graphs"
 * console.log(describeInt8Placement({ dtype: "float32" }, "server")); // ""
 * ```
 */
export function describeInt8Placement(
  codec: Parameters<typeof quantizesInGraph>[0],
  side: CodecSide,
): string {
  if (codec?.dtype !== "int8") return "";
  return `int8 cut quantised ${quantizesInGraph(codec, side) ? "in the graphs" : "by the codec"}`;
}
