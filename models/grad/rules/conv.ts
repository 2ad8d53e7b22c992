/**
 * Gradient rule for Conv (ONNX operator spec, 1-D/2-D/3-D, strides, pads, dilations,
 * groups), written with standard operators only:
 *
 * - dX is the transposed convolution of dY with the same weights (`ConvTranspose` with the
 *   forward strides, pads, dilations and group), with `output_padding` restoring the input
 *   size lost to the floor in the forward size formula.
 * - dW[o, i, k] = Σₙ,ₚ dY[n, o, p] · Xpad[n, i, p·s + k·d]: a convolution over the batch
 *   axis. X is transposed to [Cᵢₙ, N, …] (batch ↔ channel), dY to [Cₒᵤₜ, N, …] and used as
 *   the kernel, with stride d and dilation s (roles swapped); the result is cropped to the
 *   kernel size and transposed back. Groups are folded into the channel axis.
 * - dB = Σ dY over batch and spatial axes.
 *
 * @example
 * ```ts
 * import { CONV_RULES } from "./conv.ts";
 * typeof CONV_RULES.Conv; // "function"
 * ```
 * @module
 */
import { getInt, getInts, getString, intAttr, intsAttr } from "../../graph/ir.ts";
import type { GradRule } from "../rule.ts";
import { GradError } from "../context.ts";

/** Rules by op type. */
export const CONV_RULES: Record<string, GradRule> = {
  Conv: (n, [g], ctx, needs) => {
    const [x, w, b] = n.inputs;
    const xs = ctx.shape(x, n), ws = ctx.shape(w, n), ys = ctx.shape(n.outputs[0], n);
    const nsp = xs.length - 2;
    const k = getInts(n, "kernel_shape", ws.slice(2) as number[]);
    const s = getInts(n, "strides", new Array(nsp).fill(1));
    const d = getInts(n, "dilations", new Array(nsp).fill(1));
    const p = getInts(n, "pads", new Array(2 * nsp).fill(0));
    const group = getInt(n, "group", 1);
    if (getString(n, "auto_pad", "NOTSET") !== "NOTSET") {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${
          JSON.stringify(n.name)
        } (Conv): auto_pad is not supported; export with explicit pads`,
      );
    }
    for (const dim of [...xs.slice(1), ...ws, ...ys.slice(2)]) {
      if (typeof dim !== "number") {
        throw new GradError(
          "UNKNOWN_SHAPE",
          `node ${
            JSON.stringify(n.name)
          } (Conv): channel and spatial sizes must be static, got input [${xs}] weight [${ws}]`,
        );
      }
    }
    const sp = [...Array(nsp).keys()].map((i) => i + 2);
    let dx: string | undefined, dw: string | undefined, db: string | undefined;
    if (needs[0]) {
      const outPad = sp.map((a, i) =>
        (xs[a] as number) -
        (((ys[a] as number) - 1) * s[i] - p[i] - p[i + nsp] + (k[i] - 1) * d[i] + 1)
      );
      dx = ctx.emit1("ConvTranspose", [g!, w], {
        strides: intsAttr(s),
        pads: intsAttr(p),
        dilations: intsAttr(d),
        group: intAttr(group),
        kernel_shape: intsAttr(k),
        output_padding: intsAttr(outPad),
      });
    }
    if (needs[1]) {
      const cin = xs[1] as number, cinG = cin / group;
      const swap = [1, 0, ...sp];
      let xt: string;
      if (group === 1) xt = ctx.emit1("Transpose", [x], { perm: intsAttr(swap) });
      else {
        // [N, G·Cᵢ, …] → [N, G, Cᵢ, …] → [Cᵢ, G, N, …] → [Cᵢ, G·N, …]: channel (g, n) sits in group g.
        const x5 = ctx.emit1("Reshape", [
          x,
          ctx.ints([0, group, cinG, ...sp.map((a) => xs[a] as number)]),
        ]);
        const t = ctx.emit1("Transpose", [x5], {
          perm: intsAttr([2, 1, 0, ...sp.map((a) => a + 1)]),
        });
        xt = ctx.emit1("Reshape", [t, ctx.ints([cinG, -1, ...sp.map((a) => xs[a] as number)])]);
      }
      const gt = ctx.emit1("Transpose", [g!], { perm: intsAttr(swap) });
      const full = ctx.emit1("Conv", [xt, gt], {
        strides: intsAttr(d),
        dilations: intsAttr(s),
        pads: intsAttr(p),
        group: intAttr(group),
      });
      const fs = ctx.shape(full, n);
      const crop = sp.some((a, i) => fs[a] !== k[i])
        ? ctx.emit1("Slice", [full, ctx.ints(k.map(() => 0)), ctx.ints(k), ctx.ints(sp)])
        : full;
      dw = ctx.emit1("Transpose", [crop], { perm: intsAttr(swap) });
    }
    if (b && needs[2]) db = ctx.reduceSum(g!, [0, ...sp], false);
    return [dx, dw, db];
  },
};
