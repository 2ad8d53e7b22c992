/**
 * LSTM and GRU unrolled for training (models/train/unroll_recurrent.ts): the unrolled
 * forward equals onnxruntime's own LSTM/GRU kernels (native and wasm) on every direction,
 * with and without initial states, biases, peepholes and sequence_lens; the gradients of the
 * unrolled graph pass finite differences (tests/models/grad/fd_harness.ts); what is not
 * supported is refused with a GradError code naming the node and the value.
 */
import { equal, ok, throws } from "node:assert/strict";
import {
  type Attr,
  intAttr,
  intsAttr as intsAttrOf,
  type Model,
  stringAttr,
} from "../../../models/graph/ir.ts";
import { GradError } from "../../../models/grad/grad_error.ts";
import type { Facts } from "../../../models/graph/infer_shapes.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { unrollRecurrent } from "../../../models/train/unroll_recurrent.ts";
import { type CompiledSegment, compileModel } from "../../../models/train/compile.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import { createEngine, type Engine } from "../../../runtime/engine/mod.ts";
import { assertGradients, buildModel, type GradCase, makeRng, rand } from "../grad/fd_harness.ts";

const rng = makeRng(1913);
const strings = (value: string[]): Attr => ({ type: "strings", value });
const r = (dims: number[], scale = 1) => rand(rng, dims, { lo: -scale, hi: scale });

function int32(values: number[]): Tensor<"int32"> {
  return tensor("int32", [values.length], Int32Array.from(values));
}

/** A recurrent case: which optional inputs are given, by ONNX input position. */
interface RecCase {
  name: string;
  op: "LSTM" | "GRU";
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  direction?: "forward" | "reverse" | "bidirectional";
  bias?: boolean;
  initial?: boolean;
  peepholes?: boolean;
  lens?: number[];
  linearBeforeReset?: number;
}

/**
 * The case as a GradCase: X (and the initial states) as graph inputs, W, R, B, P as weights,
 * sequence_lens as a constant; the output sums Y, Y_h and Y_c (broadcast over time) so every
 * output's gradient flows.
 */
function gradCase(c: RecCase): GradCase {
  const dirs = c.direction === "bidirectional" ? 2 : 1, g = c.op === "LSTM" ? 4 : 3;
  const H = c.hidden;
  const inputs: Record<string, Tensor> = { X: r([c.seq, c.batch, c.input]) };
  const weights: Record<string, Tensor> = {
    W: r([dirs, g * H, c.input]),
    R: r([dirs, g * H, H]),
  };
  const constants: Record<string, Tensor> = {};
  const names = ["X", "W", "R", "", "", "", "", ""];
  if (c.bias) (weights.B = r([dirs, 2 * g * H]), names[3] = "B");
  if (c.lens) (constants.L = int32(c.lens), names[4] = "L");
  if (c.initial) {
    inputs.H0 = r([dirs, c.batch, H]);
    names[5] = "H0";
    if (c.op === "LSTM") (inputs.C0 = r([dirs, c.batch, H]), names[6] = "C0");
  }
  if (c.peepholes) (weights.P = r([dirs, 3 * H]), names[7] = "P");
  while (names[names.length - 1] === "") names.pop();
  const attrs: Record<string, Attr> = { hidden_size: intAttr(H) };
  if (c.direction) attrs.direction = stringAttr(c.direction);
  if (c.linearBeforeReset !== undefined) attrs.linear_before_reset = intAttr(c.linearBeforeReset);
  const outs = c.op === "LSTM" ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"];
  const nodes = [
    { opType: c.op, inputs: names, outputs: outs, attrs },
    { opType: "Add", inputs: ["Y", "Y_h"], outputs: ["s1"] },
    ...(c.op === "LSTM" ? [{ opType: "Add", inputs: ["s1", "Y_c"], outputs: ["out"] }] : []),
  ];
  return {
    name: c.name,
    inputs,
    weights,
    constants,
    nodes,
    output: c.op === "LSTM" ? "out" : "s1",
  };
}

