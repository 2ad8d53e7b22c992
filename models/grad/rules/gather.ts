/**
 * Gradient rule for Gather (ONNX operator spec), the embedding lookup: the gradient of the
 * table is zeros with each gathered row's gradient added back at its index — `ScatterND`
 * with `reduction = "add"` (opset 16), so an index that occurs twice gets both
 * contributions. A gather along axis a ≠ 0 is transposed to axis 0 and back.
 *
 * @example
 * ```ts
 * import { GATHER_RULES } from "./gather.ts";
 * typeof GATHER_RULES.Gather; // "function"
 * ```
 * @module
 */
import { getInt, intsAttr, stringAttr } from "../../graph/ir.ts";
import type { GradRule } from "../rule.ts";
import { GradError } from "../context.ts";
import { tensor } from "../../tensor.ts";

/** Rules by op type. */
export const GATHER_RULES: Record<string, GradRule> = {
  Gather: (n, [g], ctx, needs) => {
    if (!needs[0]) return [undefined, undefined];
    if (ctx.opset < 16) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${JSON.stringify(n.name)} (Gather): gradient needs opset >= 16 (ScatterND reduction)`,
      );
    }
    const [data, idx] = n.inputs;
    const r = ctx.rank(data, n), q = ctx.rank(idx, n);
    const axis = (getInt(n, "axis", 0) + r) % r;
    const dt = ctx.dtype(data);
    // Move the gathered axis to the front: data' = [D_a, D_0..D_{a-1}, D_{a+1}..], and the
    // gradient [D_0..D_{a-1}, I..., D_{a+1}..] → [I..., D_0..D_{a-1}, D_{a+1}..].
    let gFront = g!;
    let dataFront = data;
    const dataPerm = [axis, ...[...Array(r).keys()].filter((i) => i !== axis)];
    if (axis !== 0) {
      const gPerm = [
        ...[...Array(q).keys()].map((i) => axis + i),
        ...[...Array(axis).keys()],
        ...[...Array(r - axis - 1).keys()].map((i) => axis + q + i),
      ];
      gFront = ctx.emit1("Transpose", [g!], { perm: intsAttr(gPerm) });
      dataFront = ctx.emit1("Transpose", [data], { perm: intsAttr(dataPerm) });
    }
    const zeros = ctx.zerosLike(dataFront, dt);
    // Negative indices count from the end (Gather allows them); normalise before scattering.
    // Scalar constants keep a rank-0 index rank 0 (a [1]-shaped 0 would broadcast it to [1]).
    const zero = ctx.constant(tensor("int64", [], new BigInt64Array(1)), "zero");
    const size = ctx.emit1("Gather", [ctx.emit1("Shape", [dataFront]), zero]);
    const idx64 = ctx.emit1("Cast", [idx], { to: { type: "int", value: 7 } });
    const neg = ctx.emit1("Less", [idx64, zero]);
    const fixed = ctx.emit1("Where", [neg, ctx.emit1("Add", [idx64, size]), idx64]);
    const nd = ctx.emit1("Unsqueeze", [fixed, ctx.ints([-1])]);
    let dData = ctx.emit1("ScatterND", [zeros, nd, gFront], { reduction: stringAttr("add") });
    if (axis !== 0) {
      const inv = new Array(r);
      dataPerm.forEach((p, i) => (inv[p] = i));
      dData = ctx.emit1("Transpose", [dData], { perm: intsAttr(inv) });
    }
    return [dData, undefined];
  },
};
