/**
 * The server's part of a vertical split network: the parties' cut tensors, fused, then an
 * MLP to the logits. The fusion itself (concatenation or sum of the parties' cut tensors)
 * happens outside the graph, at the server (`runtime/server/vertical_step.ts`), so the graph
 * has one float input `fused` [N, width] whose gradient is what goes back to the parties.
 *
 * ```
 * fused [N, width] → Linear → ReLU   ← cut of the U-shaped variant (the label holder's head starts here)
 *                  → Linear → logits
 * ```
 *
 * @example
 * ```ts
 * import { buildFusionTop } from "./fusion_top.ts";
 * const { model, cuts } = buildFusionTop({ random: Math.random, width: 64, hidden: 32 });
 * console.log(model.graph.inputs[0].name, cuts.ushaped.length); // fused 1
 * ```
 * @module
 */
import type { Model } from "../graph/ir.ts";
import { NetBuilder } from "./net_builder.ts";

/** Options of {@linkcode buildFusionTop}. */
export interface FusionTopOptions {
  /** Uniform source in [0, 1) (seeded for reproducible weights). */
  random: () => number;
  /** Width of the fused cut tensor (sum of the parties' widths for concat, their common width for sum). */
  width: number;
  /** Hidden width (default 32). */
  hidden?: number;
}

/** The graph input's name. */
export const FUSED_INPUT = "fused";

/**
 * Builds the top of a vertical split network.
 *
 * @throws {RangeError} for a width or hidden size that is not a positive integer
 * @example
 * ```ts
 * import { buildFusionTop } from "./fusion_top.ts";
 * buildFusionTop({ random: Math.random, width: 8 }).cuts.ushaped; // ["top/relu1"]
 * ```
 */
export function buildFusionTop(
  opts: FusionTopOptions,
): { model: Model; cuts: { ushaped: string[] } } {
  const hidden = opts.hidden ?? 32;
  for (const [k, v] of [["width", opts.width], ["hidden", hidden]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`fusion top: ${k} must be a positive integer, got ${v}`);
    }
  }
  const b = new NetBuilder("splitgate_fusion_top", opts.random);
  const x = b.input(FUSED_INPUT, "float32", ["N", opts.width]);
  const z = b.relu(b.linear(x, opts.width, hidden, "top.fc1"), "top/relu1");
  const logits = b.linear(z, hidden, 1, "top.fc2");
  return { model: b.finish(logits, "logits", ["N", 1]), cuts: { ushaped: [z] } };
}
