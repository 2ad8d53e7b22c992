/**
 * A feature-space hijacking attacker (FSHA; Pasquini, Ateniese & Bernaschi, "Unleashing the
 * Tiger: Inference Attacks on Split Learning", CCS 2021) for the audit's toolbox: a malicious
 * vanilla-mode server that ignores the task and the labels and returns, as the "cut gradient",
 * the gradient that pulls the clinic's features toward a feature space of its own choosing,
 * where it can invert them.
 *
 * FSHA (§3.2) has the server train a pilot encoder f̃ and its inverse on public data, and a
 * discriminator D that tells the clinic's features f(x) from the pilot's f̃(x̃); the clinic is
 * sent ∂/∂f(x) of the adversarial loss −log D(f(x)), so that gradient descent on its weights
 * makes f(x) indistinguishable from f̃-features. This implementation keeps that loop with
 * smaller parts, in TypeScript: the pilot f̃(x̃) = ReLU(P·x̃) is a fixed random projection of the
 * server's auxiliary images (invertible on its support; the paper trains f̃ with its decoder),
 * and D is logistic regression on the flattened cut, one SGD step per batch (the paper uses a
 * deep discriminator with a gradient penalty). Its defining property for a detector is the
 * paper's: the returned gradient does not depend on the labels the clinic sent.
 *
 * Test and audit use only: nothing in the production server imports it.
 *
 * @example
 * ```ts
 * import { FshaAttacker } from "./fsha_attacker.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const aux = tensor("float32", [4, 1, 2, 2], new Float32Array(16).fill(0.5));
 * const fsha = new FshaAttacker(aux, { seed: 1 });
 * // const { cutGrad } = await fsha.step(sent, labels); // its pilot takes the width of `sent`
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import { Rng } from "../data/rng.ts";
import type { CutServer } from "./defended_pipeline.ts";

/** Options of {@linkcode FshaAttacker}. */
export interface FshaOptions {
  seed: number;
  /** Discriminator learning rate (default 0.05). */
  lr?: number;
  /** Factor on the returned gradient (default 1: the gradient of the batch-mean loss). */
  gain?: number;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** The malicious server of the module notes. */
export class FshaAttacker implements CutServer {
  /** Pilot features of the auxiliary images, [M, d] (built at the first step, d = the cut's width). */
  #pilot = new Float32Array(0);
  #w = new Float64Array(0);
  #b = 0;
  width = 0;
  readonly #aux: Tensor;
  readonly #rng: Rng;
  readonly #lr: number;
  readonly #gain: number;
  /** Discriminator accuracy on the last batch (0.5: the clinic's features pass for the pilot's). */
  lastAccuracy = NaN;

  /** @param aux the server's auxiliary images [M, ...] */
  constructor(aux: Tensor, o: FshaOptions) {
    this.#rng = new Rng(o.seed);
    this.#lr = o.lr ?? 0.05;
    this.#gain = o.gain ?? 1;
    this.#aux = aux;
  }

  get #m(): number {
    return this.#aux.dims[0];
  }

  #buildPilot(width: number): void {
    const aux = this.#aux;
    this.width = width;
    const m = aux.dims[0], x = aux.data as Float32Array, px = x.length / m;
    // Random projection with variance 2/px per entry (He scaling), then ReLU.
    const p = Float32Array.from({ length: width * px }, () => this.#rng.normal() * Math.sqrt(2 / px));
    this.#pilot = new Float32Array(m * width);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < width; j++) {
        let s = 0;
        for (let k = 0; k < px; k++) s += p[j * px + k] * x[i * px + k];
        this.#pilot[i * width + j] = Math.max(0, s);
      }
    }
    this.#w = new Float64Array(width);
  }

  #logit(row: ArrayLike<number>, at: number): number {
    let s = this.#b;
    for (let k = 0; k < this.width; k++) s += this.#w[k] * row[at + k];
    return s;
  }

  /** One discriminator step on a pilot batch (label 1) and the clinic's batch (label 0). */
  #trainDiscriminator(z: Float32Array, n: number): void {
    const d = this.width, gw = new Float64Array(d);
    let gb = 0, correct = 0;
    const add = (row: ArrayLike<number>, at: number, y: number) => {
      const p = sigmoid(this.#logit(row, at));
      if ((p >= 0.5 ? 1 : 0) === y) correct++;
      const e = (p - y) / (2 * n);
      for (let k = 0; k < d; k++) gw[k] += e * row[at + k];
      gb += e;
    };
    for (let i = 0; i < n; i++) add(this.#pilot, this.#rng.int(this.#m) * d, 1);
    for (let i = 0; i < n; i++) add(z, i * d, 0);
    for (let k = 0; k < d; k++) this.#w[k] -= this.#lr * gw[k];
    this.#b -= this.#lr * gb;
    this.lastAccuracy = correct / (2 * n);
  }

  /**
   * Answers a training step: trains the discriminator, returns ∂/∂z of the batch mean of
   * −log D(z) — whatever `target` says.
   *
   * @throws {RangeError} for an activation whose width is not that of the first step
   */
  step(sent: Tensor, _target: Tensor): Promise<{ loss: number; cutGrad: Tensor; paramGrads: Map<string, Tensor> }> {
    const z = sent.data as Float32Array, n = sent.dims[0];
    if (this.width === 0) this.#buildPilot(z.length / n);
    const d = this.width;
    if (z.length !== n * d) throw new RangeError(`fsha: activation of ${z.length} values for ${n} rows of width ${d}`);
    this.#trainDiscriminator(z, n);
    const g = new Float32Array(n * d);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(this.#logit(z, i * d));
      loss -= Math.log(Math.max(p, 1e-12)) / n;
      // d/dz of −log σ(w·z + b) = −(1 − σ)·w.
      const c = (-(1 - p) * this.#gain) / n;
      for (let k = 0; k < d; k++) g[i * d + k] = c * this.#w[k];
    }
    return Promise.resolve({ loss, cutGrad: tensor("float32", [...sent.dims], g), paramGrads: new Map() });
  }
}
