/**
 * The clinic's front with its cut quantised in the graph (`codec.quantize`): a second runner over the
 * front's weights whose forward and inference graphs end in the cut's per-channel int8
 * quantisation and whose backward graph starts by dequantising the cut gradient
 * (`models/train/quantize_segments.ts`). The activation leaves as a view
 * (`runtime/codec/quantized_view.ts`) carrying its int8 record, which the pipe and the courier
 * pass on byte for byte; the server's int8 gradient comes back as a view whose codes go into
 * the backward graph. No float is converted in JavaScript on the way.
 *
 * Only used where nothing changes the activation between the graph and the wire: the raw side
 * keeps its float graphs when a defence (noise, NoPeek) is on. A gradient that is not an int8
 * view the graph reads exactly (a float32 server, scales that would overflow) goes through the
 * float backward graph, as before.
 *
 * @example
 * ```ts
 * import { Int8Front } from "./int8_front.ts";
 * // const int8 = await Int8Front.create(engine, segments, frontRunner, 0);
 * // const { activation, saved } = await int8.forward(inputs);
 * ```
 * @module
 */
import type { Tensor } from "../../../models/tensor.ts";
import type { CompiledSegment } from "../../../models/train/compile.ts";
import { quantizeCutTraffic } from "../../../models/train/quantize_segments.ts";
import type { Engine } from "../../engine/mod.ts";
import { Int8Cut } from "../../train/int8_cut.ts";
import { type BackwardResult, SegmentRunner } from "../../train/segment_runner.ts";
import { RawSideError } from "./error.ts";
import { checkTensor } from "./input_checks.ts";

/** The channel axis of the cut (NCHW channels; the codec's default `channelAxis`). */
const CUT_AXIS = 1;

/**
 * The quantised front beside the float one. Create with {@linkcode Int8Front.create}.
 *
 * @example
 * ```ts
 * import type { Int8Front } from "./int8_front.ts";
 * async function done(f: Int8Front) { await f.runner.release(); }
 * ```
 */
export class Int8Front {
  private constructor(
    readonly runner: SegmentRunner,
    readonly cut: Int8Cut,
    readonly float: SegmentRunner,
  ) {}

  /**
   * Quantises the cut between `segments[0]` and `segments[1]` in their graphs and binds the
   * front to `engine`, sharing `float`'s weights; `level` is the DEFLATE level of the
   * activation's record (the clinic codec's).
   *
   * @example
   * ```ts
   * import { Int8Front } from "./int8_front.ts";
   * // await Int8Front.create(engine, segments, frontRunner, 0);
   * ```
   */
  static async create(
    engine: Engine,
    segments: readonly CompiledSegment[],
    float: SegmentRunner,
    level: number,
  ): Promise<Int8Front> {
    const front = quantizeCutTraffic(segments.slice(0, 2), CUT_AXIS)[0];
    const runner = await SegmentRunner.create(engine, front, float);
    return new Int8Front(runner, new Int8Cut(segments[0].outputs[0].name, CUT_AXIS, level), float);
  }

  /**
   * Training forward: the activation as an int8 view, and what the backward needs.
   *
   * @throws {RawSideError} `BAD_TENSOR` when the activation is not finite (its scale is NaN)
   * @example
   * ```ts
   * import type { Int8Front } from "./int8_front.ts";
   * // const { activation, saved } = await int8.forward({ image });
   * ```
   */
  async forward(
    inputs: Record<string, Tensor>,
  ): Promise<{ activation: Tensor; saved: Record<string, Tensor> }> {
    const f = await this.runner.forward(inputs);
    return { activation: this.#view(f.outputs), saved: f.saved };
  }

  /**
   * Evaluation forward: the activation as an int8 view.
   *
   * @example
   * ```ts
   * import type { Int8Front } from "./int8_front.ts";
   * // const activation = await int8.infer({ image });
   * ```
   */
  async infer(inputs: Record<string, Tensor>): Promise<Tensor> {
    return this.#view(await this.runner.infer(inputs));
  }

  #view(out: Record<string, Tensor>): Tensor {
    try {
      return this.cut.view(out);
    } catch (e) {
      throw new RawSideError(
        "BAD_TENSOR",
        `the cut activation is not finite: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Backward with the cut gradient `cutGrad` (checked against `dims` first): through the
   * quantised graph when it is an int8 view that graph reads exactly, else through the float
   * one with its values.
   *
   * @throws {RawSideError} `BAD_TENSOR` for a gradient of the wrong shape or with non-finite values
   * @example
   * ```ts
   * import type { Int8Front } from "./int8_front.ts";
   * // const b = await int8.backward(entry.saved, cutGrad, entry.activation.dims);
   * ```
   */
  async backward(
    saved: Record<string, Tensor>,
    cutGrad: unknown,
    dims: readonly number[],
  ): Promise<BackwardResult> {
    const feeds = typeof cutGrad === "object" && cutGrad !== null
      ? this.cut.feeds(cutGrad as Tensor)
      : undefined;
    if (!feeds) {
      checkTensor(cutGrad, "cut gradient", dims);
      return await this.float.backward(saved, { [this.cut.name]: cutGrad });
    }
    // A view the graph reads exactly holds finite values (int8 codes, scales that cannot
    // overflow): only its shape is left to check, without dequantising it.
    const got = (cutGrad as Tensor).dims;
    if (got.length !== dims.length || got.some((d, i) => d !== dims[i])) {
      throw new RawSideError("BAD_TENSOR", `cut gradient has shape [${got}]; expected [${dims}]`);
    }
    return await this.runner.backward(saved, feeds);
  }
}
