/**
 * Gradient rules for MaxPool, AveragePool and GlobalAveragePool (ONNX operator spec).
 *
 * MaxPool's gradient is written without the `Indices` output (the WebGPU provider of
 * onnxruntime refuses it). The gradient of a window goes to its first maximum in row-major
 * window order (PyTorch's tie rule):
 * - non-overlapping square windows (k × k, stride k: the usual 2 × 2 pool) mark each window's
 *   first maximum with offset priorities and a second MaxPool, at the input's resolution,
 *   and bring the pooled tensors up with nearest `Resize` (see `tiledMaxPoolGrad`);
 * - other windows compare the strided slice of the (−∞-padded) input at each kernel offset
 *   with the pooled output, chain the masks so that the first matching offset wins, and
 *   place the K gated maps back at their window positions with Reshape/Transpose/Pad/Slice,
 *   summing overlaps.
 *
 * AveragePool's gradient divides dY by the number of cells each window averaged (K, or fewer
 * at padded borders when `count_include_pad` = 0) and spreads it over the window the same
 * way: one nearest `Resize` for non-overlapping square windows.
 *
 * @example
 * ```ts
 * import { POOL_RULES } from "./pool.ts";
 * Object.keys(POOL_RULES); // ["MaxPool", "AveragePool", "GlobalAveragePool"]
 * ```
 * @module
 */
import {
  type Dim,
  floatAttr,
  getInt,
  getInts,
  getString,
  intAttr,
  intsAttr,
  type Node,
} from "../../graph/ir.ts";
import { tensor } from "../../tensor.ts";
import type { GradRule } from "../rule.ts";
import { type GradContext, GradError } from "../context.ts";

interface PoolGeom {
  xs: Dim[];
  ys: Dim[];
  c: number;
  nsp: number;
  k: number[];
  s: number[];
  d: number[];
  p: number[];
  sp: number[];
}

function geometry(n: Node, ctx: GradContext): PoolGeom {
  const xs = ctx.shape(n.inputs[0], n), ys = ctx.shape(n.outputs[0], n);
  const nsp = xs.length - 2;
  if (getString(n, "auto_pad", "NOTSET") !== "NOTSET") {
    throw new GradError(
      "UNSUPPORTED_ATTR",
      `node ${
        JSON.stringify(n.name)
      } (${n.opType}): auto_pad is not supported; export with explicit pads`,
    );
  }
  for (const dim of [...xs.slice(1), ...ys.slice(2)]) {
    if (typeof dim !== "number") {
      throw new GradError(
        "UNKNOWN_SHAPE",
        `node ${
          JSON.stringify(n.name)
        } (${n.opType}): channel and spatial sizes must be static, got [${xs}]`,
      );
    }
  }
  const k = getInts(n, "kernel_shape");
  const s = getInts(n, "strides", new Array(nsp).fill(1));
  const d = getInts(n, "dilations", new Array(nsp).fill(1));
  const p = getInts(n, "pads", new Array(2 * nsp).fill(0));
  const sp = [...Array(nsp).keys()].map((i) => i + 2);
  if (getInt(n, "ceil_mode", 0)) {
    // With ceil_mode a last window may hang past the padded input; accept only when it does not.
    sp.forEach((a, i) => {
      const covered = ((ys[a] as number) - 1) * s[i] + (k[i] - 1) * d[i] + 1;
      if (covered > (xs[a] as number) + p[i] + p[i + nsp]) {
        throw new GradError(
          "UNSUPPORTED_ATTR",
          `node ${
            JSON.stringify(n.name)
          } (${n.opType}): ceil_mode windows past the input are not supported`,
        );
      }
    });
  }
  return { xs, ys, c: xs[1] as number, nsp, k, s, d, p, sp };
}

/** All kernel offsets in row-major order. */
function offsets(k: number[]): number[][] {
  let out: number[][] = [[]];
  for (const ki of k) out = out.flatMap((o) => [...Array(ki).keys()].map((j) => [...o, j]));
  return out;
}

/** Non-overlapping square 2-D windows (k × k, stride k, no dilation): the upsampling cases. */
function squareTiles({ nsp, k, s, d }: PoolGeom): boolean {
  return nsp === 2 && k[0] === k[1] && k.every((ki, i) => ki === s[i] && d[i] === 1);
}

/**
 * Nearest-neighbour upsampling of [N, C, h, w] by k on both spatial axes (every cell
 * repeated k × k times): `Resize` with integer scales, `asymmetric` coordinates and `floor`
 * rounding, which maps output cell i to input cell ⌊i / k⌋ exactly (ONNX operator spec,
 * Resize-13). The returned function emits one Resize per call; they share one scales constant.
 */
