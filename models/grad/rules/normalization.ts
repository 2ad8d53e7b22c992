/**
 * Gradient rule for LayerNormalization (ONNX operator spec, LayerNormalization-17). With the
 * normalized axes A = [axis, rank), x̂ = (X − mean_A X)·σ⁻¹, σ⁻¹ = 1/√(var_A X + ε) and
 * Y = x̂·Scale + B, the reverse pass (Ba, Kiros & Hinton 2016, "Layer Normalization", §3,
 * differentiated as for batch normalization in Ioffe & Szegedy 2015, §3) is, with G = dL/dY:
 *
 *   dB     = Σ over the broadcast axes of G
 *   dScale = Σ over the broadcast axes of G ⊙ x̂
 *   dX     = σ⁻¹ ⊙ (Ĝ − mean_A Ĝ − x̂ ⊙ mean_A(Ĝ ⊙ x̂)),   Ĝ = G ⊙ Scale
 *
 * written with ReduceMean, Sub, Mul, Sqrt and Reciprocal only, so every engine runs it
 * (onnxruntime-web has no LayerNormalizationGrad). When the forward node exports its Mean and
 * InvStdDev outputs (in X's type) they are read; otherwise they are recomputed from X, two
 * reductions that PyTorch exports (Y only) always need.
 *
 * @example
 * ```ts
 * import { NORMALIZATION_RULES } from "./normalization.ts";
 * Object.keys(NORMALIZATION_RULES); // ["LayerNormalization"]
 * ```
 * @module
 */
import { getFloat, getInt, type Node } from "../../graph/ir.ts";
import type { GradRule } from "../rule.ts";
import { type GradContext, GradError } from "../context.ts";

/** The normalized axes [axis, rank) of node `n`'s input X. */
function normalizedAxes(n: Node, ctx: GradContext): number[] {
  const r = ctx.rank(n.inputs[0], n);
  const a0 = getInt(n, "axis", -1);
  if (a0 < -r || a0 >= r) {
    throw new GradError(
      "UNSUPPORTED_ATTR",
      `node ${JSON.stringify(n.name)} (LayerNormalization): axis ${a0} is out of range ` +
        `for an input of rank ${r}, expected -${r}..${r - 1}`,
    );
  }
  const axis = a0 < 0 ? a0 + r : a0;
  return Array.from({ length: r - axis }, (_, i) => axis + i);
}

/**
 * x̂ = (X − mean)·σ⁻¹ and σ⁻¹, from the node's Mean and InvStdDev outputs when it has both in
 * X's type (stash_type may differ), else recomputed from X with the node's epsilon.
 */
function normalized(n: Node, ctx: GradContext, axes: number[]): { xhat: string; inv: string } {
  const x = n.inputs[0], dt = ctx.dtype(x);
  const [, meanOut, invOut] = n.outputs;
  const ours = (t: string | undefined) => !!t && ctx.dtype(t) === dt;
  if (ours(meanOut) && ours(invOut)) {
    return { xhat: ctx.emit1("Mul", [ctx.emit1("Sub", [x, meanOut]), invOut]), inv: invOut };
  }
  const centred = ctx.emit1("Sub", [x, ctx.reduceMean(x, axes, true)]);
  const variance = ctx.reduceMean(ctx.emit1("Mul", [centred, centred]), axes, true);
  const eps = ctx.scalar(getFloat(n, "epsilon", 1e-5), dt);
  const inv = ctx.emit1("Reciprocal", [ctx.emit1("Sqrt", [ctx.emit1("Add", [variance, eps])])]);
  return { xhat: ctx.emit1("Mul", [centred, inv]), inv };
}

/** Rules by op type. */
export const NORMALIZATION_RULES: Record<string, GradRule> = {
  LayerNormalization: (n, [g, gMean, gInv], ctx, needs) => {
    if (gMean || gInv) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${JSON.stringify(n.name)} (LayerNormalization): a gradient through the Mean or ` +
          `InvStdDev output is not supported, only through Y`,
      );
    }
    if (!g) return [undefined, undefined, undefined];
    const [x, scale, bias] = n.inputs, y = n.outputs[0];
    const axes = normalizedAxes(n, ctx);
    const { xhat, inv } = normalized(n, ctx, axes);
    const dBias = bias && needs[2] ? ctx.unbroadcast(g, bias, y, n) : undefined;
    const dScale = needs[1] ? ctx.unbroadcast(ctx.emit1("Mul", [g, xhat]), scale, y, n) : undefined;
    let dX: string | undefined;
    if (needs[0]) {
      const gs = ctx.emit1("Mul", [g, scale]);
      const m1 = ctx.reduceMean(gs, axes, true);
      const m2 = ctx.reduceMean(ctx.emit1("Mul", [gs, xhat]), axes, true);
      const inner = ctx.emit1("Sub", [
        ctx.emit1("Sub", [gs, m1]),
        ctx.emit1("Mul", [xhat, m2]),
      ]);
      // X's own shape: Scale may broadcast X (spec: unidirectional to X's normalized shape).
      dX = ctx.unbroadcast(ctx.emit1("Mul", [inner, inv]), x, y, n);
    }
    return [dX, dScale, dBias];
  },
};
