/**
 * LSTM and GRU unrolled for training (models/train/unroll_recurrent.ts): the unrolled
 * forward equals onnxruntime's own LSTM/GRU kernels (native and wasm) on every direction,
 * with and without initial states, biases, peepholes and sequence_lens; the gradients of the
 * unrolled graph pass finite differences (tests/models/grad/fd_harness.ts); what is not
 * supported is refused with a GradError code naming the node and the value.
 */
import { equal, ok, throws } from "node:assert/strict";
import { type Attr, intAttr, type Model, stringAttr } from "../../../models/graph/ir.ts";
import { GradError } from "../../../models/grad/grad_error.ts";
import type { Facts } from "../../../models/graph/infer_shapes.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { unrollRecurrent } from "../../../models/train/unroll_recurrent.ts";
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
  // The default activations, spelt out as exporters write them, are accepted.
  const acts = strings(["Sigmoid", "Tanh", "Tanh"]);
  ok(unrollRecurrent(lstmNode({ activations: acts }), xFacts(4), 17).nodes.length > 0);
});
