/**
 * Gradient rules for element-wise unary operators (ONNX operator spec: Relu, LeakyRelu,
 * Sigmoid, Tanh, Exp, Log, Neg, Sqrt, Abs, Identity, Clip, Reciprocal, Softplus, Erf,
 * HardSigmoid, HardSwish). Each rule reads the forward output where that is cheaper to keep
 * than the input. Erf makes exact GELU differentiable (PyTorch exports it at opset 17 as
 * 0.5·x·(1 + erf(x/√2))); the tanh approximation exports as Mul/Add/Tanh with x³ written
 * x·(x·x) (or Pow(x, 3) by other exporters), which all have rules.
 *
 * @example
 * ```ts
 * import { ACTIVATION_RULES } from "./activation.ts";
 * Object.keys(ACTIVATION_RULES).includes("Relu"); // true
 * ```
 * @module
 */
import { getFloat, type Node } from "../../graph/ir.ts";
import type { GradContext } from "../context.ts";
import type { GradRule } from "../rule.ts";

const xOf = (n: Node) => n.inputs[0];
const yOf = (n: Node) => n.outputs[0];

/** `Where(cond, g, 0)` — passes the gradient where `cond` holds. */
function gate(ctx: GradContext, cond: string, g: string): string {
  return ctx.emit1("Where", [cond, g, ctx.scalar(0, ctx.dtype(g))]);
}

/** Rules by op type. */
export const ACTIVATION_RULES: Record<string, GradRule> = {
  // d relu(x) = [x > 0]; y > 0 exactly where x > 0, and y is usually kept anyway. Written
  // g · Cast([y > 0]) rather than Where: equal for every finite g (g·1 = g, g·0 = ±0), and
  // 10-20% faster on onnxruntime's CPU and wasm providers, where Relu's gradient runs on
  // the largest activations of a CNN (bench/grad_subgraphs.ts). A non-finite g stays NaN
  // where y ≤ 0 instead of being masked to 0, which only shows a step that already diverged.
  Relu: (n, [g], ctx) => {
    // A MaxPool reading only this Relu has already gated its gradient (see pool.ts).
    if (ctx.applied.has(n)) return [g];
    const dt = ctx.dtype(g!);
    const pos = ctx.emit1("Greater", [yOf(n), ctx.scalar(0, dt)]);
    return [ctx.emit1("Mul", [g!, ctx.cast(pos, dt)])];
  },
  LeakyRelu: (n, [g], ctx) => {
    const alpha = getFloat(n, "alpha", 0.01);
    const dt = ctx.dtype(g!);
    const pos = ctx.emit1("Greater", [xOf(n), ctx.scalar(0, dt)]);
    return [ctx.emit1("Where", [pos, g!, ctx.emit1("Mul", [g!, ctx.scalar(alpha, dt)])])];
  },
  // σ' = y (1 - y)
  Sigmoid: (n, [g], ctx) => {
    const y = yOf(n);
    const oneMinus = ctx.emit1("Sub", [ctx.scalar(1, ctx.dtype(y)), y]);
    return [ctx.emit1("Mul", [g!, ctx.emit1("Mul", [y, oneMinus])])];
  },
  // tanh' = 1 - y²
  Tanh: (n, [g], ctx) => {
    const y = yOf(n);
    const d = ctx.emit1("Sub", [ctx.scalar(1, ctx.dtype(y)), ctx.emit1("Mul", [y, y])]);
    return [ctx.emit1("Mul", [g!, d])];
  },
  Exp: (n, [g], ctx) => [ctx.emit1("Mul", [g!, yOf(n)])],
  Log: (n, [g], ctx) => [ctx.emit1("Div", [g!, xOf(n)])],
  Neg: (_n, [g], ctx) => [ctx.emit1("Neg", [g!])],
  // d sqrt(x) = 1 / (2 y)
  Sqrt: (n, [g], ctx) => [
    ctx.emit1("Div", [g!, ctx.emit1("Mul", [yOf(n), ctx.scalar(2, ctx.dtype(g!))])]),
  ],
  // d (1/x) = -y²
  Reciprocal: (n, [g], ctx) => [
    ctx.emit1("Neg", [ctx.emit1("Mul", [g!, ctx.emit1("Mul", [yOf(n), yOf(n)])])]),
  ],
  Abs: (n, [g], ctx) => [ctx.emit1("Mul", [g!, ctx.emit1("Sign", [xOf(n)])])],
  // softplus' = sigmoid(x)
  Softplus: (n, [g], ctx) => [ctx.emit1("Mul", [g!, ctx.emit1("Sigmoid", [xOf(n)])])],
  // erf'(x) = (2/√π)·exp(−x²) (Abramowitz & Stegun 7.1.1, differentiated)
  Erf: (n, [g], ctx) => {
    const x = xOf(n), dt = ctx.dtype(g!);
    const e = ctx.emit1("Exp", [ctx.emit1("Neg", [ctx.emit1("Mul", [x, x])])]);
    return [ctx.emit1("Mul", [g!, ctx.emit1("Mul", [e, ctx.scalar(2 / Math.sqrt(Math.PI), dt)])])];
  },
  // HardSigmoid-6: y = max(0, min(1, α·x + β)); dy/dx = α where 0 < y < 1, else 0 (PyTorch's
  // hardsigmoid_backward: open interval, so the kinks themselves get 0).
  HardSigmoid: (n, [g], ctx) => {
    const y = yOf(n), dt = ctx.dtype(g!);
    const alpha = getFloat(n, "alpha", 0.2);
    const inside = ctx.emit1("And", [
      ctx.emit1("Greater", [y, ctx.scalar(0, dt)]),
      ctx.emit1("Less", [y, ctx.scalar(1, dt)]),
    ]);
    return [gate(ctx, inside, ctx.emit1("Mul", [g!, ctx.scalar(alpha, dt)]))];
  },
  // HardSwish-14: y = x·max(0, min(1, x/6 + 1/2)); dy/dx = 0 for x < −3, x/3 + 1/2 for
  // −3 ≤ x ≤ 3 and 1 for x > 3 (PyTorch's hardswish_backward, boundaries included).
  HardSwish: (n, [g], ctx) => {
    const x = xOf(n), dt = ctx.dtype(g!);
    const ramp = ctx.emit1("Add", [
      ctx.emit1("Mul", [x, ctx.scalar(1 / 3, dt)]),
      ctx.scalar(0.5, dt),
    ]);
    const upper = ctx.emit1("Where", [
      ctx.emit1("Greater", [x, ctx.scalar(3, dt)]),
      ctx.scalar(1, dt),
      ramp,
    ]);
    const d = ctx.emit1("Where", [
      ctx.emit1("Less", [x, ctx.scalar(-3, dt)]),
      ctx.scalar(0, dt),
      upper,
    ]);
    return [ctx.emit1("Mul", [g!, d])];
  },
  Identity: (_n, [g]) => [g],
  // Clip passes the gradient inside [min, max] (bounds are constants: no gradient for them).
  Clip: (n, [g], ctx) => {
    let cond: string | undefined;
    const x = xOf(n);
    if (n.inputs[1]) cond = ctx.emit1("GreaterOrEqual", [x, n.inputs[1]]);
    if (n.inputs[2]) {
      const le = ctx.emit1("LessOrEqual", [x, n.inputs[2]]);
      cond = cond ? ctx.emit1("And", [cond, le]) : le;
    }
    return [cond ? gate(ctx, cond, g!) : g];
  },
};
