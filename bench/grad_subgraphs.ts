/**
 * Sub-graph benchmark of gradient formulations: the backward pieces that dominate a
 * training step of `pneumonia_cnn.onnx` at batch 64 (MaxPool 2×2 gradient, Conv weight
 * gradient, ReLU gradient), each written several ways with standard `ai.onnx` operators
 * (opset 17), timed on the `native` and `wasm` engines and checked against a JavaScript
 * reference (MaxPool: exact, PyTorch's first-maximum tie rule; Conv: relative error).
 *
 * Variants run in `--rounds` interleaved rounds (each round times every variant once, with
 * `--iters` runs after 2 warm-up runs), so load from other work on the machine falls on all
 * of them alike; the table shows each variant's best and median per-round median.
 * It never passes or fails on time.
 *
 * Run: `npx -y deno@2.9.6 run -A --unstable-webgpu bench/grad_subgraphs.ts [--engines native,wasm]
 * [--rounds 5] [--iters 15] [--only maxpool,conv,relu]`
 *
 * @example
 * ```ts
 * // deno run -A bench/grad_subgraphs.ts --engines native --rounds 3   (prints a table)
 * ```
 * @module
 */

import type { Attr, Graph, Model, Node } from "../models/graph/ir.ts";
import { writeModel } from "../models/onnx/write_model.ts";
import { type Tensor, tensor } from "../models/tensor.ts";
import { createEngine, type EngineName, type Session } from "../runtime/engine/mod.ts";
import { Rng } from "../runtime/data/rng.ts";

const ints = (v: number[]): Attr => ({ type: "ints", value: v });
const int = (v: number): Attr => ({ type: "int", value: v });
const str = (v: string): Attr => ({ type: "string", value: v });

/** A minimal graph builder (the rules' GradContext needs forward facts; this does not). */
class Builder {
  readonly nodes: Node[] = [];
  readonly inits = new Map<string, Tensor>();
  #k = 0;
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const o = `t${this.#k++}`;
    this.nodes.push({ name: o, opType, domain: "", inputs, outputs: [o], attrs });
    return o;
  }
  ints(v: number[]): string {
    const n = `c${this.#k++}`;
    this.inits.set(n, tensor("int64", [v.length], BigInt64Array.from(v.map(BigInt))));
    return n;
  }
  i64(dims: number[], v: number[]): string {
    const n = `c${this.#k++}`;
    this.inits.set(n, tensor("int64", dims, BigInt64Array.from(v.map(BigInt))));
    return n;
  }
  f32(dims: number[], v: number[]): string {
    const n = `c${this.#k++}`;
    this.inits.set(n, tensor("float32", dims, Float32Array.from(v)));
    return n;
  }
  model(inputs: [string, number[]][], out: string): Uint8Array {
    const graph: Graph = {
      name: "g",
      nodes: this.nodes,
      inputs: inputs.map(([name, shape]) => ({ name, dtype: "float32", shape })),
      outputs: [{ name: out, dtype: "float32" }],
      initializers: this.inits,
      valueInfo: new Map(),
    };
    const m: Model = {
      irVersion: 8,
      opsets: new Map([["", 17]]),
      producerName: "bench",
      producerVersion: "0",
      graph,
    };
    return writeModel(m);
  }
}

interface Case {
  family: string;
  label: string;
  variants: [string, Uint8Array][];
  feeds: Record<string, Tensor>;
  /** Error of an output against the reference (0 = exact). */
  check: (out: Float32Array) => number;
  webgpuOk?: Set<string>;
}

// ---------------------------------------------------------------------------------------
// MaxPool 2×2 stride 2 gradient
// ---------------------------------------------------------------------------------------

