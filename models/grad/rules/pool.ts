/**
 * Gradient rules for MaxPool, AveragePool and GlobalAveragePool (ONNX operator spec).
 *
 * MaxPool's gradient is written without the `Indices` output (the WebGPU provider of
 * onnxruntime refuses it): for each kernel offset o, the strided slice of the (−∞-padded)
 * input at o is compared with the pooled output; the first offset that matches in
 * row-major window order wins (PyTorch's tie rule), the gradient is gated by that mask,
 * and a grouped `ConvTranspose` with one-hot kernels scatters the K gated maps back to
 * their window positions, summing overlaps.
 *
 * AveragePool's gradient is a grouped `ConvTranspose` with a constant kernel, after dividing
 * dY by the number of cells each window averaged (K, or fewer at padded borders when
 * `count_include_pad` = 0).
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

/** Non-overlapping square 2-D windows (k × k, stride k, no dilation): the DepthToSpace cases. */
function squareTiles({ nsp, k, s, d }: PoolGeom): boolean {
  return nsp === 2 && k[0] === k[1] && k.every((ki, i) => ki === s[i] && d[i] === 1);
}

/**
 * The K = k² maps [N, C, out₀, out₁] of the input cell at each window offset (row-major),
 * for {@linkcode squareTiles} windows, without strided Slices: the covered input viewed as
 * [N·C·out₀, k, out₁, k] needs one Transpose that moves the last axis inwards
 * (→ [N·C·out₀, k, k, out₁]), after which each offset is a contiguous run of out₁ cells.
 * On onnxruntime's CPU and wasm providers this is 1.1-1.4× faster than K strided Slices
 * (bench/grad_subgraphs.ts), which copy element by element.
 */
function windowPlanes(ctx: GradContext, xp: string, geom: PoolGeom): string[] {
  const { k, sp, ys, c } = geom;
  const [kk, out0, out1] = [k[0], ys[2] as number, ys[3] as number];
  const covered = ctx.shape(xp).slice(2).some((v, i) => v !== [out0, out1][i] * kk)
    ? ctx.emit1("Slice", [xp, ctx.ints([0, 0]), ctx.ints([out0 * kk, out1 * kk]), ctx.ints(sp)])
    : xp;
  const tiles = ctx.emit1("Reshape", [covered, ctx.ints([-1, kk, out1, kk])]);
  const moved = ctx.emit1("Transpose", [tiles], { perm: intsAttr([0, 1, 3, 2]) });
  const planes = ctx.emit1("Reshape", [moved, ctx.ints([-1, c, out0, kk * kk, out1])]);
  return offsets(k).map((_, o) =>
    ctx.emit1("Reshape", [
      ctx.emit1("Slice", [planes, ctx.ints([o]), ctx.ints([o + 1]), ctx.ints([3])]),
      ctx.ints([-1, c, out0, out1]),
    ])
  );
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
  let full: string;
  if (squareTiles(geom)) {
    // Non-overlapping square 2-D windows: concatenating the K maps along the channel axis
    // puts window offset (i, j) of channel c at depth (i·k + j)·C + c, which is exactly the
    // input layout of DepthToSpace in DCR mode (ONNX operator spec, DepthToSpace-13). One
    // DepthToSpace replaces the 6-D Transpose below: it runs 1.3-1.4× faster on
    // onnxruntime's CPU provider (bench/grad_subgraphs.ts) and WebGPU has a kernel for it.
    full = ctx.emit1("DepthToSpace", [ctx.emit1("Concat", maps, { axis: intAttr(1) })], {
      blocksize: intAttr(k[0]),
      mode: { type: "string", value: "DCR" },
    });
    // Shape inference has no DepthToSpace case: record [N, C, out·k…] for later rules.
    ctx.facts.set(full, {
      dtype: ctx.dtype(maps[0]),
      shape: [ctx.shape(maps[0])[0], geom.c, ...outDims.map((o, i) => o * k[i])],
    });
    const tail = sp.map((_, i) => padded[i] - outDims[i] * k[i]);
    if (tail.some((t) => t > 0)) {
      full = ctx.emit1("Pad", [full, ctx.ints([0, 0, ...sp.map(() => 0), 0, 0, ...tail])]);
    }
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
    full = ctx.emit1("Reshape", [woven, ctx.ints([0, 0, ...outDims.map((o, i) => o * k[i])])]);
    const tail = sp.map((_, i) => padded[i] - outDims[i] * k[i]);
    if (tail.some((t) => t > 0)) {
      full = ctx.emit1("Pad", [full, ctx.ints([0, 0, ...sp.map(() => 0), 0, 0, ...tail])]);
    }
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
    full = ctx.accumulate(parts);
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
      const pos = ctx.emit1("Cast", [ctx.emit1("Greater", [y, zero])], { to: intAttr(dt === "float64" ? 11 : 1) });
      gy = ctx.emit1("Mul", [gy, pos]);
      ctx.applied.add(relu);
    }
    let taken: string | undefined;
    const gated: string[] = [];
    const slices = squareTiles(geom) ? windowPlanes(ctx, xp, geom) : offsets(k).map((o) => {
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
      gated.push(ctx.emit1("Mul", [gy, ctx.emit1("Cast", [mask], { to: intAttr(dt === "float64" ? 11 : 1) })]));
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