/** The case's model with its recurrent node unrolled, all three outputs as graph outputs. */
function models(c: RecCase): { native: Model; unrolled: Model; feeds: Record<string, Tensor> } {
  const gc = gradCase(c);
  const native = buildModel(gc);
  const rec = native.graph.nodes[0];
  const outs = rec.outputs.map((name) => ({ name, dtype: "float32" as const }));
  native.graph.nodes = [rec];
  native.graph.outputs = outs;
  const facts: Facts = new Map();
  facts.set("X", { dtype: "float32", shape: [c.seq, "N", c.input] });
  const u = unrollRecurrent(rec, facts, 17);
  const unrolled: Model = {
    ...native,
    graph: {
      ...native.graph,
      nodes: u.nodes,
      initializers: new Map([...native.graph.initializers, ...u.initializers]),
    },
  };
  return { native, unrolled, feeds: { ...gc.inputs } };
}

/** Runs the native recurrent op and the unrolled graph; returns the largest |difference|. */
async function forwardGap(engine: Engine, c: RecCase): Promise<number> {
  const { native, unrolled, feeds } = models(c);
  const a = await engine.load(writeModel(native), { name: `${c.name}.op` });
  const b = await engine.load(writeModel(unrolled), { name: `${c.name}.unrolled` });
  try {
    const ya = await a.run(feeds), yb = await b.run(feeds);
    let gap = 0;
    for (const k of a.outputNames) {
      equal(yb[k].dims.join(), ya[k].dims.join(), `${c.name}: ${k} dims`);
      const p = ya[k].data as Float32Array, q = yb[k].data as Float32Array;
      for (let i = 0; i < p.length; i++) gap = Math.max(gap, Math.abs(p[i] - q[i]));
    }
    return gap;
  } finally {
    await a.release();
    await b.release();
  }
}

const base = { seq: 4, batch: 3, input: 2, hidden: 3 } as const;
const CASES: RecCase[] = [
  { ...base, name: "LSTM forward, initial states, bias", op: "LSTM", bias: true, initial: true },
  { ...base, name: "LSTM forward, no bias, no initial state", op: "LSTM" },
  { ...base, name: "LSTM peepholes", op: "LSTM", bias: true, initial: true, peepholes: true },
  { ...base, name: "LSTM reverse", op: "LSTM", direction: "reverse", bias: true, initial: true },
  {
    ...base,
    name: "LSTM bidirectional",
    op: "LSTM",
    direction: "bidirectional",
    bias: true,
    initial: true,
  },
  { ...base, name: "LSTM sequence_lens", op: "LSTM", bias: true, initial: true, lens: [4, 2, 1] },
  {
    ...base,
    name: "LSTM bidirectional sequence_lens, no initial state",
    op: "LSTM",
    direction: "bidirectional",
    bias: true,
    lens: [3, 4, 1],
  },
  {
    ...base,
    name: "GRU lbr 1 (PyTorch), initial state",
    op: "GRU",
    bias: true,
    initial: true,
    linearBeforeReset: 1,
  },
  { ...base, name: "GRU lbr 0, initial state", op: "GRU", bias: true, initial: true },
  { ...base, name: "GRU lbr 1, no initial state", op: "GRU", bias: true, linearBeforeReset: 1 },
  { ...base, name: "GRU lbr 0, no bias, no initial state", op: "GRU" },
  {
    ...base,
    name: "GRU bidirectional sequence_lens lbr 1",
    op: "GRU",
    direction: "bidirectional",
    bias: true,
    initial: true,
    lens: [2, 4, 3],
    linearBeforeReset: 1,
  },
  {
    ...base,
    name: "GRU reverse lbr 0",
    op: "GRU",
    direction: "reverse",
    bias: true,
    initial: true,
  },
];