function maxpoolCase(N: number, C: number, H: number, rng: Rng): Case {
  const h = H / 2;
  // ReLU-like values on a coarse grid, so ties inside windows (all-zero windows) are common.
  const x = Float32Array.from(
    { length: N * C * H * H },
    () => Math.max(0, Math.round((rng.float() - 0.4) * 4)),
  );
  const y = new Float32Array(N * C * h * h), ref = new Float32Array(x.length);
  const g = Float32Array.from({ length: y.length }, () => rng.float() - 0.5);
  for (let nc = 0; nc < N * C; nc++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < h; j++) {
        let m = -Infinity, at = -1;
        for (let a = 0; a < 2; a++) {
          for (let b = 0; b < 2; b++) {
            const p = nc * H * H + (2 * i + a) * H + 2 * j + b;
            if (x[p] > m) [m, at] = [x[p], p]; // strict: the first maximum wins
          }
        }
        y[nc * h * h + i * h + j] = m;
        ref[at] = g[nc * h * h + i * h + j];
      }
    }
  }
  const ins: [string, number[]][] = [["x", [N, C, H, H]], ["y", [N, C, h, h]], ["g", [N, C, h, h]]];
  const offs = [[0, 0], [0, 1], [1, 0], [1, 1]];
  const strided = (b: Builder, a: number, c: number) =>
    b.op("Slice", [
      "x",
      b.ints([a, c]),
      b.ints([a + (h - 1) * 2 + 1, c + (h - 1) * 2 + 1]),
      b.ints([2, 3]),
      b.ints([2, 2]),
    ]);
  /** The first-maximum chain over the K window offsets: Equal, And/Not/Or, Where. */
  const chain = (b: Builder, slices: string[], yy: string, gg: string) => {
    const zero = b.f32([], [0]);
    let taken: string | undefined;
    return slices.map((sl) => {
      const eq = b.op("Equal", [sl, yy]);
      let mask = eq;
      if (taken) {
        mask = b.op("And", [eq, b.op("Not", [taken])]);
        taken = b.op("Or", [taken, eq]);
      } else taken = eq;
      return b.op("Where", [mask, gg, zero]);
    });
  };
  const current = () => {
    const b = new Builder();
    const gated = chain(b, offs.map(([a, c]) => strided(b, a, c)), "y", "g");
    const st = b.op("Concat", gated.map((m) => b.op("Unsqueeze", [m, b.ints([2])])), {
      axis: int(2),
    });
    const wv = b.op("Transpose", [b.op("Reshape", [st, b.ints([0, 0, 2, 2, h, h])])], {
      perm: ints([0, 1, 4, 2, 5, 3]),
    });
    return b.model(ins, b.op("Reshape", [wv, b.ints([0, 0, H, H])]));
  };
  const d2s = () => {
    const b = new Builder();
    const gated = chain(b, offs.map(([a, c]) => strided(b, a, c)), "y", "g");
    // Offset-major channels (o·C + c) are DepthToSpace's DCR layout.
    return b.model(
      ins,
      b.op("DepthToSpace", [b.op("Concat", gated, { axis: int(1) })], {
        blocksize: int(2),
        mode: str("DCR"),
      }),
    );
  };
  const argmax = () => {
    const b = new Builder();
    const st = b.op(
      "Concat",
      offs.map(([a, c]) => b.op("Unsqueeze", [strided(b, a, c), b.ints([1])])),
      { axis: int(1) },
    );
    const idx = b.op("ArgMax", [st], { axis: int(1), keepdims: int(1), select_last_index: int(0) });
    const mask = b.op("Equal", [idx, b.i64([1, 4, 1, 1, 1], [0, 1, 2, 3])]);
    const gm = b.op("Where", [mask, b.op("Unsqueeze", ["g", b.ints([1])]), b.f32([], [0])]);
    return b.model(
      ins,
      b.op("DepthToSpace", [b.op("Reshape", [gm, b.ints([0, 4 * C, h, h])])], {
        blocksize: int(2),
        mode: str("DCR"),
      }),
    );
  };
  const s2dChain = () => {
    const b = new Builder();
    const xs = b.op("SpaceToDepth", ["x"], { blocksize: int(2) });
    const slices = offs.map((_, o) =>
      b.op("Slice", [xs, b.ints([o * C]), b.ints([(o + 1) * C]), b.ints([1])])
    );
    const gated = chain(b, slices, "y", "g");
    return b.model(
      ins,
      b.op("DepthToSpace", [b.op("Concat", gated, { axis: int(1) })], {
        blocksize: int(2),
        mode: str("DCR"),
      }),
    );
  };
  const pairs = () => {
    const b = new Builder();
    // [N·C·h, a, w, b] → [N·C·h, a, b, w]: a one-axis move, then each offset is a contiguous row.
    const xr = b.op("Transpose", [b.op("Reshape", ["x", b.ints([-1, 2, h, 2])])], {
      perm: ints([0, 1, 3, 2]),
    });
    const x5 = b.op("Reshape", [xr, b.ints([N, C, h, 4, h])]);
    const slices = offs.map((_, o) =>
      b.op("Reshape", [
        b.op("Slice", [x5, b.ints([o]), b.ints([o + 1]), b.ints([3])]),
        b.ints([N, C, h, h]),
      ])
    );
    const gated = chain(b, slices, "y", "g");
    return b.model(
      ins,
      b.op("DepthToSpace", [b.op("Concat", gated, { axis: int(1) })], {
        blocksize: int(2),
        mode: str("DCR"),
      }),
    );
  };
  const convGather = () => {
    const b = new Builder();
    // One-hot 2×2 kernels, stride 2, on [N·C, 1, H, W]: plane o holds offset o of every window
    // (1·x + 0·others: exact for finite x), laid out [N, C, 4, h, w].
    const eye = b.f32([4, 1, 2, 2], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const planes = b.op("Conv", [b.op("Reshape", ["x", b.ints([-1, 1, H, H])]), eye], {
      strides: ints([2, 2]),
    });
    const p5 = b.op("Reshape", [planes, b.ints([N, C, 4, h, h])]);
    const slices = offs.map((_, o) =>
      b.op("Reshape", [
        b.op("Slice", [p5, b.ints([o]), b.ints([o + 1]), b.ints([2])]),
        b.ints([N, C, h, h]),
      ])
    );
    const gated = chain(b, slices, "y", "g").map((m) => b.op("Unsqueeze", [m, b.ints([2])]));
    const st = b.op("Reshape", [b.op("Concat", gated, { axis: int(2) }), b.ints([N, 4 * C, h, h])]);
    return b.model(ins, b.op("DepthToSpace", [st], { blocksize: int(2), mode: str("CRD") }));
  };
  const up2 = (b: Builder, t: string) =>
    b.op("Resize", [t, "", b.f32([4], [1, 1, 2, 2])], {
      mode: str("nearest"),
      coordinate_transformation_mode: str("asymmetric"),
      nearest_mode: str("floor"),
    });
  const prio = (up: (b: Builder, t: string) => string) => () => {
    const b = new Builder();
    // Window offset o gets priority 2^(3 - o): the largest priority among a window's maxima
    // marks the first maximum (row-major), found with one MaxPool at full resolution.
    const w = new Array(H * H).fill(0).map((_, i) => 2 ** (3 - (((i / H) | 0) % 2) * 2 - (i % H) % 2));
    const eq = b.op("Equal", ["x", up(b, "y")]);
    const s = b.op("Where", [eq, b.f32([1, 1, H, H], w), b.f32([], [0])]);
    const m = b.op("MaxPool", [s], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
    const gate = b.op("Equal", [s, up(b, m)]);
    return b.model(ins, b.op("Where", [gate, up(b, "g"), b.f32([], [0])]));
  };
  /** As prio(up2), on [N·C, 1, H, W] views (no NCHWc rewrite: one channel), Where or Mul·Cast. */
  const prioFlat = (useMul: boolean) => () => {
    const b = new Builder();
    const w = new Array(H * H).fill(0).map((_, i) => 2 ** (3 - (((i / H) | 0) % 2) * 2 - (i % H) % 2));
    const flat = (t: string, hh: number) => b.op("Reshape", [t, b.ints([-1, 1, hh, hh])]);
    const gate = (m: string, v: string) =>
      useMul ? b.op("Mul", [b.op("Cast", [m], { to: int(1) }), v]) : b.op("Where", [m, v, b.f32([], [0])]);
    const eq = b.op("Equal", [flat("x", H), up2(b, flat("y", h))]);
    const s = gate(eq, b.f32([1, 1, H, H], w));
    const m = b.op("MaxPool", [s], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
    const sel = b.op("Equal", [s, up2(b, m)]);
    return b.model(ins, b.op("Reshape", [gate(sel, up2(b, flat("g", h))), b.ints([N, C, H, H])]));
  };
  const expandUp = (b: Builder, t: string) =>
    b.op("Reshape", [
      b.op("Expand", [b.op("Reshape", [t, b.ints([N, C, h, 1, h, 1])]), b.ints([N, C, h, 2, h, 2])]),
      b.ints([N, C, H, H]),
    ]);
  const unpool = () => {
    const b = new Builder();
    const yi = `yi`;
    b.nodes.push({
      name: "mp",
      opType: "MaxPool",
      domain: "",
      inputs: ["x"],
      outputs: ["yy", yi],
      attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 2]) },
    });
    return b.model(
      ins,
      b.op("MaxUnpool", ["g", yi, b.ints([N, C, H, H])], {
        kernel_shape: ints([2, 2]),
        strides: ints([2, 2]),
      }),
    );
  };
  const feeds = {
    x: tensor("float32", [N, C, H, H], x),
    y: tensor("float32", [N, C, h, h], y),
    g: tensor("float32", [N, C, h, h], g),
  };
  return {
    family: "maxpool",
    label: `MaxPool 2x2/2 grad [${N},${C},${H},${H}]`,
    variants: [
      ["strided Slices, chain, Concat, 6-D Transpose (other windows)", current()],
      ["strided Slices, chain, Concat axis 1, DepthToSpace DCR", d2s()],
      ["strided Slices, Concat, ArgMax, Equal, Where, DepthToSpace", argmax()],
      ["SpaceToDepth, chain, DepthToSpace (no WebGPU SpaceToDepth)", s2dChain()],
      ["one-axis Transpose, row Slices, chain, DepthToSpace DCR", pairs()],
      ["one-hot Conv stride 2 gather, chain, DepthToSpace CRD", convGather()],
      ["priorities, MaxPool, Resize nearest up", prio(up2)()],
      ["priorities on [N*C,1,H,W], Where", prioFlat(false)()],
      ["current: priorities on [N*C,1,H,W], Mul Cast", prioFlat(true)()],
      ["priorities, MaxPool, Expand up", prio(expandUp)()],
      ["MaxPool Indices, MaxUnpool (no WebGPU Indices)", unpool()],
    ],
    feeds,
    check: (out) => {
      let bad = 0;
      for (let i = 0; i < out.length; i++) if (out[i] !== ref[i]) bad++;
      return bad;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Conv 3×3 pad 1 weight gradient
// ---------------------------------------------------------------------------------------

function convCase(N: number, Ci: number, Co: number, H: number, rng: Rng): Case {
  const x = Float32Array.from({ length: N * Ci * H * H }, () => rng.float());
  const gy = Float32Array.from({ length: N * Co * H * H }, () => rng.float() - 0.5);
  const ins: [string, number[]][] = [["x", [N, Ci, H, H]], ["gy", [N, Co, H, H]]];
  const ref = new Float64Array(Co * Ci * 9);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < Co; o++) {
      for (let i = 0; i < Ci; i++) {
        for (let a = 0; a < 3; a++) {
          for (let c = 0; c < 3; c++) {
            let s = 0;
            for (let p = 0; p < H; p++) {
              const u = p + a - 1;
              if (u < 0 || u >= H) continue;
              for (let q = 0; q < H; q++) {
                const v = q + c - 1;
                if (v < 0 || v >= H) continue;
                s += gy[((n * Co + o) * H + p) * H + q] * x[((n * Ci + i) * H + u) * H + v];
              }
            }
            ref[((o * Ci + i) * 3 + a) * 3 + c] += s;
          }
        }
      }
    }
  }
  const current = () => {
    const b = new Builder();
    const xt = b.op("Transpose", ["x"], { perm: ints([1, 0, 2, 3]) });
    const gt = b.op("Transpose", ["gy"], { perm: ints([1, 0, 2, 3]) });
    const full = b.op("Conv", [xt, gt], {
      strides: ints([1, 1]),
      dilations: ints([1, 1]),
      pads: ints([1, 1, 1, 1]),
    });
    return b.model(ins, b.op("Transpose", [full], { perm: ints([1, 0, 2, 3]) }));
  };
  /** Columns [Ci·9, N·H·W]: Slices of the padded, batch↔channel-transposed input. */
  const columns = (b: Builder) => {
    const xp = b.op("Pad", [
      b.op("Transpose", ["x"], { perm: ints([1, 0, 2, 3]) }),
      b.ints([0, 0, 1, 1, 0, 0, 1, 1]),
    ]);
    const cols: string[] = [];
    for (let a = 0; a < 3; a++) {
      for (let c = 0; c < 3; c++) {
        cols.push(
          b.op("Unsqueeze", [
            b.op("Slice", [xp, b.ints([a, c]), b.ints([a + H, c + H]), b.ints([2, 3])]),
            b.ints([1]),
          ]),
        );
      }
    }
    return b.op("Reshape", [b.op("Concat", cols, { axis: int(1) }), b.ints([Ci * 9, -1])]);
  };
  const gemm = () => {
    const b = new Builder();
    const P = columns(b);
    const gt = b.op("Reshape", [
      b.op("Transpose", ["gy"], { perm: ints([1, 0, 2, 3]) }),
      b.ints([Co, -1]),
    ]);
    return b.model(
      ins,
      b.op("Reshape", [b.op("Gemm", [gt, P], { transB: int(1) }), b.ints([Co, Ci, 3, 3])]),
    );
  };
  const matmul = () => {
    const b = new Builder();
    const P = columns(b);
    // dYᵀ [N·H·W, Co] (channel-last), so MatMul needs no transposed operand.
    const gT = b.op("Reshape", [
      b.op("Transpose", [b.op("Reshape", ["gy", b.ints([0, Co, -1])])], { perm: ints([0, 2, 1]) }),
      b.ints([-1, Co]),
    ]);
    const r = b.op("MatMul", [P, gT]); // [Ci·9, Co]
    return b.model(
      ins,
      b.op("Reshape", [b.op("Transpose", [r], { perm: ints([1, 0]) }), b.ints([Co, Ci, 3, 3])]),
    );
  };
  const oneHot = () => {
    const b = new Builder();
    // Per-sample columns by a one-hot 3×3 Conv on [N·Ci, 1, H, W] (exact for finite x):
    // [N, Ci·9, H·W]; dW = Σₙ columnsₙ · dYₙᵀ, a batched MatMul then a ReduceSum over N.
    const eye = b.f32([9, 1, 3, 3], Array.from({ length: 81 }, (_, i) => (i % 10 === 0 ? 1 : 0)));
    const cols = b.op("Reshape", [
      b.op("Conv", [b.op("Reshape", ["x", b.ints([-1, 1, H, H])]), eye], { pads: ints([1, 1, 1, 1]) }),
      b.ints([N, Ci * 9, H * H]),
    ]);
    const gT = b.op("Transpose", [b.op("Reshape", ["gy", b.ints([N, Co, H * H])])], { perm: ints([0, 2, 1]) });
    const r = b.op("ReduceSum", [b.op("MatMul", [cols, gT]), b.ints([0])], { keepdims: int(0) }); // [Ci·9, Co]
    return b.model(
      ins,
      b.op("Reshape", [b.op("Transpose", [r], { perm: ints([1, 0]) }), b.ints([Co, Ci, 3, 3])]),
    );
  };
  const oneHot3d = () => {
    const b = new Builder();
    // As oneHot, with the columns' Conv written 3-D ([N·Ci, 1, 1, H, W], kernel [9, 1, 1, 3, 3]),
    // which onnxruntime's CPU provider does not rewrite to NCHWc (no ReorderOutput).
    const eye = b.f32([9, 1, 1, 3, 3], Array.from({ length: 81 }, (_, i) => (i % 10 === 0 ? 1 : 0)));
    const cols = b.op("Reshape", [
      b.op("Conv", [b.op("Reshape", ["x", b.ints([-1, 1, 1, H, H])]), eye], { pads: ints([0, 1, 1, 0, 1, 1]) }),
      b.ints([N, Ci * 9, H * H]),
    ]);
    const gT = b.op("Transpose", [b.op("Reshape", ["gy", b.ints([N, Co, H * H])])], { perm: ints([0, 2, 1]) });
    const r = b.op("ReduceSum", [b.op("MatMul", [cols, gT]), b.ints([0])], { keepdims: int(0) });
    return b.model(
      ins,
      b.op("Reshape", [b.op("Transpose", [r], { perm: ints([1, 0]) }), b.ints([Co, Ci, 3, 3])]),
    );
  };
  return {
    family: "conv",
    label: `Conv 3x3 pad 1 dW N${N} ${Ci}->${Co} ${H}x${H}`,
    variants: [
      ["Transpose, Conv over the batch axis, Transpose", current()],
      ["im2col: 9 Slices of padded X^T, Concat, Gemm(transB)", gemm()],
      ["im2col: 9 Slices, Concat, MatMul with channel-last dY", matmul()],
      ["current: one-hot Conv columns per sample, batched MatMul, ReduceSum", oneHot()],
      ["the same with a 3-D one-hot Conv (no NCHWc rewrite)", oneHot3d()],
    ],
    feeds: { x: tensor("float32", [N, Ci, H, H], x), gy: tensor("float32", [N, Co, H, H], gy) },
    check: (out) => {
      let num = 0, den = 0;
      for (let i = 0; i < ref.length; i++) {
        num += (out[i] - ref[i]) ** 2;
        den += ref[i] ** 2;
      }
      return Math.sqrt(num / den);
    },
  };
}

