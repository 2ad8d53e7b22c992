/**
 * Unrolls the recurrent operators LSTM and GRU (ONNX operator spec, LSTM-14 and GRU-14) over
 * the time axis into primitive ops (MatMul, Add, Sub, Mul, Sigmoid, Tanh, Split, Squeeze,
 * Unsqueeze, Transpose, Concat), so that the reverse pass differentiates them with the
 * existing rules and every engine runs them: no `Scan`/`Loop`, which onnxruntime-web's
 * gradient graphs would need otherwise. Unrolling needs the sequence length at build time:
 * a symbolic `X` dim 0 is refused.
 *
 * Equations, as the spec writes them (default activations f = Sigmoid, g = h = Tanh; ⊙ is
 * elementwise, W·, R·, Wb·, Rb·, P· the per-gate slices of W, R, B, P for one direction):
 *
 * - LSTM, gates in the order i, o, f, c:
 *   iₜ = σ(Xₜ·Wᵢᵀ + Hₜ₋₁·Rᵢᵀ + Pᵢ⊙Cₜ₋₁ + Wbᵢ + Rbᵢ), fₜ likewise with Pf,
 *   cₜ = tanh(Xₜ·Wcᵀ + Hₜ₋₁·Rcᵀ + Wbc + Rbc), Cₜ = fₜ⊙Cₜ₋₁ + iₜ⊙cₜ,
 *   oₜ = σ(Xₜ·Woᵀ + Hₜ₋₁·Roᵀ + Po⊙Cₜ + Wbo + Rbo), Hₜ = oₜ⊙tanh(Cₜ).
 * - GRU, gates in the order z, r, h:
 *   zₜ = σ(Xₜ·Wzᵀ + Hₜ₋₁·Rzᵀ + Wbz + Rbz), rₜ likewise,
 *   hₜ = tanh(Xₜ·Whᵀ + (rₜ⊙Hₜ₋₁)·Rhᵀ + Rbh + Wbh)          (linear_before_reset = 0),
 *   hₜ = tanh(Xₜ·Whᵀ + rₜ⊙(Hₜ₋₁·Rhᵀ + Rbh) + Wbh)          (linear_before_reset ≠ 0, PyTorch's),
 *   Hₜ = (1 − zₜ)⊙hₜ + zₜ⊙Hₜ₋₁, written hₜ + zₜ⊙(Hₜ₋₁ − hₜ).
 *
 * The input projections Xₜ·Wᵀ of all steps are one MatMul over [seq, batch, input], split
 * along time afterwards, so the backward pass holds one Concat there instead of one
 * scatter per step. A missing initial state is zero: its terms are left out rather than
 * multiplied by a zeros tensor, which would need the (possibly symbolic) batch size.
 *
 * `sequence_lens`: a batch row b stops at step lens[b]. With the mask mₜ = [t < lens[b]]
 * (shape [batch, 1]) the state is carried, Hₜ = mₜ⊙Hₜⁿᵉʷ + (1 − mₜ)⊙Hₜ₋₁, and Yₜ = mₜ⊙Hₜⁿᵉʷ
 * (zeros past the end, as onnxruntime writes them). The reverse direction runs t = seq−1 … 0
 * under the same mask: the state stays the initial one until t = lens[b] − 1, which is
 * where the spec starts that row.
 *
 * Refused with {@linkcode GradError}: `UNKNOWN_SHAPE` (symbolic sequence length, unknown
 * hidden size), `UNSUPPORTED_ATTR` (non-default `activations`, `activation_alpha`/`beta`,
 * `clip`, `input_forget` = 1, `layout` = 1, a dtype other than float32: onnxruntime's
 * LSTM/GRU kernels have no other),
 * `UNSUPPORTED_OPSET` (opset < 13: Split/Squeeze take their sizes and axes as inputs here).
 *
 * @example
 * ```ts
 * import { unrollRecurrent } from "./unroll_recurrent.ts";
 * import { intAttr } from "../graph/ir.ts";
 * const facts = new Map([["x", { dtype: "float32" as const, shape: [3, "N", 2] }]]);
 * const lstm = {
 *   name: "lstm", opType: "LSTM", domain: "", inputs: ["x", "W", "R", "B"],
 *   outputs: ["y", "y_h"], attrs: { hidden_size: intAttr(4) },
 * };
 * const { nodes } = unrollRecurrent(lstm, facts, 17);
 * console.log(nodes.some((n) => n.opType === "LSTM")); // false
 * ```
 * @module
 */
