/**
 * Gradient rules for Softmax and LogSoftmax along one axis (opset 13 semantics):
 *   Softmax:    dx = y ⊙ (g − Σₐ g ⊙ y)
 *   LogSoftmax: dx = g − exp(y) ⊙ Σₐ g
 *
 * @example
 * ```ts
 * import { SOFTMAX_RULES } from "./softmax.ts";
 * Object.keys(SOFTMAX_RULES); // ["Softmax", "LogSoftmax"]
 * ```
 * @module
 */
import { getInt } from "../../graph/ir.ts";
import type { GradRule } from "../rule.ts";
import { GradError } from "../context.ts";

/** Rules by op type. */
export const SOFTMAX_RULES: Record<string, GradRule> = {
  Softmax: (n, [g], ctx) => {
    if (ctx.opset < 13) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${JSON.stringify(n.name)} (Softmax): opset < 13 semantics are not supported`,
      );
    }
    const r = ctx.rank(n.inputs[0], n);
    const axis = (getInt(n, "axis", -1) + r) % r;
    const y = n.outputs[0];
    const s = ctx.reduceSum(ctx.emit1("Mul", [g!, y]), [axis], true);
    return [ctx.emit1("Mul", [y, ctx.emit1("Sub", [g!, s])])];
  },
  LogSoftmax: (n, [g], ctx) => {
    if (ctx.opset < 13) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${JSON.stringify(n.name)} (LogSoftmax): opset < 13 semantics are not supported`,
      );
    }
    const r = ctx.rank(n.inputs[0], n);
    const axis = (getInt(n, "axis", -1) + r) % r;
    const s = ctx.reduceSum(g!, [axis], true);
    return [ctx.emit1("Sub", [g!, ctx.emit1("Mul", [ctx.emit1("Exp", [n.outputs[0]]), s])])];
  },
};