// ---------------------------------------------------------------------------------------
// ReLU gradient
// ---------------------------------------------------------------------------------------

function reluCase(dims: number[], rng: Rng): Case {
  const n = dims.reduce((a, b) => a * b, 1);
  const y = Float32Array.from({ length: n }, () => Math.max(0, rng.float() - 0.5));
  const g = Float32Array.from({ length: n }, () => rng.float() - 0.5);
  const ins: [string, number[]][] = [["y", dims], ["g", dims]];
  const where = () => {
    const b = new Builder();
    return b.model(
      ins,
      b.op("Where", [b.op("Greater", ["y", b.f32([], [0])]), "g", b.f32([], [0])]),
    );
  };
  const mulCast = () => {
    const b = new Builder();
    return b.model(
      ins,
      b.op("Mul", ["g", b.op("Cast", [b.op("Greater", ["y", b.f32([], [0])])], { to: int(1) })]),
    );
  };
  return {
    family: "relu",
    label: `ReLU grad [${dims}]`,
    variants: [["Where(Greater(y, 0), g, 0)", where()], [
      "current: Mul(g, Cast(Greater(y, 0)))",
      mulCast(),
    ]],
    feeds: { y: tensor("float32", dims, y), g: tensor("float32", dims, g) },
    check: (out) => {
      let bad = 0;
      for (let i = 0; i < n; i++) if (out[i] !== (y[i] > 0 ? g[i] : 0)) bad++;
      return bad;
    },
  };
}

