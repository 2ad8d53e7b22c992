/**
 * Gradient rule for Where-16 (ONNX operator spec): `y = cond ? a : b`, elementwise with
 * multidirectional broadcasting. The gradient goes to the branch each element was taken
 * from, `da = where(cond, g, 0)` and `db = where(cond, 0, g)`, each summed back over the
 * axes it was broadcast along; the boolean condition carries none. PyTorch exports
 * `masked_fill` (attention and padding masks) as a Where whose data branch needs this.
 *
 * @example
 * ```ts
 * import { SELECT_RULES } from "./select.ts";
 * Object.keys(SELECT_RULES); // ["Where"]
 * ```
 * @module
 */
import type { GradRule } from "../rule.ts";

/** Rules by op type. */
export const SELECT_RULES: Record<string, GradRule> = {
  Where: (n, [g], ctx, needs) => {
    const [cond, a, b] = n.inputs, y = n.outputs[0];
    const zero = ctx.scalar(0, ctx.dtype(y));
    return [
      undefined,
      needs[1] ? ctx.unbroadcast(ctx.emit1("Where", [cond, g!, zero]), a, y, n) : undefined,
      needs[2] ? ctx.unbroadcast(ctx.emit1("Where", [cond, zero, g!]), b, y, n) : undefined,
    ];
  },
};
