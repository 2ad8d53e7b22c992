/**
 * Shape rules of the ops that rearrange axes without touching elements: Flatten-13,
 * Reshape-14, Transpose-13, Unsqueeze-13 and Squeeze-13 (ONNX operator spec; before opset 13
 * Unsqueeze and Squeeze take `axes` as an attribute). Reshape resolves its `-1` axis even
 * through a symbolic batch (`N*16` back to `N`), and the axis ops carry tracked values.
 *
 * @example
 * ```ts
 * import { RESHAPE_SHAPE_RULES } from "./reshape.ts";
 * const flat = { name: "f", opType: "Flatten", domain: "", inputs: ["x"], outputs: ["y"], attrs: {} };
 * RESHAPE_SHAPE_RULES.Flatten(flat, [{ dtype: "float32", shape: ["N", 4, 3, 3] }], { opset: 17 })[0]?.shape;
 * // ["N", 36]
 * ```
 * @module
 */
import { type Dim, getInt, getInts } from "../ir.ts";
import { normAxis, product } from "./dims.ts";
import { dtypeOf, type ShapeRule } from "./rule.ts";

/** Flatten-13: [product of axes before `axis`, product of the rest]. */
const flatten: ShapeRule = (node, [x]) => {
  const xs = x?.shape, dt = dtypeOf(x);
  if (!xs) return [{ dtype: dt }];
  const axis = normAxis(getInt(node, "axis", 1), xs.length);
  return [{ dtype: dt, shape: [product(xs.slice(0, axis)), product(xs.slice(axis))] }];
};

/** A product of dimensions as its symbolic factors and its numeric part ("N*2" → N, 2). */
function factors(dims: Dim[]): { sym: string[]; num: number } {
  const sym: string[] = [];
  let num = 1;
  for (const d of dims) {
    if (typeof d === "number") num *= d;
    else for (const f of d.split("*")) /^\d+$/.test(f) ? (num *= Number(f)) : sym.push(f);
  }
  return { sym, num };
}

/**
 * The size of Reshape's `-1` axis: the input's element count over the other axes'. With
 * symbolic dimensions, cancel symbolic factors (N*k / k' → N*(k/k')) when the numeric parts
 * divide; otherwise a fresh name (`<output>_d<axis>`) rather than a wrong size.
 */
function minusOneAxis(xs: Dim[], known: Dim[], freshName: string): Dim {
  const total = product(xs), part = product(known);
  if (typeof total === "number" && typeof part === "number") return total / part;
  const t = factors(xs), p = factors(known);
  const rest = [...t.sym];
  const cancels = p.sym.every((f) => {
    const i = rest.indexOf(f);
    return i >= 0 && rest.splice(i, 1).length === 1;
  });
  return cancels && t.num % p.num === 0 ? product([...rest, t.num / p.num]) : freshName;
}

/**
 * Reshape-14: the tracked target shape (input 1), a 0 copying the input's axis unless
 * `allowzero`, and one `-1` inferred. A 1-D target keeps the input's tracked values.
 */
const reshape: ShapeRule = (node, [x, targetIn]) => {
  const target = targetIn?.value, xs = x?.shape, dt = dtypeOf(x);
  if (!target || !xs) return [{ dtype: dt }];
  const allowZero = getInt(node, "allowzero", 0);
  const out: Dim[] = target.map((t, i) => (t === 0 && !allowZero ? xs[i] : t));
  const neg = out.findIndex((t) => t === -1);
  if (neg >= 0) {
    const known = out.filter((_, i) => i !== neg);
    out[neg] = minusOneAxis(xs, known, `${node.outputs[0]}_d${neg}`);
  }
  return [{
    dtype: dt,
    shape: out,
    value: x?.value && target.length === 1 ? x.value : undefined,
  }];
};

/** Transpose-13: axes in `perm` order (reversed by default). */
const transpose: ShapeRule = (node, [x]) => {
  const xs = x?.shape, dt = dtypeOf(x);
  if (!xs) return [{ dtype: dt }];
  const perm = getInts(node, "perm", xs.map((_, i) => xs.length - 1 - i));
  return [{ dtype: dt, shape: perm.map((p) => xs[p]) }];
};

/** Unsqueeze: a 1 inserted at each of `axes` (input 1 from opset 13, else the attribute). */
const unsqueeze: ShapeRule = (node, [x, axesIn], { opset }) => {
  const axes = opset >= 13 ? (axesIn?.value as number[] | undefined) : getInts(node, "axes");
  const xs = x?.shape, dt = dtypeOf(x);
  if (!xs || !axes) return [{ dtype: dt }];
  const r = xs.length + axes.length;
  const ax = axes.map((a) => normAxis(a, r));
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(ax.includes(i) ? 1 : xs[j++]);
  return [{ dtype: dt, shape: out, value: x?.value }];
};

/** Squeeze: the listed `axes` removed, or every axis of size 1 when none are listed. */
const squeeze: ShapeRule = (node, [x, axesIn], { opset }) => {
  const xs = x?.shape, dt = dtypeOf(x);
  if (!xs) return [{ dtype: dt }];
  const axes = (opset >= 13 ? axesIn?.value as number[] | undefined : getInts(node, "axes", [])) ??
    [];
  const ax = axes.length
    ? axes.map((a) => normAxis(a, xs.length))
    : xs.flatMap((d, i) => (d === 1 ? [i] : []));
  return [{ dtype: dt, shape: xs.filter((_, i) => !ax.includes(i)), value: x?.value }];
};

/** Shape rules of the axis-rearranging ops, by op type. */
export const RESHAPE_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
};