import { type Tensor, tensor } from "../tensor.ts";
import { type Attr, getInt, getString, intAttr, intsAttr, type Node } from "../graph/ir.ts";
import type { Facts } from "../graph/infer_shapes.ts";
import { GradError } from "../grad/grad_error.ts";

/** The ops {@linkcode unrollRecurrent} rewrites. @example `RECURRENT_OPS.has("GRU") // true` */
export const RECURRENT_OPS: ReadonlySet<string> = new Set(["LSTM", "GRU"]);

/**
 * Nodes and the constants they read, replacing one recurrent node.
 *
 * @example
 * ```ts
 * import type { Unrolled } from "./unroll_recurrent.ts";
 * const none: Unrolled = { nodes: [], initializers: new Map() };
 * console.log(none.nodes.length); // 0
 * ```
 */
export interface Unrolled {
  nodes: Node[];
  initializers: Map<string, Tensor>;
}

/** ONNX `TensorProto.DataType` FLOAT, the Cast target of the sequence masks. */
const FLOAT = 1;

/** Default activations per direction (spec: f, g, h for LSTM; f, g for GRU). */
const DEFAULT_ACTS: Readonly<Record<string, readonly string[]>> = {
  LSTM: ["Sigmoid", "Tanh", "Tanh"],
  GRU: ["Sigmoid", "Tanh"],
};

