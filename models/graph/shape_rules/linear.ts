/**
 * Shape rules of the matrix products: Gemm (2-D, optional transposes) and MatMul (numpy
 * `matmul` semantics: 1-D operands promoted and the added axis removed, batch axes
 * broadcast), per the ONNX operator spec (Gemm-13, MatMul-13).
 *
 * @example
 * ```ts
 * import { LINEAR_SHAPE_RULES } from "./linear.ts";
 * const mm = { name: "m", opType: "MatMul", domain: "", inputs: ["a", "b"], outputs: ["y"], attrs: {} };
 * LINEAR_SHAPE_RULES.MatMul(mm, [
 *   { dtype: "float32", shape: ["N", 4] },
 *   { dtype: "float32", shape: [4, 2] },
 * ], { opset: 17 })[0]?.shape; // ["N", 2]
 * ```
 * @module
 */
import { getInt } from "../ir.ts";
import { broadcastShapes } from "./dims.ts";
import { dtypeOf, type ShapeRule } from "./rule.ts";

/** Gemm-13: [M, N] from A [M, K] (or [K, M] with transA) and B [K, N] (or [N, K]). */
const gemm: ShapeRule = (node, [a, b]) => {
  const as = a?.shape, bs = b?.shape;
  const ta = getInt(node, "transA", 0), tb = getInt(node, "transB", 0);
  return [{
    dtype: dtypeOf(a),
    shape: as && bs ? [ta ? as[1] : as[0], tb ? bs[0] : bs[1]] : undefined,
  }];
};

/** MatMul-13: [...batch, M, N]; a 1-D A loses the M axis and a 1-D B the N axis. */
const matMul: ShapeRule = (_node, [a, b]) => {
  const as = a?.shape, bs = b?.shape;
  if (!as || !bs) return [{ dtype: dtypeOf(a) }];
  const a2 = as.length === 1 ? [1, as[0]] : as, b2 = bs.length === 1 ? [bs[0], 1] : bs;
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
  const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (as.length === 1) out.splice(out.length - 2, 1);
  if (bs.length === 1) out.splice(out.length - 1, 1);
  return [{ dtype: dtypeOf(a), shape: out }];
};

/** Shape rules of the matrix products, by op type. */
export const LINEAR_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  Gemm: gemm,
  MatMul: matMul,
};
