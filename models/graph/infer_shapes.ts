/**
 * Static shape and type inference over the graph IR, with symbolic dimensions (a dynamic
 * batch axis stays `"N"`), following the shape rules of each operator in the ONNX operator
 * spec (https://onnx.ai/onnx/operators/). It also tracks the *values* of small integer
 * tensors (shape computations such as `Shape → Gather → Unsqueeze → Concat → Reshape`, as
 * PyTorch's exporter writes them), so that the target shape of a `Reshape` is known.
 *
 * The gradient rules need ranks and broadcast axes; they never need the batch size.
 *
 * @example
 * ```ts
 * import { inferShapes } from "./infer_shapes.ts";
 * import { readModel } from "../onnx/read_model.ts";
 * const model = readModel(await Deno.readFile("tests/fixtures/models/pneumonia_cnn.onnx"));
 * const info = inferShapes(model.graph, 17);
 * console.log(info.get("logits")?.shape); // ["N", 1]
 * ```
 * @module
 */
import type { DType, Tensor } from "../tensor.ts";
import { DTYPE_OF_ONNX_CODE } from "../dtypes.ts";
import { type Dim, getFloat, getInt, getInts, getString, type Graph, type Node } from "./ir.ts";

/** What is known about one tensor. */
export interface TensorFacts {
  dtype: DType;
  shape?: Dim[];
  /** Element values of a small integer tensor, when computable (possibly symbolic). */
  value?: Dim[];
  /** Element values of a small 1-D float tensor given as a constant (Resize's scales). */
  floats?: number[];
}

/** A map from tensor name to what is known about it. */
export type Facts = Map<string, TensorFacts>;

/** An inference failure, naming the node. */
export class ShapeError extends Error {
  readonly code = "SHAPE";
  constructor(node: Node, message: string) {
    super(`node ${JSON.stringify(node.name)} (${node.opType}): ${message}`);
    this.name = "ShapeError";
  }
}

/** Rank-aware broadcast of two shapes (ONNX multidirectional broadcasting). */
export function broadcastShapes(a: Dim[], b: Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else if (typeof da === "number" && typeof db === "number" && da !== db) {
      throw new RangeError(`cannot broadcast [${a}] with [${b}]`);
    } else out.push(typeof da === "number" ? da : db);
  }
  return out;
}

function tensorValue(t: Tensor): Dim[] | undefined {
  if (t.dims.length > 1 || t.data.length > 64) return undefined;
  if (t.dtype === "int64") return Array.from(t.data as BigInt64Array, Number);
  if (t.dtype === "int32") return Array.from(t.data as Int32Array);
  return undefined;
}

/**
 * The elements of a small 1-D float tensor (at most 64), for {@linkcode TensorFacts.floats}.
 *
 * @example
 * ```ts
 * import { floatValues } from "./infer_shapes.ts";
 * import { tensor } from "../tensor.ts";
 * floatValues(tensor("float32", [4], Float32Array.of(1, 1, 2, 2))); // [1, 1, 2, 2]
 * ```
 */
export function floatValues(t: Tensor): number[] | undefined {
  if (t.dims.length !== 1 || t.data.length > 64) return undefined;
  if (t.dtype === "float32" || t.dtype === "float64") return Array.from(t.data as Float32Array);
  return undefined;
}

function product(dims: Dim[]): Dim {
  let n = 1;
  const sym: string[] = [];
  for (const d of dims) typeof d === "number" ? (n *= d) : sym.push(d);
  if (sym.length === 0) return n;
  return n === 1 && sym.length === 1
    ? sym[0]
    : `${[...sym, ...(n === 1 ? [] : [String(n)])].join("*")}`;
}

const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);

/**
 * Infers dtype and shape of every tensor in `g`. Graph inputs and initializers seed the
 * map; each node adds its outputs. Unknown shapes stay `undefined` (the rules that need
 * them report it).
 *
 * @example
 * ```ts
 * import { inferShapes } from "./infer_shapes.ts";
 * import { emptyGraph } from "./ir.ts";
 * inferShapes(emptyGraph("g"), 17).size; // 0
 * ```
 */
