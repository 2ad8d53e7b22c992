/**
 * Gradient rule for Conv (ONNX operator spec, 1-D/2-D/3-D, strides, pads, dilations,
 * groups), written with standard operators only:
 *
 * - dX is the transposed convolution of dY with the same weights (`ConvTranspose` with the
 *   forward strides, pads, dilations and group), with `output_padding` restoring the input
 *   size lost to the floor in the forward size formula.
 * - dW[o, i, k] = Σₙ,ₚ dY[n, o, p] · Xpad[n, i, p·s + k·d]: im2col, then matrix products.
 *   Kernels of 2 to 9 taps build per-sample columns with a one-hot Conv and sum a batched
 *   MatMul over the batch (`oneHotWeightGrad`). Other kernels take one strided Slice of the
 *   padded, channel-major input per kernel offset; the K slices stacked are the columns
 *   [Cᵢₙ/G · K, N·P] of each group, and dW is dY [Cₒᵤₜ/G, N·P] times their transpose (Gemm,
 *   or a batched MatMul over groups). Both replace a convolution over the batch axis (dY as
 *   an H×W kernel: many small GEMMs), 1.5-2× slower on onnxruntime's CPU and wasm providers
 *   for a 3×3 layer at batch 64 (bench/grad_subgraphs.ts).
 * - dB = Σ dY over batch and spatial axes.
 *
 * @example
 * ```ts
 * import { CONV_RULES } from "./conv.ts";
 * typeof CONV_RULES.Conv; // "function"
 * ```
 * @module
 */
import { type Dim, getInt, getInts, getString, intAttr, intsAttr } from "../../graph/ir.ts";
import { tensor } from "../../tensor.ts";
import type { GradRule } from "../rule.ts";
import { type GradContext, GradError } from "../context.ts";

/** All kernel offsets in row-major order (the order of a weight's trailing axes). */
function offsets(k: number[]): number[][] {
  let out: number[][] = [[]];
  for (const ki of k) out = out.flatMap((o) => [...Array(ki).keys()].map((j) => [...o, j]));
  return out;
}

/** What both dW formulations need of the forward Conv. */
interface WeightGradGeom {
  k: number[];
  s: number[];
  d: number[];
  p: number[];
  group: number;
  cinG: number;
  coutG: number;
  cout: number;
  inSp: number[];
  ys: Dim[];
  sp: number[];
}

/** Kernels of up to this many taps (3×3, or 1-D up to 9) build dW's columns by a one-hot Conv. */
const MAX_ONE_HOT_TAPS = 9;

/**
 * dW by per-sample columns: the input viewed as [N·Cᵢ, 1, …] goes through a Conv with K
 * one-hot kernels (tap o of channel o is 1, the rest 0) and the forward's strides, pads and
 * dilations, which lays out, for every sample, the K input cells each output position reads:
 * [N, G, Cᵢ/G·K, P]. dW is then Σₙ columnsₙ · dYₙᵀ, one batched MatMul against dY laid out
 * [N, G, P, Cₒ/G] and a ReduceSum over N. The one-hot products are exact (1·x, and 0·y = 0
 * for finite y), so this equals the Slice/Concat im2col; it moves far less data and is
 * 1.3-1.5× faster on onnxruntime's wasm provider and 1.4-1.7× on its CPU provider for
 * pneumonia_cnn's two 3×3 layers at batch 64 (bench/grad_subgraphs.ts). A K-tap one-hot Conv
 * costs K² multiply-adds per input cell, hence the {@linkcode MAX_ONE_HOT_TAPS} bound.
 */