for (const engineName of ["native", "wasm"] as const) {
  Deno.test(`LSTM/GRU unrolled forward equals onnxruntime's kernels (${engineName})`, async (t) => {
    const engine = await createEngine(engineName);
    try {
      for (const c of CASES) {
        await t.step(c.name, async () => {
          const gap = await forwardGap(engine, c);
          ok(gap < 2e-6, `${c.name}: unrolled differs from onnxruntime by ${gap}`);
        });
      }
    } finally {
      await engine.dispose();
    }
  });
}

for (const engineName of ["native", "wasm"] as const) {
  Deno.test(`LSTM/GRU gradients pass finite differences (${engineName})`, async (t) => {
    const engine = await createEngine(engineName);
    try {
      for (const c of CASES) {
        await t.step(c.name, async () => {
          await assertGradients(engine, gradCase(c));
        });
      }
    } finally {
      await engine.dispose();
    }
  });
}

const lstmNode = (attrs: Record<string, Attr>) => ({
  name: "rnn",
  opType: "LSTM",
  domain: "",
  inputs: ["X", "W", "R"],
  outputs: ["Y"],
  attrs: { hidden_size: intAttr(3), ...attrs },
});
const xFacts = (seq: number | string): Facts =>
  new Map([["X", { dtype: "float32", shape: [seq, "N", 2] }]]);

Deno.test("refusals name the node, the value and what was expected", () => {
  throws(() => unrollRecurrent(lstmNode({}), xFacts("T"), 17), (e: unknown) => {
    ok(e instanceof GradError);
    equal(e.code, "UNKNOWN_SHAPE");
    ok(
      /node "rnn" \(LSTM\): input "X" has sequence length T, expected a number/.test(e.message),
      e.message,
    );
    return true;
  });
  throws(
    () =>
      unrollRecurrent(lstmNode({ activations: strings(["Relu", "Tanh", "Tanh"]) }), xFacts(4), 17),
    (e: unknown) => {
      ok(e instanceof GradError);
      equal(e.code, "UNSUPPORTED_ATTR");
      ok(
        /activations \[Relu, Tanh, Tanh\] are not supported, expected the defaults \[Sigmoid, Tanh, Tanh\]/
          .test(e.message),
        e.message,
      );
      return true;
    },
  );
  for (
    const [attrs, text] of [
      [{ clip: { type: "float", value: 3 } as Attr }, /attribute clip is not supported/],
      [{ input_forget: intAttr(1) }, /input_forget = 1 is not supported, expected 0/],
      [{ layout: intAttr(1) }, /layout = 1 is not supported, expected 0/],
    ] as const
  ) {
    throws(() => unrollRecurrent(lstmNode(attrs), xFacts(4), 17), (e: unknown) => {
      ok(e instanceof GradError);
      equal(e.code, "UNSUPPORTED_ATTR");
      ok(text.test(e.message), e.message);
      return true;
    });
  }
  throws(
    () =>
      unrollRecurrent(lstmNode({}), new Map([["X", { dtype: "float64", shape: [4, "N", 2] }]]), 17),
    {
      name: "GradError",
      code: "UNSUPPORTED_ATTR",
      message: 'node "rnn" (LSTM): X dtype float64, expected float32',
    },
  );
  // The default activations, spelt out as exporters write them, are accepted.
  const acts = strings(["Sigmoid", "Tanh", "Tanh"]);
  ok(unrollRecurrent(lstmNode({ activations: acts }), xFacts(4), 17).nodes.length > 0);
});

/**
 * An LSTM classifier as torch.onnx.export (opset 17, dynamic batch) writes `nn.LSTM(2, 3,
 * num_layers=2, batch_first=True)` followed by a Linear on the last hidden state: X
 * [N, seq, input] transposed to time-major; one zeros tensor [layers, N, hidden] built from
 * X's runtime shape (Shape → Gather → Concat → ConstantOfShape), sliced per layer into the
 * initial states; layer 1's Y squeezed into layer 2. `zeroValue` ≠ 0 makes the states a
 * constant that is not zero (kept as an input, not dropped).
 */
