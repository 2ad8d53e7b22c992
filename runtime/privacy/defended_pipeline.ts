/**
 * Split training with the privacy defences applied where each party computes: the
 * in-process reference of a defended split run (the same graphs as `Pipeline`, with the
 * clinic's and the server's defence hooks between the segments).
 *
 * One step, vanilla (`cuts = [c]`), segments front | server:
 *
 * ```
 * clinic:  z = front.forward(x)
 *          [nopeek]  (dCor, dZ) = NoPeek model(x, z)            (engine-built gradient)
 *          [noise]   z' = clip(z) + N(0, σ²C²)                    (what is sent)
 * server:  g = step(z', y) → gradient at the cut
 *          [labelProtection] g' = equalise(g)                    (what is returned)
 * clinic:  front.backward(g' + α·dZ)                             (straight-through noise)
 * ```
 *
 * U-shaped (`cuts = [c, h]`), segments front | server middle | clinic head: the head's step
 * yields the gradient at h, which the clinic sends (after `labelProtection` and the
 * `labelDefence` noise, since the clinic holds the labels here); the server's backward gives
 * the gradient at c.
 *
 * Hijacking detection (vanilla, with a {@linkcode SplitGuard}): on a fake step the clinic also
 * sends the same activation with every label flipped; the server answers it like any batch
 * (an honest in-process server applies its gradient too: `fakeServerGrads`), the clinic
 * discards it and scores the two returned gradients. `server` replaces the in-process honest
 * server segment (the test harness's malicious server).
 *
 * X for NoPeek is the segment's first float input (the image), flattened per sample; Z is the
 * clean activation (before the noise defence), since that is what the clinic's weights
 * shape — the noise on top is independent of X anyway.
 *
 * @example
 * ```ts
 * import { DefendedPipeline } from "./defended_pipeline.ts";
 * // const p = await DefendedPipeline.create(engine, compileModel(model, { loss: "bce", cuts }), { noise: { clip: 8, sigma: 0.05 } }, 1);
 * // const { loss } = await p.trainStep(batch.inputs, batch.target, optimizers);
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { CompiledSegment } from "../../models/train/compile.ts";
import type { Optimizer } from "../../models/train/optimizer.ts";
import type { Engine } from "../engine/mod.ts";
import { Rng } from "../data/rng.ts";
import { SegmentRunner } from "../train/segment_runner.ts";
import { loadRunnerWeights, runnerWeights } from "../train/pipeline.ts";
import type { DefenceConfig } from "./defence_config.ts";
import { clipAndNoise } from "./noise_defence.ts";
import { protectCutGradient } from "./label_protection.ts";
import { NoPeekRunner } from "./nopeek_runner.ts";
import { perturbLabelGradient } from "./label_defence.ts";
import type { SplitGuard } from "./split_guard.ts";

/**
 * The server side of a vanilla step as the clinic sees it: the gradient returned for the sent
 * activation and labels, and (in-process, honest) the server's parameter gradients.
 */
export interface CutServer {
  step(sent: Tensor, target: Tensor): Promise<{ loss: number; cutGrad: Tensor; paramGrads: Map<string, Tensor> }>;
}

/** Options of {@linkcode DefendedPipeline.create}. */
export interface PipelineOptions {
  /** Fake-batch hijacking detection (vanilla only). */
  guard?: SplitGuard;
  /** Replaces the honest server segment (vanilla only; the test harness's malicious server). */
  server?: CutServer;
}

/** What one defended forward/backward produced, seen from each side. */
export interface DefendedStep {
  loss: number;
  /** dCor of the batch when NoPeek is on. */
  dcor?: number;
  paramGrads: Map<string, Tensor>;
  /** The activation the clinic sent over the first cut (after the noise defence). */
  sent: Tensor;
  /** The gradient the server returned at the first cut (after label protection in vanilla mode). */
  returned: Tensor;
  /** U-shaped: the gradient at the head's input the clinic sent to the server. */
  headGrad?: Tensor;
  /** The server's parameter gradients for a fake (flipped-label) batch sent this step. */
  fakeServerGrads?: Map<string, Tensor>;
}