function upsampler(ctx: GradContext, k: number): (t: string) => string {
  const scales = ctx.constant(tensor("float32", [4], Float32Array.of(1, 1, k, k)), "scales");
  return (t) =>
    ctx.emit1("Resize", [t, "", scales], {
      mode: { type: "string", value: "nearest" },
      coordinate_transformation_mode: { type: "string", value: "asymmetric" },
      nearest_mode: { type: "string", value: "floor" },
    });
}

/**
 * From the gradient of the region the windows cover (from the padded input's origin) to the
 * input's shape: zeros for the cells past the last window, then the padding cut off.
 */
function placeCovered(ctx: GradContext, covered: string, geom: PoolGeom): string {
  const { p, sp, xs, nsp } = geom;
  const padded = sp.map((a, i) => (xs[a] as number) + p[i] + p[i + nsp]);
  const tail = sp.map((a, i) => padded[i] - (ctx.shape(covered)[a] as number));
  let full = covered;
  if (tail.some((t) => t > 0)) {
    full = ctx.emit1("Pad", [full, ctx.ints([0, 0, ...sp.map(() => 0), 0, 0, ...tail])]);
  }
  if (p.some((v) => v !== 0)) {
    full = ctx.emit1("Slice", [
      full,
      ctx.ints(p.slice(0, nsp)),
      ctx.ints(sp.map((a, i) => p[i] + (xs[a] as number))),
      ctx.ints(sp),
    ]);
  }
  return full;
}

/**
 * MaxPool's gradient for {@linkcode squareTiles} windows, at the input's resolution and
 * without gathering or scattering window planes. Each window offset o (row-major, K = k²
 * offsets) gets the priority 2^(K−1−o); a cell that equals its window's maximum takes its
 * offset's priority, any other cell 0. A MaxPool over those priorities then finds, per
 * window, the priority of the *first* maximum (PyTorch's tie rule), and the gradient of the
 * window goes to the one cell whose priority equals it. The pooled tensors (y, the window
 * priority, dY) reach the input's resolution by `Resize` (nearest, 2× integer scales;
 * ONNX operator spec, Resize-13/18), so every elementwise op runs on equal shapes.
 *
 * Against gathering the K window planes, chaining K Equal/And/Or masks and scattering with
 * DepthToSpace, this is 1.4× faster on onnxruntime's CPU provider and 1.2-1.3× on wasm
 * (`bench/grad_subgraphs.ts`, MaxPool 2×2 gradients of pneumonia_cnn at batch 64), and it
 * uses only ops that the WebGPU provider runs. Priorities are exact in float32 up to
 * K = 24 (2^23), far beyond any pooling window in use; larger K takes the general path.
 */
function tiledMaxPoolGrad(ctx: GradContext, xp: string, y: string, gy: string, geom: PoolGeom): string {
  const { k, sp, ys } = geom;
  const kk = k[0];
  const [out0, out1] = [ys[2] as number, ys[3] as number];
  const dt = ctx.dtype(y);
  const covered = ctx.shape(xp).slice(2).some((v, i) => v !== [out0, out1][i] * kk)
    ? ctx.emit1("Slice", [xp, ctx.ints([0, 0]), ctx.ints([out0 * kk, out1 * kk]), ctx.ints(sp)])
    : xp;
  // Every tensor is viewed as [N·C, 1, H, W]: on one channel onnxruntime's CPU provider does
  // not rewrite MaxPool and Resize to its blocked NCHWc layout, whose reorders cost more here
  // than the ops themselves.
  const c = ctx.shape(y)[1];
  const flat = (t: string, h: number, w: number) => ctx.emit1("Reshape", [t, ctx.ints([-1, 1, h, w])]);
  const upsample = upsampler(ctx, kk);
  const up = (t: string) => upsample(flat(t, out0, out1));
  const kTotal = kk * kk;
  const prio = new Float32Array(out0 * kk * out1 * kk);
  for (let i = 0; i < out0 * kk; i++) {
    for (let j = 0; j < out1 * kk; j++) prio[i * out1 * kk + j] = 2 ** (kTotal - 1 - (i % kk) * kk - (j % kk));
  }
  const prioT = ctx.constant(
    dt === "float64"
      ? tensor("float64", [1, 1, out0 * kk, out1 * kk], Float64Array.from(prio))
      : tensor("float32", [1, 1, out0 * kk, out1 * kk], prio),
    "pool_priority",
  );
  // mask · value as Mul(Cast(mask), value) rather than Where(mask, value, 0): the same values
  // for finite values, and 1.2× faster for this rule on onnxruntime's CPU provider.
  const gate = (mask: string, value: string) =>
    ctx.emit1("Mul", [ctx.cast(mask, dt), value]);
  const s = gate(ctx.emit1("Equal", [flat(covered, out0 * kk, out1 * kk), up(y)]), prioT);
  const first = ctx.emit1("MaxPool", [s], { kernel_shape: intsAttr(k), strides: intsAttr(k) });
  // A window without a matching cell (a NaN in x) has first = 0, which must match nothing:
  // the floor 0.5 lies below every priority and above the non-matching cells' 0.
  const floored = ctx.emit1("Max", [first, ctx.scalar(0.5, dt)]);
  const gx = gate(ctx.emit1("Equal", [s, upsample(floored)]), up(gy));
  return ctx.emit1("Reshape", [gx, ctx.ints([-1, c as number, out0 * kk, out1 * kk])]);
}

