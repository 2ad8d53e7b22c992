/**
 * The compiled top of a vertical split network, built the same way at the server and at
 * the U-shaped label party (same seed → same initial weights): segment 0 is what the server
 * runs (the whole top, or its middle when the label party keeps the head), segment 1 the
 * label party's head.
 *
 * @example
 * ```ts
 * import { compileVerticalTop } from "./vertical_top.ts";
 * const segs = compileVerticalTop({ width: 8, fusionHidden: 4, seed: 0, ushaped: true });
 * console.log(segs.length, segs[1].hasLoss); // 2 true
 * ```
 * @module
 */
import type { CompiledSegment } from "../../models/train/compile.ts";
import { compileModel } from "../../models/train/compile.ts";
import { buildFusionTop } from "../../models/zoo/fusion_top.ts";
import { Rng } from "../data/rng.ts";

/**
 * Compiles the top (see the module documentation).
 *
 * @example
 * ```ts
 * import { compileVerticalTop } from "./vertical_top.ts";
 * compileVerticalTop({ width: 8, seed: 1, ushaped: false })[0].hasLoss; // true
 * ```
 */
export function compileVerticalTop(
  o: { width: number; fusionHidden?: number; seed: number; ushaped: boolean },
): CompiledSegment[] {
  const rng = new Rng(o.seed);
  const top = buildFusionTop({ random: () => rng.float(), width: o.width, hidden: o.fusionHidden });
  return compileModel(top.model, {
    loss: "bce",
    cuts: o.ushaped ? top.cuts.ushaped : [],
    inputGrads: true,
    seed: o.seed,
  });
}