function oneHotWeightGrad(ctx: GradContext, x: string, g: string, o: WeightGradGeom): string {
  const { k, group, cinG, coutG, cout, inSp, ys, sp } = o;
  const kk = k.reduce((a, v) => a * v, 1);
  const dt = ctx.dtype(x);
  const eye = new Float64Array(kk * kk);
  for (let i = 0; i < kk; i++) eye[i * kk + i] = 1;
  // A 2-D kernel runs as a 3-D Conv over a unit depth axis: onnxruntime's CPU provider
  // rewrites 2-D Convs to its blocked NCHWc layout, and reordering the K-channel output back
  // cost more than the Conv (3-D: 1.2× faster there, the same on wasm).
  const lift = k.length === 2 ? 1 : 0;
  const one = new Array(lift).fill(1), zero = new Array(lift).fill(0);
  const kDims = [kk, 1, ...one, ...k];
  const kernel = ctx.constant(
    dt === "float64"
      ? tensor("float64", kDims, eye)
      : tensor("float32", kDims, Float32Array.from(eye)),
    "im2col_one_hot",
  );
  const half = o.p.length / 2;
  const cols = ctx.emit1("Conv", [
    ctx.emit1("Reshape", [x, ctx.ints([-1, 1, ...one, ...inSp])]),
    kernel,
  ], {
    strides: intsAttr([...one, ...o.s]),
    pads: intsAttr([...zero, ...o.p.slice(0, half), ...zero, ...o.p.slice(half)]),
    dilations: intsAttr([...one, ...o.d]),
    kernel_shape: intsAttr([...one, ...k]),
  });
  const positions = sp.reduce((a, ax) => a * (ys[ax] as number), 1);
  const colsG = ctx.emit1("Reshape", [cols, ctx.ints([-1, group, cinG * kk, positions])]);
  const gT = ctx.emit1("Transpose", [
    ctx.emit1("Reshape", [g, ctx.ints([-1, group, coutG, positions])]),
  ], {
    perm: intsAttr([0, 1, 3, 2]),
  });
  const summed = ctx.reduceSum(ctx.emit1("MatMul", [colsG, gT]), [0], false); // [G, Cᵢ/G·K, Cₒ/G]
  const dwT = ctx.emit1("Transpose", [summed], { perm: intsAttr([0, 2, 1]) });
  return ctx.emit1("Reshape", [dwT, ctx.ints([cout, cinG, ...k])]);
}

/**
 * dW by im2col with strided Slices (kernels outside the one-hot range): one Slice of the
 * padded, channel-major input per kernel offset, stacked into the columns [G, Cᵢ/G·K, N·P],
 * then one GEMM (or a batched MatMul over groups).
 */
function sliceWeightGrad(ctx: GradContext, x: string, g: string, o: WeightGradGeom): string {
  const { k, s, d, p, group, cinG, coutG, cout, inSp, ys, sp } = o;
  const nsp = sp.length;
  // Xᵀ [G, Cᵢ/G, N, …] (channel-major, batch inside), zero-padded like the forward pass.
  const x5 = ctx.emit1("Reshape", [x, ctx.ints([0, group, cinG, ...inSp])]);
  let xt = ctx.emit1("Transpose", [x5], { perm: intsAttr([1, 2, 0, ...sp.map((a) => a + 1)]) });
  if (p.some((v) => v !== 0)) {
    xt = ctx.emit1("Pad", [
      xt,
      ctx.ints([0, 0, 0, ...p.slice(0, nsp), 0, 0, 0, ...p.slice(nsp)]),
    ]);
  }
  // im2col: for kernel offset o, the input cells every output position reads there are
  // one strided Slice (start o·d, step s); stacked on axis 2 they form the columns
  // [G, Cᵢ/G·K, N·P] (row i·K + o, matching W's [Cₒ, Cᵢ/G, k…] layout).
  const spT = sp.map((a) => a + 1);
  const steps = s.some((v) => v !== 1) ? [ctx.ints(s)] : [];
  const cols = offsets(k).map((o) => {
    const starts = o.map((oi, i) => oi * d[i]);
    const ends = starts.map((b0, i) => b0 + ((ys[sp[i]] as number) - 1) * s[i] + 1);
    const slice = ctx.emit1("Slice", [
      xt,
      ctx.ints(starts),
      ctx.ints(ends),
      ctx.ints(spT),
      ...steps,
    ]);
    return ctx.emit1("Unsqueeze", [slice, ctx.ints([2])]);
  });
  const stacked = cols.length === 1 ? cols[0] : ctx.emit1("Concat", cols, { axis: intAttr(2) });
  const kk = cols.length;
  if (group === 1) {
    // dW [Cₒ, Cᵢ·K] = dYᵀ [Cₒ, N·P] · columnsᵀ: one GEMM (ONNX Gemm with transB).
    const colsT = ctx.emit1("Reshape", [stacked, ctx.ints([cinG * kk, -1])]);
    const gt = ctx.emit1("Reshape", [
      ctx.emit1("Transpose", [g], { perm: intsAttr([1, 0, ...sp]) }),
      ctx.ints([cout, -1]),
    ]);
    const dw2 = ctx.emit1("Gemm", [gt, colsT], { transB: intAttr(1) });
    return ctx.emit1("Reshape", [dw2, ctx.ints([cout, cinG, ...k])]);
  }
  // One GEMM per group as a batched MatMul: columns [G, Cᵢ/G·K, N·P] times dY laid out
  // [G, N·P, Cₒ/G], then the small [G, Cᵢ/G·K, Cₒ/G] result transposed to W's layout.
  const colsG = ctx.emit1("Reshape", [stacked, ctx.ints([group, cinG * kk, -1])]);
  const g4 = ctx.emit1("Reshape", [g, ctx.ints([0, group, coutG, -1])]);
  const gT = ctx.emit1("Reshape", [
    ctx.emit1("Transpose", [g4], { perm: intsAttr([1, 0, 3, 2]) }),
    ctx.ints([group, -1, coutG]),
  ]);
  const prod = ctx.emit1("MatMul", [colsG, gT]);
  const dwT = ctx.emit1("Transpose", [prod], { perm: intsAttr([0, 2, 1]) });
  return ctx.emit1("Reshape", [dwT, ctx.ints([cout, cinG, ...k])]);
}

