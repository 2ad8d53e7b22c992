/**
 * Shape rules of the ops that rescale spatial axes: DepthToSpace and SpaceToDepth (move
 * blocks between channels and space), and Resize (ONNX operator spec: DepthToSpace-13,
 * SpaceToDepth-13, Resize-13).
 *
 * @example
 * ```ts
 * import { RESIZE_SHAPE_RULES } from "./resize.ts";
 * import { intAttr } from "../ir.ts";
 * const d2s = {
 *   name: "d", opType: "DepthToSpace", domain: "", inputs: ["x"], outputs: ["y"],
 *   attrs: { blocksize: intAttr(2) },
 * };
 * RESIZE_SHAPE_RULES.DepthToSpace(d2s, [{ dtype: "float32", shape: ["N", 8, 3, 3] }], { opset: 17 })[0]?.shape;
 * // ["N", 2, 6, 6]
 * ```
 * @module
 */
import { type Dim, getInt } from "../ir.ts";
import { dtypeOf, type ShapeRule } from "./rule.ts";

const mul = (d: Dim, f: number): Dim => (typeof d === "number" ? d * f : `${d}*${f}`);
const div = (d: Dim, f: number): Dim => (typeof d === "number" ? d / f : `${d}/${f}`);

/**
 * DepthToSpace: [N, C/b², H·b, W·b]; SpaceToDepth: [N, C·b², H/b, W/b] (b the
 * `blocksize`). A symbolic axis becomes a product or quotient by name.
 */
const blockRearrange: ShapeRule = (node, [x]) => {
  const b = getInt(node, "blocksize");
  const dt = dtypeOf(x), xs = x?.shape;
  if (!xs || xs.length !== 4) return [{ dtype: dt }];
  const [n, c, h, w] = xs;
  return [{
    dtype: dt,
    shape: node.opType === "DepthToSpace"
      ? [n, div(c, b * b), mul(h, b), mul(w, b)]
      : [n, mul(c, b * b), div(h, b), div(w, b)],
  }];
};

/**
 * Resize-13: each output axis is `sizes[i]` when sizes (input 3) is known, else
 * floor(input · scales[i]) when scales (input 2) is a known constant; a symbolic axis keeps
 * its name only at scale 1. Otherwise the shape is unknown.
 */
const resize: ShapeRule = (_node, inputs) => {
  const xs = inputs[0]?.shape;
  const sizes = inputs[3]?.value, scales = inputs[2]?.floats;
  let out: (Dim | undefined)[] | undefined;
  if (xs && sizes?.length === xs.length) out = [...sizes];
  else if (xs && scales?.length === xs.length) {
    out = xs.map((d, i) =>
      scales[i] === 1 ? d : typeof d === "number" ? Math.floor(d * scales[i]) : undefined
    );
  }
  return [{
    dtype: dtypeOf(inputs[0]),
    shape: out && out.every((d) => d !== undefined) ? (out as Dim[]) : undefined,
  }];
};

/** Shape rules of the ops that rescale spatial axes, by op type. */
export const RESIZE_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  DepthToSpace: blockRearrange,
  SpaceToDepth: blockRearrange,
  Resize: resize,
};
