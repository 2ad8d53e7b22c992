/**
 * Gradients as graphs: reverse-mode differentiation over the graph IR, one rule per ONNX
 * op family (`rules/`), and the losses appended before differentiating. The backward pass
 * is built from ordinary `ai.onnx` operators, so it runs on every engine
 * (see docs/design/training_graphs.md).
 *
 * @example
 * ```ts
 * import { GRAD_RULES, NON_DIFFERENTIABLE } from "./mod.ts";
 * console.log(GRAD_RULES.has("Conv"), NON_DIFFERENTIABLE.has("Shape")); // true true
 * ```
 * @module
 */
export { GradContext } from "./context.ts";
export { GRAD_ERROR_CODES, GradError, type GradErrorCode, isGradErrorCode } from "./grad_error.ts";
export { appendLoss, type LossKind, type LossNodes, targetInfo } from "./loss.ts";
export { differentiate, type Differentiated, type DifferentiateRequest } from "./reverse.ts";
export type { GradRule } from "./rule.ts";
export { GRAD_RULES, NON_DIFFERENTIABLE } from "./rules/mod.ts";
