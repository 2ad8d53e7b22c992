/**
 * Gradient rules for operators that move elements without changing them (ONNX operator
 * spec: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Expand, Pad,
 * Cast). Their gradients move the incoming gradient back: reshape to the input's runtime
 * shape, inverse permutation, split at the concatenation offsets, sum over expanded axes,
 * crop the padding.
 *
 * @example
 * ```ts
 * import { SHAPE_RULES } from "./shape.ts";
 * typeof SHAPE_RULES.Reshape; // "function"
 * ```
 * @module
 */
import { getInt, getInts, getString, intAttr, intsAttr } from "../../graph/ir.ts";
import type { GradRule } from "../rule.ts";
import { GradError } from "../context.ts";
import { FLOAT_DTYPES } from "../../dtypes.ts";

const reshapeBack: GradRule = (n, [g], ctx) => [ctx.reshapeLike(g!, n.inputs[0])];

/** Rules by op type. */
export const SHAPE_RULES: Record<string, GradRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: (n, [g], ctx) => {
    const r = ctx.rank(n.inputs[0], n);
    const perm = getInts(n, "perm", [...Array(r).keys()].reverse());
    const inv = new Array(r);
    perm.forEach((p, i) => (inv[p] = i));
    return [ctx.emit1("Transpose", [g!], { perm: intsAttr(inv) })];
  },
  Concat: (n, [g], ctx, needs) => {
    const r = ctx.rank(n.inputs[0], n);
    const axis = (getInt(n, "axis") + r) % r;
    const sizes = n.inputs.map((x) => ctx.shape(x, n)[axis]);
    if (sizes.some((v) => typeof v !== "number")) {
      throw new GradError(
        "UNKNOWN_SHAPE",
        `node ${
          JSON.stringify(n.name)
        } (Concat): sizes along axis ${axis} must be static, got [${sizes}]`,
      );
    }
    const parts = ctx.emit(
      "Split",
      [g!, ctx.ints(sizes as number[])],
      { axis: intAttr(axis) },
      n.inputs.length,
    );
    return parts.map((p, i) => (needs[i] ? p : undefined));
  },
  Split: (n, gs, ctx) => {
    const dt = ctx.dtype(n.inputs[0]);
    const axis = getInt(n, "axis", 0);
    const parts = n.outputs.map((y, i) =>
      gs[i] ?? ctx.zerosLike(y, dt)
    );
    return [ctx.emit1("Concat", parts, { axis: intAttr(axis) }), undefined];
  },
  // Slice with constant starts/ends/axes and unit steps: pad the gradient back with zeros.
  Slice: (n, [g], ctx) => {
    const x = n.inputs[0];
    const xs = ctx.shape(x, n);
    const val = (i: number) => (n.inputs[i] ? ctx.facts.get(n.inputs[i])?.value : undefined);
    const starts = val(1), ends = val(2);
    const axes = val(3) ?? starts?.map((_, i) => i);
    const steps = val(4) ?? starts?.map(() => 1);
    if (!starts || !ends || !axes || !steps || steps.some((s) => s !== 1)) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${
          JSON.stringify(n.name)
        } (Slice): gradient needs constant starts/ends/axes and unit steps`,
      );
    }
    const r = xs.length;
    const pads = new Array(2 * r).fill(0);
    axes.forEach((a0, i) => {
      const a = ((a0 as number) + r) % r;
      const len = xs[a];
      if (typeof len !== "number") {
        if (starts[i] === 0 && (ends[i] as number) >= 2 ** 31 - 1) return;
        throw new GradError(
          "UNKNOWN_SHAPE",
          `node ${JSON.stringify(n.name)} (Slice): axis ${a} must be static`,
        );
      }
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + len : v, 0), len);
      const s = clamp(starts[i] as number), e = clamp(ends[i] as number);
      pads[a] = s;
      pads[a + r] = len - Math.max(e, s);
    });
    return [ctx.emit1("Pad", [g!, ctx.ints(pads)])];
  },
  Expand: (n, [g], ctx) => [ctx.unbroadcast(g!, n.inputs[0], n.outputs[0], n), undefined],
  // Constant-mode Pad: the gradient is the centre crop (negative pads crop in the forward
  // pass; their inverse is a zero pad, handled by Pad with the negated amounts).
  Pad: (n, [g], ctx) => {
    const mode = getString(n, "mode", "constant");
    if (mode !== "constant") {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${JSON.stringify(n.name)} (Pad): mode ${mode} is not supported, only constant`,
      );
    }
    const pads = ctx.facts.get(n.inputs[1])?.value as number[] | undefined;
    if (!pads || n.inputs[3]) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${JSON.stringify(n.name)} (Pad): pads must be constant and cover all axes`,
      );
    }
    return [ctx.emit1("Pad", [g!, ctx.ints(pads.map((v) => -v))])];
  },
  Cast: (n, [g], ctx) => {
    // Only a real-valued input receives a gradient, cast back to its own type.
    const dt = ctx.dtype(n.inputs[0]);
    if (!FLOAT_DTYPES.has(dt)) return [undefined];
    return [ctx.cast(g!, dt)];
  },
};
