/**
 * The noise defence at the cut: each sample's activation is clipped to L2 norm `clip`
 * (x ← x · min(1, clip / ‖x‖)), then every coordinate gets independent Gaussian noise of
 * standard deviation σ·clip — the Gaussian mechanism's form (Dwork & Roth, "The
 * Algorithmic Foundations of Differential Privacy", 2014, §3.5.3, with clipping bounding
 * each sample's sensitivity as in Abadi et al. 2016 §3.1). The clinic applies it in
 * TypeScript to the activation tensor just before it is encoded and sent; the noise comes
 * from a seeded {@linkcode Rng} so that a run is reproducible.
 *
 * Backward pass (straight-through): the server returns the gradient of its loss at the
 * *noisy* activation it received, and the clinic back-propagates that gradient through its
 * front segment as if it were the gradient at the clean activation. The noise is additive,
 * so its Jacobian is the identity; the clipping's Jacobian is ignored (it is the identity
 * for samples under the clip norm, and clipping is a privacy bound, not part of the model
 * being learnt).
 *
 * No formal (ε, δ) guarantee is claimed: the clinic's weights change between steps and
 * samples are seen many times; the audit measures what the noise actually hides.
 *
 * @example
 * ```ts
 * import { clipAndNoise } from "./noise_defence.ts";
 * import { Rng } from "../data/rng.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const z = tensor("float32", [2, 2], new Float32Array([3, 4, 0.3, 0.4]));
 * clipAndNoise(z, { clip: 1, sigma: 0 }, new Rng(1)).data; // [0.6, 0.8, 0.3, 0.4]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import type { Rng } from "../data/rng.ts";

/**
 * Returns a new float32 tensor: each row of `z` ([N, ...]) clipped to L2 norm `clip`, plus
 * N(0, (σ·clip)²) noise on every element. `rng` is any normal source: an {@linkcode Rng}, or a
 * secret-keyed `KeyedNormals` where the receiver must not be able to regenerate the noise.
 *
 * @throws {TypeError} for a tensor that is not float32; {@linkcode RangeError} for a clip
 *   that is not > 0 or a σ < 0
 * @example
 * ```ts
 * import { clipAndNoise } from "./noise_defence.ts";
 * import { Rng } from "../data/rng.ts";
 * import { tensor } from "../../models/tensor.ts";
 * clipAndNoise(tensor("float32", [1, 3]), { clip: 1, sigma: 0.5 }, new Rng(0)).dims; // [1, 3]
 * ```
 */
export function clipAndNoise(
  z: Tensor,
  o: { clip: number; sigma: number },
  rng: Pick<Rng, "normal">,
): Tensor<"float32"> {
  if (z.dtype !== "float32") throw new TypeError(`noise defence: activation must be float32, got ${z.dtype}`);
  if (!(o.clip > 0) || !Number.isFinite(o.clip)) throw new RangeError(`noise defence: clip must be a finite number > 0, got ${o.clip}`);
  if (!(o.sigma >= 0) || !Number.isFinite(o.sigma)) throw new RangeError(`noise defence: sigma must be a finite number >= 0, got ${o.sigma}`);
  const n = z.dims[0], src = z.data as Float32Array;
  const d = n === 0 ? 0 : src.length / n;
  const out = new Float32Array(src.length);
  const std = o.sigma * o.clip;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += src[i * d + k] ** 2;
    const norm = Math.sqrt(s);
    const scale = norm > o.clip ? o.clip / norm : 1;
    for (let k = 0; k < d; k++) out[i * d + k] = src[i * d + k] * scale + (std > 0 ? std * rng.normal() : 0);
  }
  return tensor("float32", [...z.dims], out);
}
