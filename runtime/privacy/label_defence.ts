/**
 * The label defences a clinic sets in `defence.labelDefence` (the hook; each defence is its
 * own file):
 *
 * - `{kind: "marvell", scale}`: optimised class-dependent Gaussian noise on the gradient the
 *   labelled party sends (`marvell.ts`; Li et al. 2022 §4.2), against norm and direction attacks;
 * - `{kind: "max-norm"}`: isotropic noise up to the batch's max norm (`max_norm.ts`; §4.1);
 * - `{kind: "rr", epsilon}`: randomised response on the labels a vanilla clinic sends
 *   (`randomised_response.ts`; ε-label-DP).
 *
 * Where each applies: the gradient defences perturb the gradient computed from the labels
 * before it leaves their holder — in U-shaped mode the clinic's gradient at the head's input
 * (the server then back-propagates the noisy gradient through its segment); randomised
 * response applies in vanilla mode, where labels leave the clinic. The other pairings are
 * refused by {@linkcode checkLabelDefenceMode}.
 *
 * @example
 * ```ts
 * import { perturbLabelGradient } from "./label_defence.ts";
 * import { Rng } from "../data/rng.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const g = tensor("float32", [2, 1], new Float32Array([-0.5, 0.5]));
 * perturbLabelGradient(g, [1, 0], { kind: "max-norm" }, new Rng(1)).data; // [-0.5, 0.5] (equal norms)
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { marvellNoise } from "./marvell.ts";
import { maxNormNoise } from "./max_norm.ts";

/** A clinic's label defence (see the module notes). */
export type LabelDefence = { kind: "marvell"; scale: number } | { kind: "max-norm" } | { kind: "rr"; epsilon: number };

/**
 * The gradient `g` as it may leave its label holder: perturbed by a gradient defence, or `g`
 * itself for none or randomised response (which acts on labels).
 *
 * @example
 * ```ts
 * import { perturbLabelGradient } from "./label_defence.ts";
 * import { Rng } from "../data/rng.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const g = tensor("float32", [1, 1], new Float32Array([2]));
 * perturbLabelGradient(g, [1], undefined, new Rng(1)) === g; // true
 * ```
 */
export function perturbLabelGradient(g: Tensor, labels: ArrayLike<number>, d: LabelDefence | undefined, rng: { normal(): number }): Tensor {
  if (d?.kind === "marvell") return marvellNoise(g, labels, d, rng);
  if (d?.kind === "max-norm") return maxNormNoise(g, rng);
  return g;
}

/**
 * Refuses a label defence in the mode where it would protect nothing.
 *
 * @throws {TypeError} naming the defence, the mode and where it belongs
 * @example
 * ```ts
 * import { checkLabelDefenceMode } from "./label_defence.ts";
 * checkLabelDefenceMode({ kind: "rr", epsilon: 1 }, "vanilla"); // ok
 * ```
 */
export function checkLabelDefenceMode(d: LabelDefence | undefined, mode: "vanilla" | "ushaped"): void {
  if (!d) return;
  if (d.kind === "rr" && mode !== "vanilla") {
    throw new TypeError(`defence.labelDefence "rr" needs mode vanilla, got ${mode}: in U-shaped mode the labels never leave the clinic; protect the gradient it sends with "marvell" or "max-norm"`);
  }
  if (d.kind !== "rr" && mode !== "ushaped") {
    throw new TypeError(`defence.labelDefence "${d.kind}" needs mode ushaped, got ${mode}: in vanilla mode the server computes the gradient from the labels it received; protect the labels with "rr"`);
  }
}

/**
 * Checks an untrusted `labelDefence` value.
 *
 * @throws {TypeError} naming the field and what was expected
 * @example
 * ```ts
 * import { parseLabelDefence } from "./label_defence.ts";
 * parseLabelDefence({ kind: "marvell", scale: 4 }); // { kind: "marvell", scale: 4 }
 * ```
 */
export function parseLabelDefence(v: unknown): LabelDefence {
  const o = (typeof v === "object" && v !== null && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  const num = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0;
  const keys = Object.keys(o).sort().join(",");
  if (o.kind === "marvell" && num(o.scale) && keys === "kind,scale") return { kind: "marvell", scale: o.scale as number };
  if (o.kind === "max-norm" && keys === "kind") return { kind: "max-norm" };
  if (o.kind === "rr" && num(o.epsilon) && keys === "epsilon,kind") return { kind: "rr", epsilon: o.epsilon as number };
  throw new TypeError(
    `defence.labelDefence: expected {kind: "marvell", scale >= 0}, {kind: "max-norm"} or {kind: "rr", epsilon >= 0}, got ${JSON.stringify(v)}`,
  );
}
