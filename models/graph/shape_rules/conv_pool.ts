/**
 * Shape rules of the convolutions and pools over [N, C, spatial...] tensors (ONNX operator
 * spec: Conv-11, ConvTranspose-11, MaxPool-12, AveragePool-19, GlobalAveragePool-1,
 * GlobalMaxPool-1). Spatial axes must be static; `auto_pad` other than NOTSET or VALID is
 * refused, since the exporters splitgate reads write explicit pads.
 *
 * @example
 * ```ts
 * import { CONV_POOL_SHAPE_RULES } from "./conv_pool.ts";
 * import { intsAttr } from "../ir.ts";
 * const pool = {
 *   name: "p", opType: "MaxPool", domain: "", inputs: ["x"], outputs: ["y"],
 *   attrs: { kernel_shape: intsAttr([2, 2]), strides: intsAttr([2, 2]) },
 * };
 * CONV_POOL_SHAPE_RULES.MaxPool(pool, [{ dtype: "float32", shape: ["N", 4, 8, 8] }], { opset: 17 })[0]?.shape;
 * // ["N", 4, 4, 4]
 * ```
 * @module
 */
import { type Dim, getInt, getInts, getString, type Node } from "../ir.ts";
import { dtypeOf, type ShapeRule } from "./rule.ts";
import { ShapeError } from "./shape_error.ts";

/** The `auto_pad` attribute, refusing the SAME_* modes (their pads depend on the input). */
function checkAutoPad(node: Node): void {
  const autoPad = getString(node, "auto_pad", "NOTSET");
  if (autoPad !== "NOTSET" && autoPad !== "VALID") {
    throw new ShapeError(node, `auto_pad=${autoPad} is not supported; export with explicit pads`);
  }
}

/**
 * Conv, MaxPool and AveragePool: each spatial axis becomes
 * ⌊(len + pad_begin + pad_end − ((k − 1)·d + 1)) / s⌋ + 1 (⌈…⌉ with `ceil_mode`); the channel
 * axis is the weight's output channels for Conv (`"C"` when unknown), the input's for pools.
 * MaxPool's optional Indices output has the output's shape, int64.
 */
const windowed: ShapeRule = (node, [x, w]) => {
  const dt = dtypeOf(x), xs = x?.shape;
  if (!xs) return [{ dtype: dt }];
  const nsp = xs.length - 2;
  const ws = w?.shape;
  const k = node.opType === "Conv"
    ? getInts(node, "kernel_shape", ws ? (ws.slice(2) as number[]) : undefined)
    : getInts(node, "kernel_shape");
  const s = getInts(node, "strides", new Array(nsp).fill(1));
  const d = getInts(node, "dilations", new Array(nsp).fill(1));
  const p = getInts(node, "pads", new Array(2 * nsp).fill(0));
  checkAutoPad(node);
  const ceil = getInt(node, "ceil_mode", 0);
  const out: Dim[] = [xs[0], node.opType === "Conv" ? (ws ? ws[0] : "C") : xs[1]];
  for (let i = 0; i < nsp; i++) {
    const len = xs[2 + i];
    if (typeof len !== "number") {
      throw new ShapeError(node, `spatial dimension ${i} must be static`);
    }
    const eff = (k[i] - 1) * d[i] + 1;
    const v = (len + p[i] + p[i + nsp] - eff) / s[i];
    out.push((ceil ? Math.ceil(v) : Math.floor(v)) + 1);
  }
  const result = [{ dtype: dt, shape: out }];
  if (node.outputs[1]) result.push({ dtype: "int64", shape: out });
  return result;
};

/**
 * ConvTranspose-11: each spatial axis becomes
 * s·(len − 1) + output_padding + ((k − 1)·d + 1) − pad_begin − pad_end, with
 * weight[1]·group output channels.
 */
const convTranspose: ShapeRule = (node, [x, w]) => {
  const dt = dtypeOf(x), xs = x?.shape, ws = w?.shape;
  if (!xs || !ws) return [{ dtype: dt }];
  const nsp = xs.length - 2;
  const k = getInts(node, "kernel_shape", ws.slice(2) as number[]);
  const s = getInts(node, "strides", new Array(nsp).fill(1));
  const d = getInts(node, "dilations", new Array(nsp).fill(1));
  const p = getInts(node, "pads", new Array(2 * nsp).fill(0));
  const op = getInts(node, "output_padding", new Array(nsp).fill(0));
  const group = getInt(node, "group", 1);
  const out: Dim[] = [xs[0], (ws[1] as number) * group];
  for (let i = 0; i < nsp; i++) {
    const len = xs[2 + i] as number;
    out.push(s[i] * (len - 1) + op[i] + ((k[i] - 1) * d[i] + 1) - p[i] - p[i + nsp]);
  }
  return [{ dtype: dt, shape: out }];
};

/** GlobalAveragePool / GlobalMaxPool: every spatial axis becomes 1. */
const globalPool: ShapeRule = (_node, [x]) => {
  const xs = x?.shape;
  return [{ dtype: dtypeOf(x), shape: xs && [xs[0], xs[1], ...xs.slice(2).map(() => 1)] }];
};

/** Shape rules of the convolutions and pools, by op type. */
export const CONV_POOL_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  Conv: windowed,
  MaxPool: windowed,
  AveragePool: windowed,
  ConvTranspose: convTranspose,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
};