/**
 * Adds each window cell's gradient map back at its position: `maps[o]` ([N, C, out…]) holds
 * the gradient of kernel offset `o` (row-major) for every window; the result has the
 * input's shape. Written with Reshape/Transpose/Pad/Slice only, which every engine runs
 * alike (onnxruntime's WebGPU ConvTranspose with groups gave wrong results here).
 */
function scatterWindows(ctx: GradContext, maps: string[], geom: PoolGeom): string {
  const { k, s, d, p, sp, xs, ys, nsp } = geom;
  const outDims = sp.map((a) => ys[a] as number);
  const padded = sp.map((a, i) => (xs[a] as number) + p[i] + p[i + nsp]);
  if (squareTiles(geom) && maps.every((m) => m === maps[0])) {
    // Every window cell gets the same value (AveragePool): one nearest upsampling.
    return placeCovered(ctx, upsampler(ctx, k[0])(maps[0]), geom);
  } else if (k.every((ki, i) => ki === s[i] && d[i] === 1)) {
    // Non-overlapping windows: interleave the K maps into the window grid in one go.
    // [N, C, K, out…] → [N, C, k…, out…] → [N, C, out₀, k₀, out₁, k₁, …] → [N, C, out·k…]
    const stacked = ctx.emit1(
      "Concat",
      maps.map((m) => ctx.emit1("Unsqueeze", [m, ctx.ints([2])])),
      {
        axis: intAttr(2),
      },
    );
    const split = ctx.emit1("Reshape", [stacked, ctx.ints([0, 0, ...k, ...outDims])]);
    const perm = [0, 1, ...sp.flatMap((_, i) => [2 + nsp + i, 2 + i])];
    const woven = ctx.emit1("Transpose", [split], { perm: intsAttr(perm) });
    return placeCovered(
      ctx,
      ctx.emit1("Reshape", [woven, ctx.ints([0, 0, ...outDims.map((o, i) => o * k[i])])]),
      geom,
    );
  } else {
    // Overlapping or dilated windows: place each offset's map on a stride-s grid (zero
    // insertion by reshape + pad), shift it to its offset, and sum.
    const parts = offsets(k).map((o, j) => {
      const up = ctx.emit1("Unsqueeze", [maps[j], ctx.ints(sp.map((_, i) => 3 + 2 * i))]);
      const r = 2 + 2 * nsp;
      const pads = new Array(2 * r).fill(0);
      sp.forEach((_, i) => (pads[r + 3 + 2 * i] = s[i] - 1));
      const grid = ctx.emit1("Reshape", [
        ctx.emit1("Pad", [up, ctx.ints(pads)]),
        ctx.ints([0, 0, ...outDims.map((od, i) => od * s[i])]),
      ]);
      const begin = o.map((oi, i) => oi * d[i]);
      const end = sp.map((_, i) => Math.max(0, padded[i] - begin[i] - outDims[i] * s[i]));
      const shifted = ctx.emit1("Pad", [grid, ctx.ints([0, 0, ...begin, 0, 0, ...end])]);
      return ctx.emit1("Slice", [
        shifted,
        ctx.ints(sp.map(() => 0)),
        ctx.ints(padded),
        ctx.ints(sp),
      ]);
    });
    return placeCovered(ctx, ctx.accumulate(parts), geom);
  }
}

