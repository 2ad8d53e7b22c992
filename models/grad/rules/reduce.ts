/**
 * Gradient rules for ReduceSum and ReduceMean (ONNX operator spec; `axes` is an attribute
 * of ReduceMean before opset 18 and an input from 18, of ReduceSum an input from 13): the
 * gradient is broadcast back over the reduced axes (divided by the count for the mean).
 *
 * @example
 * ```ts
 * import { REDUCE_RULES } from "./reduce.ts";
 * Object.keys(REDUCE_RULES); // ["ReduceSum", "ReduceMean"]
 * ```
 * @module
 */
import { getInt, getInts, type Node } from "../../graph/ir.ts";
import type { GradRule } from "../rule.ts";
import { type GradContext, GradError } from "../context.ts";

function reducedAxes(n: Node, ctx: GradContext): number[] {
  const r = ctx.rank(n.inputs[0], n);
  const fromInput = n.opType === "ReduceSum" ? ctx.opset >= 13 : ctx.opset >= 18;
  let axes: number[] | undefined;
  if (fromInput) {
    axes = n.inputs[1] ? ctx.facts.get(n.inputs[1])?.value as number[] | undefined : [];
    if (!axes) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${JSON.stringify(n.name)} (${n.opType}): axes must be constant`,
      );
    }
  } else axes = getInts(n, "axes", []);
  if (axes.length === 0) {
    return getInt(n, "noop_with_empty_axes", 0) ? [] : [...Array(r).keys()];
  }
  return axes.map((a) => (a + r) % r).sort((a, b) => a - b);
}

function spread(n: Node, g: string, ctx: GradContext, axes: number[]): string {
  const x = n.inputs[0];
  const keep = getInt(n, "keepdims", 1);
  const gk = keep || axes.length === 0 ? g : ctx.emit1("Unsqueeze", [g, ctx.ints(axes)]);
  return ctx.emit1("Expand", [gk, ctx.emit1("Shape", [x])]);
}

/** Rules by op type. */
export const REDUCE_RULES: Record<string, GradRule> = {
  ReduceSum: (n, [g], ctx) => [spread(n, g!, ctx, reducedAxes(n, ctx)), undefined],
  ReduceMean: (n, [g], ctx) => {
    const axes = reducedAxes(n, ctx);
    const xs = ctx.shape(n.inputs[0], n);
    const dims = axes.map((a) => xs[a]);
    const e = spread(n, g!, ctx, axes);
    const dt = ctx.dtype(g!);
    if (dims.every((d) => typeof d === "number")) {
      const count = (dims as number[]).reduce((a, b) => a * b, 1);
      return [ctx.emit1("Mul", [e, ctx.scalar(1 / count, dt)]), undefined];
    }
    // A reduced axis is dynamic (e.g. the batch): count = |x| / |y| at run time.
    const sx = ctx.cast(ctx.emit1("Size", [n.inputs[0]]), dt);
    const sy = ctx.cast(ctx.emit1("Size", [n.outputs[0]]), dt);
    return [ctx.emit1("Div", [e, ctx.emit1("Div", [sx, sy])]), undefined];
  },
};