function exportedClassifier(op: "LSTM" | "GRU", zeroValue = 0): GradCase {
  const H = 3, g = op === "LSTM" ? 4 : 3, seq = 5;
  const i64 = (v: number) => tensor("int64", [1], BigInt64Array.from([BigInt(v)]));
  const layer = (i: number, x: string, inSize: number) => {
    const states = op === "LSTM" ? [`h0_${i}`, `h0_${i}`] : [`h0_${i}`];
    return {
      weights: {
        [`W${i}`]: r([1, g * H, inSize]),
        [`R${i}`]: r([1, g * H, H]),
        [`B${i}`]: r([1, 2 * g * H]),
      },
      nodes: [
        { opType: "Slice", inputs: ["zeros", `s${i}`, `e${i}`, "zero"], outputs: [`h0_${i}`] },
        {
          opType: op,
          inputs: [x, `W${i}`, `R${i}`, `B${i}`, "", ...states],
          outputs: [`Y${i}`, `Yh${i}`],
          attrs: {
            hidden_size: intAttr(H),
            ...(op === "GRU" ? { linear_before_reset: intAttr(1) } : {}),
          },
        },
      ],
    };
  };
  const l1 = layer(1, "xt", 2), l2 = layer(2, "y1s", H);
  return {
    name: `exported ${op} classifier, batch N`,
    batchDim: "N",
    inputs: { X: r([4, seq, 2]) },
    weights: { ...l1.weights, ...l2.weights, Wfc: r([2, H]), bfc: r([2]) },
    constants: {
      zero: i64(0),
      one: i64(1),
      two: i64(2),
      hid: i64(H),
      s1: i64(0),
      e1: i64(1),
      s2: i64(1),
      e2: i64(2),
    },
    nodes: [
      {
        opType: "Transpose",
        inputs: ["X"],
        outputs: ["xt"],
        attrs: { perm: intsAttrOf([1, 0, 2]) },
      },
      { opType: "Shape", inputs: ["X"], outputs: ["xs"] },
      { opType: "Gather", inputs: ["xs", "zero"], outputs: ["n"], attrs: { axis: intAttr(0) } },
      {
        opType: "Concat",
        inputs: ["two", "n", "hid"],
        outputs: ["zs"],
        attrs: { axis: intAttr(0) },
      },
      {
        opType: "ConstantOfShape",
        inputs: ["zs"],
        outputs: ["zeros"],
        attrs: {
          value: { type: "tensor", value: tensor("float32", [1], Float32Array.from([zeroValue])) },
        },
      },
      ...l1.nodes,
      { opType: "Squeeze", inputs: ["Y1", "one"], outputs: ["y1s"] },
      ...l2.nodes,
      { opType: "Squeeze", inputs: ["Yh2", "zero"], outputs: ["last"] },
      {
        opType: "Gemm",
        inputs: ["last", "Wfc", "bfc"],
        outputs: ["logits"],
        attrs: { transB: intAttr(1) },
      },
    ],
    output: "logits",
  };
}

for (const op of ["LSTM", "GRU"] as const) {
  Deno.test(`an exported two-layer ${op} classifier with a dynamic batch trains (native, wasm)`, async () => {
    for (const name of ["native", "wasm"] as const) {
      const engine = await createEngine(name);
      try {
        await assertGradients(engine, exportedClassifier(op));
        // Initial states of 0.5 are not dropped: they go through the unrolled MatMul path
        // with a symbolic batch.
        await assertGradients(engine, {
          ...exportedClassifier(op, 0.5),
          name: `${op} classifier, states 0.5`,
        });
      } finally {
        await engine.dispose();
      }
    }
  });
}