/** Rules by op type. */
export const POOL_RULES: Record<string, GradRule> = {
  MaxPool: (n, [g], ctx) => {
    if (n.outputs[1]) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${
          JSON.stringify(n.name)
        } (MaxPool): the Indices output is not supported in training graphs`,
      );
    }
    if (getInt(n, "storage_order", 0) !== 0) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `node ${JSON.stringify(n.name)} (MaxPool): storage_order=1 is not supported`,
      );
    }
    const geom = geometry(n, ctx);
    const { k, s, d, p, sp, ys, nsp } = geom;
    const x = n.inputs[0], y = n.outputs[0];
    const dt = ctx.dtype(x);
    let xp = x;
    if (p.some((v) => v !== 0)) {
      const pads = [0, 0, ...p.slice(0, nsp), 0, 0, ...p.slice(nsp)];
      xp = ctx.emit1("Pad", [x, ctx.ints(pads), ctx.scalar(-Infinity, dt)], {
        mode: { type: "string", value: "constant" },
      });
    }
    const zero = ctx.scalar(0, dt);
    // MaxPool(Relu(z)): the gradient reaches only each window's first maximum, where the
    // Relu's output equals the pooled output y; so the Relu's gate [r > 0] equals [y > 0]
    // there, and it is applied once here at the pooled size (k times fewer elements)
    // instead of by the Relu's rule on the full map. Exact, ties included: a window of
    // zeros has y = 0 and passes nothing either way.
    let gy = g!;
    const relu = ctx.soleProducer(x, "Relu", n);
    if (relu) {
      const pos = ctx.cast(ctx.emit1("Greater", [y, zero]), dt);
      gy = ctx.emit1("Mul", [gy, pos]);
      ctx.applied.add(relu);
    }
    if (squareTiles(geom) && k[0] * k[0] <= 24) {
      return [placeCovered(ctx, tiledMaxPoolGrad(ctx, xp, y, gy, geom), geom)];
    }
    let taken: string | undefined;
    const gated: string[] = [];
    const slices = offsets(k).map((o) => {
      // The input cell at offset o of every window: one strided Slice.
      const starts = o.map((oi, i) => oi * d[i]);
      const ends = o.map((oi, i) => oi * d[i] + ((ys[sp[i]] as number) - 1) * s[i] + 1);
      return ctx.emit1("Slice", [xp, ctx.ints(starts), ctx.ints(ends), ctx.ints(sp), ctx.ints(s)]);
    });
    for (const slice of slices) {
      const eq = ctx.emit1("Equal", [slice, y]);
      let mask = eq;
      if (taken) {
        mask = ctx.emit1("And", [eq, ctx.emit1("Not", [taken])]);
        taken = ctx.emit1("Or", [taken, eq]);
      } else taken = eq;
      // gy · Cast(mask) rather than Where(mask, gy, 0): the same values for finite gy, and
      // faster on onnxruntime's CPU and wasm providers (as for Relu's gradient).
      gated.push(ctx.emit1("Mul", [gy, ctx.cast(mask, dt)]));
    }
    return [scatterWindows(ctx, gated, geom)];
  },
  AveragePool: (n, [g], ctx) => {
    const geom = geometry(n, ctx);
    const { k, s, d, p, sp, xs } = geom;
    const kk = k.reduce((a, b) => a * b, 1);
    const dt = ctx.dtype(g!);
    let scaled: string;
    if (getInt(n, "count_include_pad", 0) || p.every((v) => v === 0)) {
      scaled = ctx.emit1("Mul", [g!, ctx.scalar(1 / kk, dt)]);
    } else {
      // Cells per window: a convolution of a ones image with a ones kernel, same geometry.
      const ones = ctx.constant(
        tensor("float32", [
          1,
          1,
          ...sp.map((a) => xs[a] as number),
        ], new Float32Array(sp.reduce((a, ax) => a * (xs[ax] as number), 1)).fill(1)),
        "ones",
      );
      const kern = ctx.constant(
        tensor("float32", [1, 1, ...k], new Float32Array(kk).fill(1)),
        "ones_kernel",
      );
      const cnt = ctx.emit1("Conv", [ones, kern], {
        strides: intsAttr(s),
        dilations: intsAttr(d),
        pads: intsAttr(p),
      });
      scaled = ctx.emit1("Div", [g!, cnt]);
    }
    return [scatterWindows(ctx, new Array(kk).fill(scaled), geom)];
  },
  GlobalAveragePool: (n, [g], ctx) => {
    const xs = ctx.shape(n.inputs[0], n);
    const spatial = xs.slice(2);
    if (spatial.some((v) => typeof v !== "number")) {
      throw new GradError(
        "UNKNOWN_SHAPE",
        `node ${JSON.stringify(n.name)} (GlobalAveragePool): spatial sizes must be static`,
      );
    }
    const count = (spatial as number[]).reduce((a, b) => a * b, 1);
    const e = ctx.emit1("Expand", [g!, ctx.emit1("Shape", [n.inputs[0]])]);
    return [ctx.emit1("Mul", [e, ctx.scalar(1 / count, ctx.dtype(g!))])];
  },
};
void floatAttr;
