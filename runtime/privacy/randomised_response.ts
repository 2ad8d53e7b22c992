/**
 * Label differential privacy by randomised response (Warner 1965; as used for deep learning
 * by Ghazi, Golowich, Kumar, Manurangsi & Zhang, "Deep Learning with Label Differential
 * Privacy", NeurIPS 2021, §3 RR with K = 2): before a vanilla-mode clinic sends a binary label
 * to the server, it keeps it with probability e^ε/(1 + e^ε) and flips it otherwise. Each
 * record's noisy label is drawn *once* and reused in every epoch (`RandomisedLabels`), so the
 * whole training is ε-label-DP (pure, δ = 0): resending fresh draws each epoch would compose
 * and average the noise away.
 *
 * What it protects: the labels the server receives (it also computes the cut gradients from
 * them, so a gradient attack learns at most the noisy label: the norm and direction attacks'
 * AUC against the true label is bounded by the noisy label's, 1 − p for flip probability p).
 * Its cost: the server's segment learns from labels with a fraction p wrong.
 *
 * @example
 * ```ts
 * import { flipProbability } from "./randomised_response.ts";
 * flipProbability(Math.log(3)); // 0.25
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import type { Rng } from "../data/rng.ts";

/**
 * The flip probability 1/(1 + e^ε) of binary randomised response at label-DP level ε.
 *
 * @throws {RangeError} for ε that is not a finite number ≥ 0
 * @example
 * ```ts
 * import { flipProbability } from "./randomised_response.ts";
 * flipProbability(0); // 0.5
 * ```
 */
export function flipProbability(epsilon: number): number {
  if (!(epsilon >= 0) || !Number.isFinite(epsilon)) throw new RangeError(`randomised response: ε must be a finite number >= 0, got ${epsilon}`);
  return 1 / (1 + Math.exp(epsilon));
}

/** The noisy labels of a training set, drawn once per record. */
export class RandomisedLabels {
  readonly #noisy: Float32Array;
  /** How many labels were flipped. */
  readonly flipped: number;

  /**
   * @param labels the true binary labels (0 or 1), one per record
   * @throws {RangeError} for a label other than 0 or 1, or a bad ε
   * @example
   * ```ts
   * import { RandomisedLabels } from "./randomised_response.ts";
   * import { Rng } from "../data/rng.ts";
   * new RandomisedLabels(new Float32Array([0, 1, 1]), 50, new Rng(1)).flipped; // 0
   * ```
   */
  constructor(labels: ArrayLike<number>, readonly epsilon: number, rng: Pick<Rng, "float">) {
    const p = flipProbability(epsilon);
    this.#noisy = new Float32Array(labels.length);
    let flipped = 0;
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i];
      if (y !== 0 && y !== 1) throw new RangeError(`randomised response: label ${i} is ${y}; expected 0 or 1 (binary labels)`);
      const flip = rng.float() < p;
      this.#noisy[i] = flip ? 1 - y : y;
      if (flip) flipped++;
    }
    this.flipped = flipped;
  }

  /**
   * The noisy labels of records `idx`, shaped like `target` ([N] or [N, 1]).
   *
   * @example
   * ```ts
   * import { RandomisedLabels } from "./randomised_response.ts";
   * import { Rng } from "../data/rng.ts";
   * import { tensor } from "../../models/tensor.ts";
   * const rr = new RandomisedLabels([0, 1], 50, new Rng(1));
   * rr.take([1], tensor("float32", [1, 1])).data; // [1]
   * ```
   */
  take(idx: ArrayLike<number>, target: Tensor): Tensor<"float32"> {
    const out = new Float32Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = this.#noisy[idx[i]];
    return tensor("float32", [...target.dims], out);
  }
}
