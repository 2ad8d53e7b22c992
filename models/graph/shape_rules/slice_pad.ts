/**
 * Shape rules of the ops that crop or extend axes by per-axis amounts given as inputs:
 * Slice-13 and Pad-18 (ONNX operator spec). Slicing a tracked 1-D integer tensor also
 * slices its values (`Shape → Slice` picks a few dimensions).
 *
 * @example
 * ```ts
 * import { SLICE_PAD_SHAPE_RULES } from "./slice_pad.ts";
 * const pad = { name: "p", opType: "Pad", domain: "", inputs: ["x", "pads"], outputs: ["y"], attrs: {} };
 * SLICE_PAD_SHAPE_RULES.Pad(pad, [
 *   { dtype: "float32", shape: ["N", 3] },
 *   { dtype: "int64", shape: [4], value: [0, 1, 0, 1] },
 * ], { opset: 17 })[0]?.shape; // ["N", 5]
 * ```
 * @module
 */
import type { Dim, Node } from "../ir.ts";
import { normAxis } from "./dims.ts";
import { dtypeOf, type ShapeRule } from "./rule.ts";

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** The clamped [start, end) of one static axis of length `len` (Slice-13's rules). */
function sliceBounds(start: number, end: number, step: number, len: number): [number, number] {
  let s = start < 0 ? start + len : start;
  let e = end < 0 ? end + len : end;
  s = step > 0 ? clamp(s, 0, len) : clamp(s, 0, len - 1);
  e = step > 0 ? clamp(e, 0, len) : clamp(e, -1, len - 1);
  return [s, e];
}

/** The values at s, s + step, … before e. */
function sliceValues(value: Dim[], s: number, e: number, step: number): Dim[] {
  const v: Dim[] = [];
  for (let j = s; step > 0 ? j < e : j > e; j += step) v.push(value[j]);
  return v;
}

/**
 * Slice-13: starts, ends, axes and steps are inputs 1-4. Unknown starts or ends give every
 * axis a fresh name; a symbolic axis sliced whole ([0, INT_MAX), step 1) keeps its name,
 * any other slice of it gets a fresh one.
 */
const slice: ShapeRule = (node: Node, inputs) => {
  const x = inputs[0], xs = x?.shape, dt = dtypeOf(x);
  if (!xs) return [{ dtype: dt }];
  const starts = inputs[1]?.value as number[] | undefined,
    ends = inputs[2]?.value as number[] | undefined;
  const axes = (inputs[3]?.value as number[] | undefined) ?? starts?.map((_, i) => i);
  const steps = (inputs[4]?.value as number[] | undefined) ?? starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps) {
    return [{ dtype: dt, shape: xs.map((_, i) => `${node.outputs[0]}_d${i}`) }];
  }
  const out = [...xs];
  let value = x?.value;
  axes.forEach((a0, i) => {
    const a = normAxis(a0, xs.length);
    const len = xs[a];
    if (typeof len !== "number") {
      if (starts[i] === 0 && ends[i] >= 2 ** 31 - 1 && steps[i] === 1) return;
      out[a] = `${node.outputs[0]}_d${a}`;
      return;
    }
    const st = steps[i];
    const [s, e] = sliceBounds(starts[i], ends[i], st, len);
    out[a] = Math.max(0, Math.ceil((e - s) / st));
    if (value && xs.length === 1) value = sliceValues(value, s, e, st);
  });
  return [{ dtype: dt, shape: out, value: xs.length === 1 ? value : undefined }];
};

/**
 * Pad-18: axis i grows by pads[i] + pads[i + rank]; a symbolic axis keeps its name when
 * unpadded and becomes `"<name>+pad"` otherwise.
 */
const pad: ShapeRule = (_node, [x, padsIn]) => {
  const xs = x?.shape, dt = dtypeOf(x);
  const pads = padsIn?.value as number[] | undefined;
  if (!xs || !pads) return [{ dtype: dt }];
  const r = xs.length;
  return [{
    dtype: dt,
    shape: xs.map((d, i) =>
      typeof d === "number"
        ? d + pads[i] + pads[i + r]
        : pads[i] + pads[i + r] === 0
        ? d
        : `${d}+pad`
    ),
  }];
};

/** Shape rules of Slice and Pad, by op type. */
export const SLICE_PAD_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  Slice: slice,
  Pad: pad,
};
