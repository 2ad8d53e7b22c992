/**
 * Runs the NoPeek model (`models/train/nopeek.ts`) on an engine: one session per shape,
 * loaded once, returning dCor(X, Z) of a batch and d dCor / dZ. The clinic adds α times
 * that gradient to the cut gradient the server returns before its own backward pass.
 *
 * @example
 * ```ts
 * import { NoPeekRunner } from "./nopeek_runner.ts";
 * // const np = new NoPeekRunner(engine, ["N", 1, 28, 28], ["N", 32, 7, 7]);
 * // const { dcor, grad } = await np.run(images, activation);
 * ```
 * @module
 */
import type { Dim } from "../../models/graph/ir.ts";
import type { Tensor } from "../../models/tensor.ts";
import { buildNoPeekModel, NOPEEK_NAMES } from "../../models/train/nopeek.ts";
import { writeModel } from "../../models/onnx/write_model.ts";
import type { Engine, Session } from "../engine/mod.ts";

/** The NoPeek model bound to an engine. */
export class NoPeekRunner {
  #session: Promise<Session> | undefined;

  /**
   * @param engine where the model runs
   * @param xShape shape of the raw batch (batch axis symbolic)
   * @param zShape shape of the cut activation
   * @param epsilon ε of √(d² + ε)
   * @param estimator the sample dCor: `"v"` (V-statistic) or `"u"` (bias-corrected)
   */
  constructor(
    readonly engine: Engine,
    readonly xShape: Dim[],
    readonly zShape: Dim[],
    readonly epsilon = 1e-6,
    readonly estimator: "v" | "u" = "v",
  ) {}

  /** The fewest rows a batch needs for this estimator (pairwise distances; U-centring needs 4). */
  get minRows(): number {
    return this.estimator === "u" ? 4 : 2;
  }

  /**
   * dCor of the batch and its gradient with respect to `z`.
   *
   * @example
   * ```ts
   * // const { dcor, grad } = await runner.run(x, z);
   * ```
   */
  async run(x: Tensor, z: Tensor): Promise<{ dcor: number; grad: Tensor }> {
    this.#session ??= this.engine.load(
      writeModel(buildNoPeekModel({ xShape: this.xShape, zShape: this.zShape, epsilon: this.epsilon, estimator: this.estimator })),
      { name: "nopeek" },
    );
    const out = await (await this.#session).run({ [NOPEEK_NAMES.x]: x, [NOPEEK_NAMES.z]: z });
    return { dcor: Number(out[NOPEEK_NAMES.dcor].data[0]), grad: out[NOPEEK_NAMES.grad] };
  }

  /** Releases the session. */
  async release(): Promise<void> {
    if (this.#session) await (await this.#session).release();
    this.#session = undefined;
  }
}