function addScaled(a: Tensor, b: Tensor, alpha: number): Tensor {
  const x = a.data as Float32Array, y = b.data as Float32Array;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + alpha * y[i];
  return { dtype: "float32", dims: [...a.dims], data: out };
}

/** The segments of a cut model with the defences of one clinic. */
export class DefendedPipeline {
  #noiseRng: Rng;
  #labelRng: Rng;
  #nopeek?: NoPeekRunner;
  #steps = 0;

  private constructor(
    readonly segments: readonly CompiledSegment[],
    readonly runners: SegmentRunner[],
    readonly defence: DefenceConfig,
    readonly seed: number,
    readonly options: PipelineOptions = {},
  ) {
    // A stream of its own, so that the noise does not shift the batch order.
    this.#noiseRng = new Rng(seed + 0x6e6f);
    this.#labelRng = new Rng(seed + 0x6c61);
    if ((options.guard || options.server) && segments.length !== 2) {
      throw new TypeError("hijack guard and replaced server need vanilla mode (one cut): in U-shaped mode the server holds no labels");
    }
    const x = segments[0].inputs.find((v) => v.dtype === "float32");
    if (defence.nopeek && defence.nopeek.weight > 0) {
      if (!x) throw new TypeError("nopeek: the first segment has no float input to correlate with");
      this.#nopeek = new NoPeekRunner(
        runners[0].engine,
        x.shape ?? ["N"],
        segments[0].outputs[0].shape ?? ["N"],
        undefined,
        defence.nopeek.estimator,
      );
    }
  }

  /**
   * Binds the segments (2 = vanilla, 3 = U-shaped) to `engine`.
   *
   * @throws {RangeError} for a model with no cut or more than two
   * @example
   * ```ts
   * import { DefendedPipeline } from "./defended_pipeline.ts";
   * // await DefendedPipeline.create(engine, segments, {}, 0)
   * ```
   */
  static async create(
    engine: Engine,
    segments: readonly CompiledSegment[],
    defence: DefenceConfig,
    seed: number,
    options: PipelineOptions = {},
  ): Promise<DefendedPipeline> {
    if (segments.length < 2 || segments.length > 3) {
      throw new RangeError(`defended training needs 1 cut (vanilla) or 2 (U-shaped), got ${segments.length - 1}`);
    }
    const runners = await Promise.all(segments.map((s) => SegmentRunner.create(engine, s)));
    // One at a time: the WebGPU provider refuses to create two sessions at once.
    for (const r of runners) await r.warm();
    return new DefendedPipeline(segments, runners, defence, seed, options);
  }

  /** `"vanilla"` (front | server) or `"ushaped"` (front | server | head). */
  get mode(): "vanilla" | "ushaped" {
    return this.segments.length === 3 ? "ushaped" : "vanilla";
  }

  /** Name of the first cut tensor. */
  get cutName(): string {
    return this.segments[0].outputs[0].name;
  }

  #rawInput(inputs: Record<string, Tensor>): Tensor | undefined {
    const v = this.segments[0].inputs.find((i) => i.dtype === "float32");
    return v && inputs[v.name];
  }

  /** What the clinic sends for activation `z`: `z` itself, or clipped and noised. */
  #send(z: Tensor, rng: Rng): Tensor {
    return this.defence.noise ? clipAndNoise(z, this.defence.noise, rng) : z;
  }

  /**
   * Forward and backward of one batch with every defence, without updating parameters
   * (BatchNorm running statistics do move, as in any training forward pass).
   */
  async forwardBackward(inputs: Record<string, Tensor>, target: Tensor): Promise<DefendedStep> {
    const [front, ...rest] = this.runners;
    const feeds: Record<string, Tensor> = {};
    for (const v of this.segments[0].inputs) feeds[v.name] = inputs[v.name];
    const f = await front.forward(feeds);
    const z = f.outputs[this.cutName];
    const np = this.#nopeek ? await this.#nopeek.run(this.#rawInput(inputs)!, z) : undefined;
    const sent = this.#send(z, this.#noiseRng);
    let paramGrads: Map<string, Tensor>;
    let returned: Tensor, headGrad: Tensor | undefined, loss: number;
    let fakeServerGrads: Map<string, Tensor> | undefined;
    if (rest.length === 1) {
      const server = this.#server();
      const guard = this.options.guard;
      const fake = guard?.fakeThisStep() ? await server.step(sent, guard.fakeLabels(target)) : undefined;
      const s = await server.step(sent, target);
      loss = s.loss;
      paramGrads = new Map(s.paramGrads);
      returned = s.cutGrad;
      this.#steps++;
      if (fake) {
        fakeServerGrads = fake.paramGrads;
        guard!.observe(this.#steps, returned, fake.cutGrad); // throws HijackAlarm
      }
    } else {
      const [mid, head] = rest;
      const m = await mid.forward({ [this.cutName]: sent });
      const h = this.segments[1].outputs[0].name;
      const s = await head.step(m.outputs, target);
      loss = s.loss;
      headGrad = perturbLabelGradient(
        protectCutGradient(s.inputGrads[h], this.defence.labelProtection),
        target.data as Float32Array,
        this.defence.labelDefence,
        this.#labelRng,
      );
      const b = await mid.backward(m.saved, { [h]: headGrad });
      paramGrads = new Map([...s.paramGrads, ...b.paramGrads]);
      returned = b.inputGrads[this.cutName];
    }
    const g = np ? addScaled(returned, np.grad, this.defence.nopeek!.weight) : returned;
    const fb = await front.backward(f.saved, { [this.cutName]: g });
    for (const [k, v] of fb.paramGrads) paramGrads.set(k, v);
    return { loss, dcor: np?.dcor, paramGrads, sent, returned, headGrad, fakeServerGrads };
  }

  /** The honest in-process server segment, or the replacement of {@linkcode PipelineOptions}. */
  #server(): CutServer {
    if (this.options.server) return this.options.server;
    const runner = this.runners[1], cut = this.cutName, protection = this.defence.labelProtection;
    return {
      async step(sent, target) {
        const s = await runner.step({ [cut]: sent }, target);
        return { loss: s.loss, cutGrad: protectCutGradient(s.inputGrads[cut], protection), paramGrads: s.paramGrads };
      },
    };
  }

  /**
   * One training step: {@linkcode forwardBackward}, then each segment's optimizer.
   *
   * @example
   * ```ts
   * // const { loss, dcor } = await pipe.trainStep(b.inputs, b.target, optimizers);
   * ```
   */
  async trainStep(inputs: Record<string, Tensor>, target: Tensor, optimizers: Optimizer[]): Promise<{ loss: number; dcor?: number }> {
    const r = await this.forwardBackward(inputs, target);
    // An honest server trains on the fake batch too (it cannot tell it from a real one).
    if (r.fakeServerGrads?.size) optimizers[1].step(this.runners[1].params, r.fakeServerGrads);
    this.runners.forEach((runner, i) => optimizers[i].step(runner.params, r.paramGrads));
    return { loss: r.loss, dcor: r.dcor };
  }

  /**
   * The activation the server would receive for `inputs` at inference (inference graph,
   * then the noise defence drawn from `rng`).
   */
  async sentActivation(inputs: Record<string, Tensor>, rng: Rng): Promise<Tensor> {
    const out = await this.runners[0].infer(inputs);
    return this.#send(out[this.cutName], rng);
  }

  /**
   * Inference as deployed: the clinic's front, the defence on what it sends (noise drawn
   * from `rng`), then the remaining segments. Returns the logits.
   */
  async infer(inputs: Record<string, Tensor>, rng: Rng): Promise<Tensor> {
    let x: Record<string, Tensor> = { [this.cutName]: await this.sentActivation(inputs, rng) };
    for (const r of this.runners.slice(1)) x = await r.infer(x);
    return x[this.segments[this.segments.length - 1].outputs[0].name];
  }

  /** Parameters and buffers of every segment (live references). */
  weights(): Map<string, Tensor> {
    return runnerWeights(this.runners);
  }

  /** Copies `weights` into the segments' parameters and buffers. */
  load(weights: ReadonlyMap<string, Tensor>): void {
    loadRunnerWeights(this.runners, weights);
  }

  /** Releases every session. */
  async release(): Promise<void> {
    for (const r of this.runners) await r.release();
    await this.#nopeek?.release();
  }
}