export function inferShapes(g: Graph, opset: number, seed?: Facts): Facts {
  const facts: Facts = new Map(seed ?? []);
  for (const v of g.inputs) facts.set(v.name, { dtype: v.dtype, shape: v.shape && [...v.shape] });
  for (const [name, t] of g.initializers) {
    facts.set(name, {
      dtype: t.dtype,
      shape: [...t.dims],
      value: tensorValue(t),
      floats: floatValues(t),
    });
  }
  for (const node of g.nodes) inferNode(node, facts, opset);
  return facts;
}

/** Infers the outputs of one node into `facts`. Exposed for the gradient builder. */
export function inferNode(node: Node, facts: Facts, opset: number): void {
  const inp = (i: number): TensorFacts | undefined => {
    const n = node.inputs[i];
    return n ? facts.get(n) : undefined;
  };
  const shapeOf = (i: number): Dim[] | undefined => inp(i)?.shape;
  const set = (i: number, f: TensorFacts) => {
    if (node.outputs[i]) facts.set(node.outputs[i], f);
  };
  const x = inp(0);
  const dt = x?.dtype ?? "float32";
  const xs = shapeOf(0);
  switch (node.opType) {
    case "Relu":
    case "LeakyRelu":
    case "Sigmoid":
    case "Tanh":
    case "Exp":
    case "Log":
    case "Neg":
    case "Sqrt":
    case "Abs":
    case "Reciprocal":
    case "Softmax":
    case "LogSoftmax":
    case "Identity":
    case "Erf":
    case "Clip":
    case "Elu":
    case "Softplus":
    case "HardSigmoid":
    case "Sign":
    case "Floor":
    case "Ceil":
    case "Round":
    case "Not":
    case "RandomUniformLike":
      set(0, {
        dtype: dt,
        shape: xs && [...xs],
        value: node.opType === "Identity" ? x?.value : undefined,
      });
      break;
    case "Dropout":
      set(0, { dtype: dt, shape: xs && [...xs] });
      set(1, { dtype: "bool", shape: xs && [...xs] });
      break;
    case "Cast":
    case "EyeLike": {
      // EyeLike (ONNX operator spec, EyeLike-9): a 2-D identity of the input's shape, of
      // the `dtype` attribute's type if given, else the input's.
      if (node.opType === "EyeLike" && !node.attrs.dtype) {
        set(0, { dtype: dt, shape: xs && [...xs] });
        break;
      }
      const to = getInt(node, node.opType === "Cast" ? "to" : "dtype");
      // `to` / `dtype` is an ONNX TensorProto.DataType code (dtypes.ts); a code without a
      // splitgate dtype (STRING, UINT64, BFLOAT16, ...) is taken as float32.
      set(0, {
        dtype: DTYPE_OF_ONNX_CODE.get(to) ?? "float32",
        shape: xs && [...xs],
        value: node.opType === "Cast" ? x?.value : undefined,
      });
      break;
    }
    case "CastLike":
      set(0, { dtype: inp(1)?.dtype ?? dt, shape: xs && [...xs], value: x?.value });
      break;
    case "Add":
    case "Sub":
    case "Mul":
    case "Div":
    case "Pow":
    case "Max":
    case "Min":
    case "Sum":
    case "Mean":
    case "Equal":
    case "Less":
    case "Greater":
    case "LessOrEqual":
    case "GreaterOrEqual":
    case "And":
    case "Or":
    case "Where": {
      let shape: Dim[] | undefined = [];
      for (let i = 0; i < node.inputs.length; i++) {
        const s = shapeOf(i);
        shape = s && shape ? broadcastShapes(shape, s) : undefined;
      }
      const cmp = ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or"]
        .includes(node.opType);
      const dtype: DType = cmp ? "bool" : node.opType === "Where" ? (inp(1)?.dtype ?? dt) : dt;
      let value: Dim[] | undefined;
      const a = x?.value, b = inp(1)?.value;
      if (
        a && b && a.every((v) => typeof v === "number") && b.every((v) => typeof v === "number")
      ) {
        const fa = a as number[], fb = b as number[];
        const n = Math.max(fa.length, fb.length);
        const f = {
          Add: (p: number, q: number) => p + q,
          Sub: (p: number, q: number) => p - q,
          Mul: (p: number, q: number) => p * q,
          Div: (p: number, q: number) => Math.trunc(p / q),
        }[
          node.opType as "Add"
        ];
        if (f) {
          value = Array.from(
            { length: n },
            (_, i) => f(fa[fa.length === 1 ? 0 : i], fb[fb.length === 1 ? 0 : i]),
          );
        }
      }
      set(0, { dtype, shape, value });
      break;
    }
    case "Gemm": {
      const a = shapeOf(0), b = shapeOf(1);
      const ta = getInt(node, "transA", 0), tb = getInt(node, "transB", 0);
      set(0, { dtype: dt, shape: a && b ? [ta ? a[1] : a[0], tb ? b[0] : b[1]] : undefined });
      break;
    }
    case "MatMul": {
      const a = shapeOf(0), b = shapeOf(1);
      if (!a || !b) {
        set(0, { dtype: dt });
        break;
      }
      const a2 = a.length === 1 ? [1, a[0]] : a, b2 = b.length === 1 ? [b[0], 1] : b;
      const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
      const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
      if (a.length === 1) out.splice(out.length - 2, 1);
      if (b.length === 1) out.splice(out.length - 1, 1);
      set(0, { dtype: dt, shape: out });
      break;
    }
    case "Conv":
    case "MaxPool":
    case "AveragePool": {
      if (!xs) {
        set(0, { dtype: dt });
        break;
      }
      const nsp = xs.length - 2;
      const w = shapeOf(1);
      const k = node.opType === "Conv"
        ? getInts(node, "kernel_shape", w ? (w.slice(2) as number[]) : undefined)
        : getInts(node, "kernel_shape");
      const s = getInts(node, "strides", new Array(nsp).fill(1));
      const d = getInts(node, "dilations", new Array(nsp).fill(1));
      const p = getInts(node, "pads", new Array(2 * nsp).fill(0));
      const autoPad = getString(node, "auto_pad", "NOTSET");
      if (autoPad !== "NOTSET" && autoPad !== "VALID") {
        throw new ShapeError(
          node,
          `auto_pad=${autoPad} is not supported; export with explicit pads`,
        );
      }
      const ceil = getInt(node, "ceil_mode", 0);
      const out: Dim[] = [xs[0], node.opType === "Conv" ? (w ? w[0] : "C") : xs[1]];
      for (let i = 0; i < nsp; i++) {
        const len = xs[2 + i];
        if (typeof len !== "number") {
          throw new ShapeError(node, `spatial dimension ${i} must be static`);
        }
        const eff = (k[i] - 1) * d[i] + 1;
        const v = (len + p[i] + p[i + nsp] - eff) / s[i];
        out.push((ceil ? Math.ceil(v) : Math.floor(v)) + 1);
      }
      set(0, { dtype: dt, shape: out });
      if (node.outputs[1]) set(1, { dtype: "int64", shape: out });
      break;
    }
    case "ConvTranspose": {
      const w = shapeOf(1);
      if (!xs || !w) {
        set(0, { dtype: dt });
        break;
      }
      const nsp = xs.length - 2;
      const k = getInts(node, "kernel_shape", w.slice(2) as number[]);
      const s = getInts(node, "strides", new Array(nsp).fill(1));
      const d = getInts(node, "dilations", new Array(nsp).fill(1));
      const p = getInts(node, "pads", new Array(2 * nsp).fill(0));
      const op = getInts(node, "output_padding", new Array(nsp).fill(0));
      const group = getInt(node, "group", 1);
      const out: Dim[] = [xs[0], (w[1] as number) * group];
      for (let i = 0; i < nsp; i++) {
        const len = xs[2 + i] as number;
        out.push(s[i] * (len - 1) + op[i] + ((k[i] - 1) * d[i] + 1) - p[i] - p[i + nsp]);
      }
      set(0, { dtype: dt, shape: out });
      break;
    }
    case "DepthToSpace":
    case "SpaceToDepth": {
      const b = getInt(node, "blocksize");
      if (!xs || xs.length !== 4) {
        set(0, { dtype: dt });
        break;
      }
      const [n, c, h, w] = xs;
      const mul = (d: Dim, f: number): Dim => (typeof d === "number" ? d * f : `${d}*${f}`);
      const div = (d: Dim, f: number): Dim => (typeof d === "number" ? d / f : `${d}/${f}`);
      set(0, {
        dtype: dt,
        shape: node.opType === "DepthToSpace"
          ? [n, div(c, b * b), mul(h, b), mul(w, b)]
          : [n, mul(c, b * b), div(h, b), div(w, b)],
      });
      break;
    }
    case "Resize": {
      // ONNX Resize-13: each output axis is `sizes[i]` when sizes is given, else
      // floor(input · scales[i]); a symbolic axis keeps its name only at scale 1.
      const sizes = inp(3)?.value, scales = inp(2)?.floats;
      let out: (Dim | undefined)[] | undefined;
      if (xs && sizes?.length === xs.length) out = [...sizes];
      else if (xs && scales?.length === xs.length) {
        out = xs.map((d, i) =>
          scales[i] === 1 ? d : typeof d === "number" ? Math.floor(d * scales[i]) : undefined
        );
      }
      set(0, {
        dtype: dt,
        shape: out && out.every((d) => d !== undefined) ? (out as Dim[]) : undefined,
      });
      break;
    }
    case "GlobalAveragePool":
    case "GlobalMaxPool":
      set(0, { dtype: dt, shape: xs && [xs[0], xs[1], ...xs.slice(2).map(() => 1)] });
      break;
    case "BatchNormalization":
      set(0, { dtype: dt, shape: xs && [...xs] });
      for (let i = 1; i < node.outputs.length; i++) set(i, { dtype: dt, shape: shapeOf(3) });
      break;
    case "Flatten": {
      if (!xs) {
        set(0, { dtype: dt });
        break;
      }
      const axis = normAxis(getInt(node, "axis", 1), xs.length);
      set(0, { dtype: dt, shape: [product(xs.slice(0, axis)), product(xs.slice(axis))] });
      break;
    }
    case "Reshape": {
      const target = inp(1)?.value;
      if (!target || !xs) {
        set(0, { dtype: dt });
        break;
      }
      const allowZero = getInt(node, "allowzero", 0);
      const out: Dim[] = target.map((t, i) => (t === 0 && !allowZero ? xs[i] : t));
      const neg = out.findIndex((t) => t === -1);
      if (neg >= 0) {
        const known = out.filter((_, i) => i !== neg);
        const total = product(xs), part = product(known);
        if (typeof total === "number" && typeof part === "number") out[neg] = total / part;
        else {
          // Cancel symbolic factors: N*k / k' -> N*(k/k') when the numeric parts divide, with
          // products such as "N*2" (an earlier Reshape folding the batch) split into factors.
          const factors = (dims: Dim[]) => {
            const sym: string[] = [];
            let num = 1;
            for (const d of dims) {
              if (typeof d === "number") num *= d;
              else for (const f of d.split("*")) /^\d+$/.test(f) ? (num *= Number(f)) : sym.push(f);
            }
            return { sym, num };
          };
          const t = factors(xs), p = factors(known);
          const rest = [...t.sym];
          const cancels = p.sym.every((f) => {
            const i = rest.indexOf(f);
            return i >= 0 && rest.splice(i, 1).length === 1;
          });
          if (cancels && t.num % p.num === 0) {
            out[neg] = product([...rest, t.num / p.num]);
          } else out[neg] = `${node.outputs[0]}_d${neg}`;
        }
      }
      set(0, {
        dtype: dt,
        shape: out,
        value: x?.value && target.length === 1 ? x.value : undefined,
      });
      break;
    }
    case "Transpose": {
      if (!xs) {
        set(0, { dtype: dt });
        break;
      }
      const perm = getInts(node, "perm", xs.map((_, i) => xs.length - 1 - i));
      set(0, { dtype: dt, shape: perm.map((p) => xs[p]) });
      break;
    }
    case "Concat": {
      const shapes = node.inputs.map((_, i) => shapeOf(i));
      if (shapes.some((s) => !s)) {
        set(0, { dtype: dt });
        break;
      }
      const r = shapes[0]!.length;
      const axis = normAxis(getInt(node, "axis"), r);
      const out = [...shapes[0]!];
      out[axis] = product(shapes.map((s) => s![axis])) === 0 ? 0 : shapes.reduce<Dim>((acc, s) => {
        const d = s![axis];
        return typeof acc === "number" && typeof d === "number" ? acc + d : `${acc}+${d}`;
      }, 0);
      const vals = node.inputs.map((_, i) => inp(i)?.value);
      set(0, {
        dtype: dt,
        shape: out,
        value: r === 1 && vals.every((v) => v) ? vals.flat() as Dim[] : undefined,
      });
      break;
    }
    case "Split": {
      if (!xs) break;
      const axis = normAxis(getInt(node, "axis", 0), xs.length);
      const sizes = (opset >= 13 ? inp(1)?.value : getInts(node, "split", [])) as
        | number[]
        | undefined;
      node.outputs.forEach((_, i) => {
        const s = [...xs];
        s[axis] = sizes && sizes.length ? sizes[i] : (xs[axis] as number) / node.outputs.length;
        set(i, { dtype: dt, shape: s });
      });
      break;
    }
    case "Gather": {
      const idx = shapeOf(1);
      if (!xs || !idx) {
        set(0, { dtype: dt });
        break;
      }
      const axis = normAxis(getInt(node, "axis", 0), xs.length);
      let value: Dim[] | undefined;
      const iv = inp(1)?.value;
      if (x?.value && iv) value = iv.map((i) => x.value![normAxis(i as number, x.value!.length)]);
      set(0, { dtype: dt, shape: [...xs.slice(0, axis), ...idx, ...xs.slice(axis + 1)], value });
      break;
    }
    case "GatherElements":
    case "ScatterElements":
    case "ScatterND":
      set(0, { dtype: dt, shape: node.opType === "GatherElements" ? shapeOf(1) : xs && [...xs] });
      break;
    case "Unsqueeze": {
      const axes = opset >= 13 ? (inp(1)?.value as number[] | undefined) : getInts(node, "axes");
      if (!xs || !axes) {
        set(0, { dtype: dt });
        break;
      }
      const r = xs.length + axes.length;
      const ax = axes.map((a) => normAxis(a, r));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) out.push(ax.includes(i) ? 1 : xs[j++]);
      set(0, { dtype: dt, shape: out, value: x?.value });
      break;
    }
    case "Squeeze": {
      if (!xs) {
        set(0, { dtype: dt });
        break;
      }
      const axes =
        (opset >= 13 ? inp(1)?.value as number[] | undefined : getInts(node, "axes", [])) ??
          [];
      const ax = axes.length
        ? axes.map((a) => normAxis(a, xs.length))
        : xs.flatMap((d, i) => (d === 1 ? [i] : []));
      set(0, { dtype: dt, shape: xs.filter((_, i) => !ax.includes(i)), value: x?.value });
      break;
    }
    case "Shape": {
      const start = getInt(node, "start", 0),
        end = node.attrs.end ? getInt(node, "end") : undefined;
      const v = xs?.slice(start, end);
      set(0, { dtype: "int64", shape: [v ? v.length : (xs?.length ?? "r")], value: v });
      break;
    }
    case "Size":
      set(0, { dtype: "int64", shape: [], value: xs ? [product(xs)] : undefined });
      break;
    case "Constant": {
      const a = node.attrs.value;
      if (a?.type === "tensor") {
        set(0, {
          dtype: a.value.dtype,
          shape: [...a.value.dims],
          value: tensorValue(a.value),
          floats: floatValues(a.value),
        });
      } else if (node.attrs.value_int) {
        set(0, { dtype: "int64", shape: [], value: [getInt(node, "value_int")] });
      } else if (node.attrs.value_ints) {
        const v = getInts(node, "value_ints");
        set(0, { dtype: "int64", shape: [v.length], value: v });
      } else if (node.attrs.value_float) set(0, { dtype: "float32", shape: [] });
      else if (node.attrs.value_floats) {
        set(0, { dtype: "float32", shape: [(node.attrs.value_floats.value as number[]).length] });
      }
      break;
    }
    case "ConstantOfShape": {
      const v = x?.value;
      const a = node.attrs.value;
      set(0, { dtype: a?.type === "tensor" ? a.value.dtype : "float32", shape: v && [...v] });
      break;
    }
    case "Expand": {
      const v = inp(1)?.value;
      set(0, { dtype: dt, shape: v && xs ? broadcastShapes(xs, v) : undefined });
      break;
    }
    case "Range":
      set(0, { dtype: dt, shape: [`${node.outputs[0]}_d0`] });
      break;
    case "Slice": {
      if (!xs) {
        set(0, { dtype: dt });
        break;
      }
      const starts = inp(1)?.value as number[] | undefined,
        ends = inp(2)?.value as number[] | undefined;
      const axes = (inp(3)?.value as number[] | undefined) ?? starts?.map((_, i) => i);
      const steps = (inp(4)?.value as number[] | undefined) ?? starts?.map(() => 1);
      if (!starts || !ends || !axes || !steps) {
        set(0, { dtype: dt, shape: xs.map((_, i) => `${node.outputs[0]}_d${i}`) });
        break;
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
        const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
        const st = steps[i];
        let s = starts[i] < 0 ? starts[i] + len : starts[i];
        let e = ends[i] < 0 ? ends[i] + len : ends[i];
        s = st > 0 ? clamp(s, 0, len) : clamp(s, 0, len - 1);
        e = st > 0 ? clamp(e, 0, len) : clamp(e, -1, len - 1);
        out[a] = Math.max(0, Math.ceil((e - s) / st));
        if (value && xs.length === 1) {
          const v: Dim[] = [];
          for (let j = s; st > 0 ? j < e : j > e; j += st) v.push(value[j]);
          value = v;
        }
      });
      set(0, { dtype: dt, shape: out, value: xs.length === 1 ? value : undefined });
      break;
    }
    case "Pad": {
      const pads = inp(1)?.value as number[] | undefined;
      if (!xs || !pads) {
        set(0, { dtype: dt });
        break;
      }
      const r = xs.length;
      set(0, {
        dtype: dt,
        shape: xs.map((
          d,
          i,
        ) => (typeof d === "number"
          ? d + pads[i] + pads[i + r]
          : pads[i] + pads[i + r] === 0
          ? d
          : `${d}+pad`)
        ),
      });
      break;
    }
    case "ReduceMean":
    case "ReduceSum":
    case "ReduceMax":
    case "ReduceMin":
    case "ReduceProd":
    case "ReduceL2":
    case "ReduceSumSquare":
    case "ReduceLogSumExp": {
      if (!xs) {
        set(0, { dtype: dt });
        break;
      }
      const axesFromInput = node.opType === "ReduceSum" ? opset >= 13 : opset >= 18;
      const axes0 = axesFromInput
        ? (node.inputs[1] ? inp(1)?.value as number[] | undefined : [])
        : getInts(node, "axes", []);
      const keep = getInt(node, "keepdims", 1);
      if (axes0 === undefined) {
        set(0, { dtype: dt });
        break;
      }
      const noop = getInt(node, "noop_with_empty_axes", 0);
      const axes = axes0.length === 0
        ? (noop ? [] : xs.map((_, i) => i))
        : axes0.map((a) => normAxis(a, xs.length));
      const out: Dim[] = [];
      xs.forEach((d, i) => {
        if (!axes.includes(i)) out.push(d);
        else if (keep) out.push(1);
      });
      set(0, { dtype: dt, shape: out });
      break;
    }
    case "OneHot": {
      const depth = inp(1)?.value;
      const idx = shapeOf(0);
      set(0, {
        dtype: inp(2)?.dtype ?? "float32",
        shape: idx && depth ? [...idx, depth[0]] : undefined,
      });
      break;
    }
    default:
      // Unknown op: outputs stay unknown; the gradient builder refuses ops it has no rule for.
      for (let i = 0; i < node.outputs.length; i++) set(i, { dtype: dt });
  }
  void getFloat;
}