/** Emits nodes with fresh names under the recurrent node's name. */
class Emitter {
  readonly nodes: Node[] = [];
  readonly initializers = new Map<string, Tensor>();
  #k = 0;
  constructor(readonly base: string) {}
  fresh(what: string): string {
    return `${this.base}/unroll_${what}#${this.#k++}`;
  }
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, out?: string): string {
    return this.multi(opType, inputs, 1, attrs, out ? [out] : undefined)[0];
  }
  multi(
    opType: string,
    inputs: string[],
    count: number,
    attrs: Record<string, Attr> = {},
    outs?: string[],
  ): string[] {
    const outputs = outs ?? Array.from({ length: count }, () => this.fresh(opType));
    this.nodes.push({ name: outputs[0], opType, domain: "", inputs, outputs, attrs });
    return outputs;
  }
  ints(value: number[]): string {
    const name = this.fresh("ints");
    this.initializers.set(
      name,
      tensor("int64", [value.length], BigInt64Array.from(value.map(BigInt))),
    );
    return name;
  }
  floats(value: number[], dims = [value.length]): string {
    const name = this.fresh("const");
    this.initializers.set(name, tensor("float32", dims, Float32Array.from(value)));
    return name;
  }
  /** Splits `x` along `axis` into parts of the given sizes. */
  split(x: string, axis: number, sizes: number[]): string[] {
    if (sizes.length === 1) return [x];
    return this.multi("Split", [x, this.ints(sizes)], sizes.length, { axis: intAttr(axis) });
  }
  squeeze(x: string, axes: number[]): string {
    return this.op("Squeeze", [x, this.ints(axes)]);
  }
  unsqueeze(x: string, axes: number[]): string {
    return this.op("Unsqueeze", [x, this.ints(axes)]);
  }
  add(a: string, b: string | undefined): string {
    return b === undefined ? a : this.op("Add", [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op("Mul", [a, b]);
  }
}

/** What every direction of one recurrent node shares. */
interface Setup {
  n: Node;
  e: Emitter;
  seq: number;
  hidden: number;
  dirs: number;
  gates: number;
  /** Per step t: the mask [batch, 1] and 1 − mask, when `sequence_lens` is given. */
  masks?: { keep: string; drop: string }[];
}

/**
 * Returns the primitive nodes computing `n`'s outputs (same names), for an LSTM or GRU node.
 *
 * @param n the LSTM or GRU node
 * @param facts shapes and dtypes of `n`'s inputs (dim 0 of X must be a number)
 * @param opset the graph's `ai.onnx` opset (≥ 13)
 * @throws {GradError} `UNKNOWN_SHAPE`, `UNSUPPORTED_ATTR` or `UNSUPPORTED_OPSET` (module doc)
 * @example
 * ```ts
 * import { unrollRecurrent } from "./unroll_recurrent.ts";
 * import { intAttr } from "../graph/ir.ts";
 * const facts = new Map([["x", { dtype: "float32" as const, shape: ["T", 1, 2] }]]);
 * const gru = {
 *   name: "gru", opType: "GRU", domain: "", inputs: ["x", "W", "R"], outputs: ["y"],
 *   attrs: { hidden_size: intAttr(4) },
 * };
 * try { unrollRecurrent(gru, facts, 17); } catch (e) {
 *   // GradError UNKNOWN_SHAPE: node "gru" (GRU): input "x" has sequence length T, ...
 * }
 * ```
 */
export function unrollRecurrent(n: Node, facts: Facts, opset: number): Unrolled {
  const s = setup(n, facts, opset);
  const [x, w, r, b, lens, h0, c0, p] = n.inputs;
  if (lens) s.masks = stepMasks(s, lens);
  const split = (t: string | undefined) =>
    t ? s.e.split(t, 0, new Array(s.dirs).fill(1)).map((d) => s.e.squeeze(d, [0])) : [];
  const ws = split(w), rs = split(r), bs = split(b), h0s = split(h0), c0s = split(c0);
  const ps = split(p);
  const ys: string[] = [], hs: string[] = [], cs: string[] = [];
  for (let d = 0; d < s.dirs; d++) {
    const reverse = getString(n, "direction", "forward") === "reverse" || d === 1;
    const xw = inputProjection(s, x, ws[d], bs[d]);
    const run = n.opType === "LSTM"
      ? lstmDirection(s, xw, rs[d], reverse, h0s[d], c0s[d], ps[d])
      : gruDirection(s, xw, rs[d], bs[d], reverse, h0s[d]);
    ys.push(s.e.op("Concat", run.y.map((y) => s.e.unsqueeze(y, [0, 1])), { axis: intAttr(0) }));
    hs.push(run.h);
    if (run.c) cs.push(run.c);
  }
  const [yName, hName, cName] = n.outputs;
  // Y: the directions' [seq, 1, batch, hidden] side by side on axis 1; Y_h, Y_c: the final
  // [batch, hidden] states stacked on a new axis 0.
  const stack = (parts: string[], axis: number, out: string, newAxis: boolean) =>
    s.e.op(
      "Concat",
      parts.map((t) => newAxis ? s.e.unsqueeze(t, [0]) : t),
      { axis: intAttr(axis) },
      out,
    );
  if (yName) stack(ys, 1, yName, false);
  if (hName) stack(hs, 0, hName, true);
  if (cName && n.opType === "LSTM") stack(cs, 0, cName, true);
  return { nodes: s.e.nodes, initializers: s.e.initializers };
}

/** Reads and checks the attributes and the static sizes (module doc: what is refused). */
function setup(n: Node, facts: Facts, opset: number): Setup {
  const where = `node ${JSON.stringify(n.name)} (${n.opType})`;
  const x = n.inputs[0];
  const xf = facts.get(x);
  if (opset < 13) {
    throw new GradError("UNSUPPORTED_OPSET", `${where}: unrolling needs opset ≥ 13, got ${opset}`);
  }
  // onnxruntime's LSTM/GRU kernels run float32 only ("does not support double yet"), so
  // the inference graph, which keeps the op, could not run another type anyway.
  const dtype = xf?.dtype ?? "float32";
  if (dtype !== "float32") {
    throw new GradError("UNSUPPORTED_ATTR", `${where}: X dtype ${dtype}, expected float32`);
  }
  const seq = xf?.shape?.[0];
  if (typeof seq !== "number") {
    throw new GradError(
      "UNKNOWN_SHAPE",
      `${where}: input ${JSON.stringify(x)} has sequence length ${seq ?? "unknown"}, expected a ` +
        `number: the gradient unrolls the time axis at build time (export with a fixed sequence length)`,
    );
  }
  const dirName = getString(n, "direction", "forward");
  if (!["forward", "reverse", "bidirectional"].includes(dirName)) {
    throw new GradError(
      "UNSUPPORTED_ATTR",
      `${where}: direction ${JSON.stringify(dirName)}, expected forward, reverse or bidirectional`,
    );
  }
  const dirs = dirName === "bidirectional" ? 2 : 1;
  refuseAttrs(n, where, dirs);
  const rShape = facts.get(n.inputs[2])?.shape;
  const hidden = n.attrs.hidden_size ? getInt(n, "hidden_size") : rShape?.[2];
  if (typeof hidden !== "number") {
    throw new GradError(
      "UNKNOWN_SHAPE",
      `${where}: hidden_size is not set and R's shape is unknown`,
    );
  }
  const gates = n.opType === "LSTM" ? 4 : 3;
  return {
    n,
    e: new Emitter(n.name || n.outputs.find((o) => o) || n.opType),
    seq,
    hidden,
    dirs,
    gates,
  };
}

function refuseAttrs(n: Node, where: string, dirs: number): void {
  const a = n.attrs.activations;
  const acts = a?.type === "strings" ? a.value : undefined;
  const want = Array.from({ length: dirs }, () => DEFAULT_ACTS[n.opType]).flat();
  if (acts && (acts.length !== want.length || acts.some((a, i) => a !== want[i]))) {
    throw new GradError(
      "UNSUPPORTED_ATTR",
      `${where}: activations [${acts.join(", ")}] are not supported, expected the defaults [${
        want.join(", ")
      }]`,
    );
  }
  for (const a of ["activation_alpha", "activation_beta", "clip"]) {
    if (n.attrs[a]) {
      throw new GradError(
        "UNSUPPORTED_ATTR",
        `${where}: attribute ${a} is not supported, expected it unset`,
      );
    }
  }
  for (const a of ["layout", "input_forget"]) {
    const v = getInt(n, a, 0);
    if (v !== 0) {
      throw new GradError("UNSUPPORTED_ATTR", `${where}: ${a} = ${v} is not supported, expected 0`);
    }
  }
}

/** mₜ = [t < lens[b]] as [batch, 1] float, and 1 − mₜ, for every step. */
function stepMasks(s: Setup, lens: string): { keep: string; drop: string }[] {
  const e = s.e;
  const lensF = e.unsqueeze(e.op("Cast", [lens], { to: intAttr(FLOAT) }), [1]);
  const one = e.floats([1], []);
  return Array.from({ length: s.seq }, (_, t) => {
    const keep = e.op("Cast", [e.op("Less", [e.floats([t], []), lensF])], {
      to: intAttr(FLOAT),
    });
    return { keep, drop: e.op("Sub", [one, keep]) };
  });
}

/**
 * X·Wᵀ + Wb (+ Rb where it simply adds) for all steps at once, split into one [batch, G·H]
 * tensor per step. For GRU with linear_before_reset ≠ 0, Rbh stays out (it sits inside rₜ⊙…).
 */
function inputProjection(s: Setup, x: string, w: string, b: string | undefined): string[] {
  const e = s.e, gh = s.gates * s.hidden;
  let xw = e.op("MatMul", [x, e.op("Transpose", [w], { perm: intsAttr([1, 0]) })]);
  if (b) {
    const [wb, rb] = e.split(b, 0, [gh, gh]);
    const lbr = s.n.opType === "GRU" && getInt(s.n, "linear_before_reset", 0) !== 0;
    const rbIn = lbr
      ? e.mul(rb, e.floats(Array.from({ length: gh }, (_, i) => (i < 2 * s.hidden ? 1 : 0))))
      : rb;
    xw = e.add(xw, e.add(wb, rbIn));
  }
  return e.split(xw, 0, new Array(s.seq).fill(1)).map((t) => e.squeeze(t, [0]));
}

/** Applies the sequence mask: the carried state and the Y row of step t. */
function carry(s: Setup, t: number, next: string, prev: string | undefined) {
  const m = s.masks?.[t];
  if (!m) return { state: next, y: next };
  const y = s.e.mul(m.keep, next);
  return { state: prev === undefined ? y : s.e.add(y, s.e.mul(m.drop, prev)), y };
}

interface DirectionResult {
  /** Yₜ per step, in time order, each [batch, hidden]. */
  y: string[];
  h: string;
  c?: string;
}

function timeOrder(seq: number, reverse: boolean): number[] {
  const ts = Array.from({ length: seq }, (_, t) => t);
  return reverse ? ts.reverse() : ts;
}

function lstmDirection(
  s: Setup,
  xw: string[],
  r: string,
  reverse: boolean,
  h0: string | undefined,
  c0: string | undefined,
  p: string | undefined,
): DirectionResult {
  const e = s.e, H = s.hidden;
  const rt = e.op("Transpose", [r], { perm: intsAttr([1, 0]) });
  const [pi, po, pf] = p ? e.split(p, 0, [H, H, H]) : [];
  let h = h0, c = c0;
  const y: string[] = new Array(s.seq);
  for (const t of timeOrder(s.seq, reverse)) {
    const pre = e.add(xw[t], h === undefined ? undefined : e.op("MatMul", [h, rt]));
    const [ip, op, fp, cp] = e.split(pre, 1, [H, H, H, H]);
    const peep = (g: string, pg: string | undefined, state: string | undefined) =>
      pg && state !== undefined ? e.add(g, e.mul(pg, state)) : g;
    const i = e.op("Sigmoid", [peep(ip, pi, c)]);
    const cNew0 = e.mul(i, e.op("Tanh", [cp]));
    const cNew = c === undefined
      ? cNew0
      : e.add(e.mul(e.op("Sigmoid", [peep(fp, pf, c)]), c), cNew0);
    const o = e.op("Sigmoid", [peep(op, po, cNew)]);
    const hNew = e.mul(o, e.op("Tanh", [cNew]));
    const hc = carry(s, t, hNew, h);
    c = carry(s, t, cNew, c).state;
    h = hc.state;
    y[t] = hc.y;
  }
  return { y, h: h!, c };
}

function gruDirection(
  s: Setup,
  xw: string[],
  r: string,
  b: string | undefined,
  reverse: boolean,
  h0: string | undefined,
): DirectionResult {
  const e = s.e, H = s.hidden;
  const lbr = getInt(s.n, "linear_before_reset", 0) !== 0;
  const rt = e.op("Transpose", [r], { perm: intsAttr([1, 0]) });
  // lbr: one MatMul for all gates; otherwise Rh multiplies rₜ⊙Hₜ₋₁, so it is kept apart.
  const [rtZr, rtH] = lbr ? [rt] : e.split(rt, 1, [2 * H, H]);
  const rbh = lbr && b ? e.split(b, 0, [3 * H, 2 * H, H])[2] : undefined;
  let h = h0;
  const y: string[] = new Array(s.seq);
  for (const t of timeOrder(s.seq, reverse)) {
    const [xz, xr, xh] = e.split(xw[t], 1, [H, H, H]);
    let z = xz, rg = xr, hh: string | undefined;
    if (h !== undefined) {
      const [hz, hr, hr3] = e.split(e.op("MatMul", [h, rtZr]), 1, lbr ? [H, H, H] : [H, H]);
      z = e.add(xz, hz);
      rg = e.add(xr, hr);
      hh = hr3;
    }
    z = e.op("Sigmoid", [z]);
    const rs = e.op("Sigmoid", [rg]);
    let inner: string | undefined;
    if (lbr) {
      const lin = hh === undefined ? rbh : e.add(hh, rbh);
      inner = lin === undefined ? undefined : e.mul(rs, lin);
    } else if (h !== undefined) {
      inner = e.op("MatMul", [e.mul(rs, h), rtH!]);
    }
    const cand = e.op("Tanh", [e.add(xh, inner)]);
    const hNew = h === undefined
      ? e.op("Sub", [cand, e.mul(z, cand)])
      : e.add(cand, e.mul(z, e.op("Sub", [h, cand])));
    const hc = carry(s, t, hNew, h);
    h = hc.state;
    y[t] = hc.y;
  }
  return { y, h: h! };
}