/** Rules by op type. */
export const CONV_RULES: Record<string, GradRule> = {
  Conv: (n, [g], ctx, needs) => {
    const [x, w, b] = n.inputs;
    const xs = ctx.shape(x, n), ws = ctx.shape(w, n), ys = ctx.shape(n.outputs[0], n);
    const nsp = xs.length - 2;
    const k = getInts(n, "kernel_shape", ws.slice(2) as number[]);
    const s = getInts(n, "strides", new Array(nsp).fill(1));
    const d = getInts(n, "dilations", new Array(nsp).fill(1));
    const p = getInts(n, "pads", new Array(2 * nsp).fill(0));
    const group = getInt(n, "group", 1);
    if (getString(n, "auto_pad", "NOTSET") !== "NOTSET") {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${
          JSON.stringify(n.name)
        } (Conv): auto_pad is not supported; export with explicit pads`,
      );
    }
    for (const dim of [...xs.slice(1), ...ws, ...ys.slice(2)]) {
      if (typeof dim !== "number") {
        throw new GradError(
          "UNKNOWN_SHAPE",
          `node ${
            JSON.stringify(n.name)
          } (Conv): channel and spatial sizes must be static, got input [${xs}] weight [${ws}]`,
        );
      }
    }
    const sp = [...Array(nsp).keys()].map((i) => i + 2);
    let dx: string | undefined, dw: string | undefined, db: string | undefined;
    if (needs[0]) {
      const outPad = sp.map((a, i) =>
        (xs[a] as number) -
        (((ys[a] as number) - 1) * s[i] - p[i] - p[i + nsp] + (k[i] - 1) * d[i] + 1)
      );
      dx = ctx.emit1("ConvTranspose", [g!, w], {
        strides: intsAttr(s),
        pads: intsAttr(p),
        dilations: intsAttr(d),
        group: intAttr(group),
        kernel_shape: intsAttr(k),
        output_padding: intsAttr(outPad),
      });
    }
    if (needs[1]) {
      const cin = xs[1] as number, cout = ws[0] as number;
      const cinG = cin / group, coutG = cout / group;
      const inSp = sp.map((a) => xs[a] as number);
      const geom: WeightGradGeom = { k, s, d, p, group, cinG, coutG, cout, inSp, ys, sp };
      const taps = k.reduce((a, v) => a * v, 1);
      dw = taps >= 2 && taps <= MAX_ONE_HOT_TAPS
        ? oneHotWeightGrad(ctx, x, g!, geom)
        : sliceWeightGrad(ctx, x, g!, geom);
    }
    if (b && needs[2]) db = ctx.reduceSum(g!, [0, ...sp], false);
    return [dx, dw, db];
  },
};