// ---------------------------------------------------------------------------------------

function parse(argv: string[]) {
  const o = {
    engines: ["native", "wasm"] as EngineName[],
    rounds: 5,
    iters: 15,
    only: undefined as Set<string> | undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[++i];
    if (v === undefined) throw new TypeError(`${argv[i - 1]} needs a value`);
    switch (argv[i - 1]) {
      case "--engines":
        o.engines = v.split(",") as EngineName[];
        break;
      case "--rounds":
        o.rounds = Number(v);
        break;
      case "--iters":
        o.iters = Number(v);
        break;
      case "--only":
        o.only = new Set(v.split(","));
        break;
      default:
        throw new TypeError(
          `unknown option ${argv[i - 1]}; expected --engines, --rounds, --iters, --only`,
        );
    }
  }
  return o;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

if (import.meta.main) {
  const opts = parse(Deno.args);
  const rng = new Rng(7);
  const cases = [
    maxpoolCase(64, 16, 28, rng),
    maxpoolCase(64, 32, 14, rng),
    convCase(64, 1, 16, 28, rng),
    convCase(64, 16, 32, 14, rng),
    reluCase([64, 16, 28, 28], rng),
    reluCase([64, 32, 14, 14], rng),
  ].filter((c) => !opts.only || opts.only.has(c.family));
  console.log(`load average at start ${Deno.loadavg().map((x) => x.toFixed(2)).join(", ")}`);
  for (const name of opts.engines) {
    const engine = await createEngine(name, { threads: 1 });
    for (const c of cases) {
      const sessions: [string, Session][] = [];
      for (const [label, bytes] of c.variants) sessions.push([label, await engine.load(bytes)]);
      const perRound = sessions.map(() => [] as number[]);
      const errors = sessions.map(() => 0);
      for (let r = 0; r < opts.rounds; r++) {
        for (const [vi, [, s]] of sessions.entries()) {
          const t: number[] = [];
          for (let i = 0; i < opts.iters + 2; i++) {
            const t0 = performance.now();
            const out = await s.run(c.feeds);
            if (i >= 2) t.push(performance.now() - t0);
            if (r === 0 && i === 0) {
              errors[vi] = c.check(Object.values(out)[0].data as Float32Array);
            }
          }
          perRound[vi].push(median(t));
        }
      }
      console.log(`\n${name} x1  ${c.label}`);
      for (const [vi, [label, s]] of sessions.entries()) {
        const err = c.family === "conv"
          ? `relerr ${errors[vi].toExponential(1)}`
          : `mismatches ${errors[vi]}`;
        console.log(
          `  best ${Math.min(...perRound[vi]).toFixed(2).padStart(6)} ms  median ${
            median(perRound[vi]).toFixed(2).padStart(6)
          } ms  ${err.padEnd(16)} ${label}`,
        );
        await s.release();
      }
    }
    await engine.dispose();
  }
  console.log(`\nload average at end ${Deno.loadavg().map((x) => x.toFixed(2)).join(", ")}`);
  Deno.exit(0);
}
