/**
 * Gradient rules for Gemm and MatMul (ONNX operator spec).
 *
 * Gemm: Y = α·op(A)·op(B) + β·C. With G = dL/dY:
 *   dA = α·G·op(B)ᵀ (transA = 0)   or  α·op(B)·Gᵀ (transA = 1)
 *   dB = α·op(A)ᵀ·G (transB = 0)   or  α·Gᵀ·op(A) (transB = 1)
 *   dC = β·unbroadcast(G)
 * each written as one Gemm with the right transpose flags, so nothing is transposed
 * in memory.
 *
 * @example
 * ```ts
 * import { LINEAR_RULES } from "./linear.ts";
 * typeof LINEAR_RULES.Gemm; // "function"
 * ```
 * @module
 */
import { floatAttr, getFloat, getInt, intAttr, intsAttr } from "../../graph/ir.ts";
import type { GradRule } from "../rule.ts";
import { GradError } from "../context.ts";

/** Rules by op type. */
export const LINEAR_RULES: Record<string, GradRule> = {
  Gemm: (n, [g], ctx, needs) => {
    const [a, b, c] = n.inputs;
    const alpha = getFloat(n, "alpha", 1), beta = getFloat(n, "beta", 1);
    const ta = getInt(n, "transA", 0), tb = getInt(n, "transB", 0);
    const gemm = (x: string, y: string, tx: number, ty: number) =>
      ctx.emit1("Gemm", [x, y], {
        alpha: floatAttr(alpha),
        transA: intAttr(tx),
        transB: intAttr(ty),
      });
    const da = !needs[0] ? undefined : ta === 0 ? gemm(g!, b, 0, tb ? 0 : 1) : gemm(b, g!, tb, 1);
    const db = !needs[1] ? undefined : tb === 0 ? gemm(a, g!, ta ? 0 : 1, 0) : gemm(g!, a, 1, ta);
    let dc: string | undefined;
    if (c && needs[2]) {
      const gc = beta === 1 ? g! : ctx.emit1("Mul", [g!, ctx.scalar(beta, ctx.dtype(g!))]);
      dc = ctx.unbroadcast(gc, c, n.outputs[0], n);
    }
    return [da, db, dc];
  },
  // Y = A·B with batch broadcasting: dA = G·Bᵀ, dB = Aᵀ·G, each summed over broadcast batch axes.
  MatMul: (n, [g], ctx, needs) => {
    const [a, b] = n.inputs;
    const ra = ctx.rank(a, n), rb = ctx.rank(b, n);
    if (ra < 2 || rb < 2) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${
          JSON.stringify(n.name)
        } (MatMul): gradient needs inputs of rank >= 2, got ranks ${ra} and ${rb}`,
      );
    }
    const tr = (x: string) => {
      const r = ctx.rank(x);
      const perm = [...Array(r).keys()];
      [perm[r - 1], perm[r - 2]] = [perm[r - 2], perm[r - 1]];
      return ctx.emit1("Transpose", [x], { perm: intsAttr(perm) });
    };
    const y = n.outputs[0];
    const da = needs[0] ? ctx.unbroadcastBatch(ctx.emit1("MatMul", [g!, tr(b)]), a, n) : undefined;
    const db = needs[1] ? ctx.unbroadcastBatch(ctx.emit1("MatMul", [tr(a), g!]), b, n) : undefined;
    void y;
    return [da, db];
  },
};
