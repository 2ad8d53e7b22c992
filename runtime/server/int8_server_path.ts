/**
 * The server segment with its cut quantised in the graph (`codec.quantize`): a second runner over the
 * same weights whose graphs start by dequantising the cut (`cut.q`, `cut.scale`,
 * `cut.zero_point`) and end by quantising the cut gradient
 * (`models/train/quantize_segments.ts`), so that an int8 activation goes from the wire into
 * the graph as its codes and the gradient leaves as its int8 record, with no float
 * conversion in JavaScript.
 *
 * {@linkcode Int8ServerPath.route} picks, per request, the runner that gives the same numbers
 * as the float path: the quantised one for an activation decoded as an int8 view that its
 * graph dequantises exactly (`Int8Cut.feeds`), the float one for anything else (a clinic
 * sending float32 or float16, or scales the graph would overflow on). Only the gradient's
 * rounding differs (the graph's QuantizeLinear in place of the codec's quantizer, same
 * formula, error within scale/2 per channel either way).
 *
 * The checks keep their meaning: the activation's range and finiteness are checked from its
 * codes and scales when the message is decoded (`runtime/protocol/tensor_spec.ts`), and a cut
 * gradient with a NaN or infinite value leaves the graph with a NaN scale
 * (`quantize_cut.ts`), refused here as `NON_FINITE` as the float gradient is.
 *
 * @example
 * ```ts
 * import { Int8ServerPath } from "./int8_server_path.ts";
 * // const int8 = await Int8ServerPath.create(engine, segments, floatRunner, 0);
 * // const route = int8.route(activation, floatRunner, "cut");
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { CompiledSegment } from "../../models/train/compile.ts";
import { quantizeCutTraffic } from "../../models/train/quantize_segments.ts";
import type { Engine } from "../engine/mod.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { Int8Cut } from "../train/int8_cut.ts";
import { SegmentRunner } from "../train/segment_runner.ts";

/** The channel axis of a cut tensor (NCHW channels; the codec's default `channelAxis`). */
export const CUT_AXIS = 1;

/**
 * The runner a request goes to, its feeds for the cut, and how to take the cut gradient out
 * of its input gradients.
 *
 * @example
 * ```ts
 * import type { CutRoute } from "./int8_server_path.ts";
 * function first(r: CutRoute) { return Object.keys(r.feeds); }
 * ```
 */
export interface CutRoute {
  readonly runner: SegmentRunner;
  readonly feeds: Record<string, Tensor>;
  /** The cut gradient (a view for the quantised runner); `what` names the request refused. */
  cutGrad(inputGrads: Record<string, Tensor>, what: string): Tensor | undefined;
}

/**
 * The float route: the cut fed as it is, its gradient taken by name.
 *
 * @example
 * ```ts
 * import { floatRoute } from "./int8_server_path.ts";
 * // floatRoute(runner, "cut", activation).feeds; // { cut: activation }
 * ```
 */
export function floatRoute(runner: SegmentRunner, cut: string, activation: Tensor): CutRoute {
  return { runner, feeds: { [cut]: activation }, cutGrad: (g) => g[cut] };
}

/**
 * The quantised server segment beside the float one. Create with
 * {@linkcode Int8ServerPath.create}.
 *
 * @example
 * ```ts
 * import type { Int8ServerPath } from "./int8_server_path.ts";
 * async function done(p: Int8ServerPath) { await p.runner.release(); }
 * ```
 */
export class Int8ServerPath {
  private constructor(readonly runner: SegmentRunner, readonly cut: Int8Cut) {}

  /**
   * Quantises the cut between `segments[0]` and `segments[1]` in their graphs and binds the
   * server's side (`segments[1]`) to `engine`, sharing `float`'s weights. `level` is the
   * DEFLATE level of the gradient's record (the server codec's).
   *
   * @example
   * ```ts
   * import { Int8ServerPath } from "./int8_server_path.ts";
   * // await Int8ServerPath.create(engine, segments, runner, 0);
   * ```
   */
  static async create(
    engine: Engine,
    segments: readonly CompiledSegment[],
    float: SegmentRunner,
    level: number,
  ): Promise<Int8ServerPath> {
    const cut = segments[0].outputs[0].name;
    const quantised = quantizeCutTraffic(segments.slice(0, 2), CUT_AXIS)[1];
    const runner = await SegmentRunner.create(engine, quantised, float);
    return new Int8ServerPath(runner, new Int8Cut(cut, CUT_AXIS, level));
  }

  /**
   * The route of `activation`: the quantised runner when it is an int8 view its graph reads
   * exactly, else the float route.
   *
   * @example
   * ```ts
   * import type { Int8ServerPath } from "./int8_server_path.ts";
   * // int8.route(activation, floatRunner).runner === int8.runner when activation is an int8 view
   * ```
   */
  route(activation: Tensor, float: SegmentRunner): CutRoute {
    const feeds = this.cut.feeds(activation);
    if (!feeds) return floatRoute(float, this.cut.name, activation);
    return { runner: this.runner, feeds, cutGrad: (g, what) => this.#gradient(g, what) };
  }

  #gradient(inputGrads: Record<string, Tensor>, what: string): Tensor | undefined {
    const scale = inputGrads[this.cut.names.scale];
    if (!scale) return undefined;
    const s = scale.data as Float32Array;
    const c = s.findIndex((v) => !(v > 0 && v < Infinity));
    if (c >= 0) {
      throw new ProtocolError(
        "NON_FINITE",
        `${what} refused: it would make cutGrad non-finite (channel ${c} of the gradient quantised ` +
          `in the graph has scale ${s[c]}); the server keeps its previous state`,
      );
    }
    return this.cut.view(inputGrads);
  }
}
