/**
 * Gradient rules for the broadcasting binary operators Add, Sub, Mul, Div, Pow (constant
 * exponent) and the variadic Sum (ONNX operator spec; broadcasting per ONNX
 * "Broadcasting in ONNX": multidirectional). Each input's gradient is summed back over the
 * axes along which it was broadcast.
 *
 * @example
 * ```ts
 * import { ARITHMETIC_RULES } from "./arithmetic.ts";
 * Object.keys(ARITHMETIC_RULES); // ["Add", "Sub", "Mul", "Div", "Sum", "Pow"]
 * ```
 * @module
 */
import type { GradRule } from "../rule.ts";
import { GradError } from "../context.ts";

/** Rules by op type. */
export const ARITHMETIC_RULES: Record<string, GradRule> = {
  Add: (n, [g], ctx, needs) => {
    const [a, b] = n.inputs, y = n.outputs[0];
    return [
      needs[0] ? ctx.unbroadcast(g!, a, y, n) : undefined,
      needs[1] ? ctx.unbroadcast(g!, b, y, n) : undefined,
    ];
  },
  Sub: (n, [g], ctx, needs) => {
    const [a, b] = n.inputs, y = n.outputs[0];
    return [
      needs[0] ? ctx.unbroadcast(g!, a, y, n) : undefined,
      needs[1] ? ctx.unbroadcast(ctx.emit1("Neg", [g!]), b, y, n) : undefined,
    ];
  },
  Mul: (n, [g], ctx, needs) => {
    const [a, b] = n.inputs, y = n.outputs[0];
    return [
      needs[0] ? ctx.unbroadcast(ctx.emit1("Mul", [g!, b]), a, y, n) : undefined,
      needs[1] ? ctx.unbroadcast(ctx.emit1("Mul", [g!, a]), b, y, n) : undefined,
    ];
  },
  // y = a / b:  da = g / b,  db = -g a / b² = -(g y) / b
  Div: (n, [g], ctx, needs) => {
    const [a, b] = n.inputs, y = n.outputs[0];
    const gOverB = ctx.emit1("Div", [g!, b]);
    return [
      needs[0] ? ctx.unbroadcast(gOverB, a, y, n) : undefined,
      needs[1]
        ? ctx.unbroadcast(ctx.emit1("Neg", [ctx.emit1("Mul", [gOverB, y])]), b, y, n)
        : undefined,
    ];
  },
  Sum: (n, [g], ctx, needs) =>
    n.inputs.map((x, i) => (needs[i] ? ctx.unbroadcast(g!, x, n.outputs[0], n) : undefined)),
  // y = a^p with p constant: da = g p a^(p-1)
  Pow: (n, [g], ctx, needs) => {
    const [a, p] = n.inputs, y = n.outputs[0];
    if (needs[1]) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${
          JSON.stringify(n.name)
        } (Pow): gradient with respect to the exponent is not supported`,
      );
    }
    const dt = ctx.dtype(a);
    const pm1 = ctx.emit1("Sub", [
      ctx.cast(p, dt),
      ctx.scalar(1, dt),
    ]);
    const d = ctx.emit1("Mul", [
      ctx.emit1("Pow", [a, pm1]),
      ctx.cast(p, dt),
    ]);
    return [ctx.unbroadcast(ctx.emit1("Mul", [g!, d]), a, y, n), undefined];
  },
};
