/**
 * The shape of a gradient rule: given a forward node and the gradients flowing into its
 * outputs, emit backward nodes into the context and return the gradient of each input
 * (`undefined` where an input needs none or has none).
 *
 * @example
 * ```ts
 * import type { GradRule } from "./rule.ts";
 * const neg: GradRule = (_node, [gy], ctx) => [ctx.emit1("Neg", [gy!])];
 * ```
 * @module
 */
import type { Node } from "../graph/ir.ts";
import type { GradContext } from "./context.ts";

/**
 * A reverse-mode rule for one operator.
 *
 * @param node the forward node
 * @param gy gradient tensor name per output; `undefined` where that output gets none
 * @param ctx where backward nodes are emitted
 * @param needs per input: whether its gradient is wanted (saves work for constants)
 */
export type GradRule = (
  node: Node,
  gy: (string | undefined)[],
  ctx: GradContext,
  needs: boolean[],
) => (string | undefined)[];