Deno.test("a cut between two LSTM layers: split gradients equal the unsplit step's (native)", async () => {
  // PyTorch's shared zeros tensor is built before the cut; compileModel drops zero initial
  // states (drop_zero_states.ts), so nothing but the cut crosses.
  const c = exportedClassifier("LSTM");
  const model = buildModel(c);
  const x = c.inputs!.X, target = rand(makeRng(8), [4, 2]);
  const engine = await createEngine("native");
  const runners: SegmentRunner[] = [];
  const runner = async (seg: CompiledSegment) => {
    const s = await SegmentRunner.create(engine, seg);
    runners.push(s);
    return s;
  };
  try {
    const [whole] = compileModel(model, { loss: "mse" });
    const [client, server] = compileModel(model, { loss: "mse", cuts: ["y1s"] });
    const ref = await (await runner(whole)).step({ X: x }, target);
    const cli = await runner(client), srv = await runner(server);
    const f = await cli.forward({ X: x });
    const s = await srv.step({ y1s: f.outputs.y1s }, target);
    const b = await cli.backward(f.saved, { y1s: s.inputGrads.y1s });
    ok(Math.abs(s.loss - ref.loss) <= 1e-6 * Math.abs(ref.loss), `loss ${s.loss} vs ${ref.loss}`);
    const split = new Map([...b.paramGrads, ...s.paramGrads]);
    equal([...split.keys()].sort().join(), [...ref.paramGrads.keys()].sort().join());
    for (const [name, g] of ref.paramGrads) {
      const p = g.data as Float32Array, q = split.get(name)!.data as Float32Array;
      let num = 0, den = 0;
      for (let i = 0; i < p.length; i++) (num += (p[i] - q[i]) ** 2, den += p[i] ** 2);
      ok(den > 0 && Math.sqrt(num / den) < 1e-5, `${name}: relative error ${Math.sqrt(num / den)}`);
    }
  } finally {
    for (const s of runners) await s.release();
    await engine.dispose();
  }
});

Deno.test({
  // On the llvmpipe fallback adapter: 63 s with a cold Mesa shader cache, 6 s warm.
  name: "webgpu: gradients of the exported LSTM and GRU classifiers agree with native within 1e-4",
  // ort-web's WebGPU device lives for the whole process.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const native = await createEngine("native"), gpu = await createEngine("webgpu");
    try {
      for (const op of ["LSTM", "GRU"] as const) {
        const c = exportedClassifier(op);
        const [seg] = compileModel(buildModel(c), { loss: "mse", inputGrads: true });
        const bytes = writeModel(seg.step!);
        const feeds: Record<string, Tensor> = {
          ...c.inputs,
          [seg.targetName!]: rand(makeRng(5), [4, 2]),
        };
        for (const [k, v] of seg.params) feeds[k] = v;
        const a = await native.load(bytes, { name: `${op}.native` }),
          b = await gpu.load(bytes, { name: `${op}.webgpu` });
        const nat = await a.run(feeds), web = await b.run(feeds);
        await a.release();
        await b.release();
        const names = Object.keys(nat).filter((k) => k.startsWith("grad."));
        ok(
          names.includes("grad.W1") && names.includes("grad.R2") && names.includes("grad.X"),
          names.join(),
        );
        for (const k of [...names, "loss"]) {
          const p = web[k].data as Float32Array, q = nat[k].data as Float32Array;
          let num = 0, den = 0;
          for (let i = 0; i < q.length; i++) (num += (p[i] - q[i]) ** 2, den += q[i] ** 2);
          ok(den > 0, `${op} ${k}: native gradient is all zeros`);
          ok(
            Math.sqrt(num / den) <= 1e-4,
            `${op} ${k}: webgpu vs native relative error ${Math.sqrt(num / den)}`,
          );
        }
      }
    } finally {
      await native.dispose();
    }
  },
});
