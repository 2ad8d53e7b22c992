/**
 * `deno task bench:int8-sessions [--pairs 600]`
 *
 * What the in-graph int8 quantisation of the cut costs at the level of whole onnxruntime-node
 * session runs, graph by graph: the pneumonia_cnn split at its pooled 64×32×7×7 cut (batch 64),
 * its three training graphs (front forward, server step, front backward), each as the float
 * graph and as the graph of `models/train/quantize_segments.ts`, run in alternating pairs on
 * the same feeds. bench:int8-nodes gives the kernels' own time; this gives what a session run
 * pays in all, which is what a training step pays.
 *
 * Per graph it prints the median of each order's paired differences (quantised − float, with the
 * quantised graph run first and run second) and their mean, the crossover estimate: on this
 * VM the second run of a pair is slower by up to 0.3 ms whichever graph it is, and the mean
 * of the two orders cancels that.
 *
 * A control row runs the float backward with one `Mul(grad, 1)` in front: the same one extra
 * 64×32×7×7 float intermediate that the quantised backward's DequantizeLinear makes, with a
 * kernel of about 20 µs, so what the control costs beyond that is the session's, not the
 * dequantiser's. Prints figures; never fails on time.
 *
 * @example
 * ```sh
 * deno task bench:int8-sessions --pairs 1000
 * ```
 * @module
 */
import * as ort from "onnxruntime-node";
import type { InferenceSession } from "onnxruntime-common";
import { parseArgs } from "node:util";
import { cloneGraph, type Model } from "../models/graph/ir.ts";
import type { Tensor } from "../models/tensor.ts";
import { tensor } from "../models/tensor.ts";
import { writeModel } from "../models/onnx/write_model.ts";
import { gradName } from "../models/train/compile.ts";
import { graphFeeds, loadInt8Split } from "./_int8_split.ts";
import { summarize } from "./_timing.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { pairs: { type: "string", default: "600" } },
});
const PAIRS = Number(values.pairs);
if (!Number.isInteger(PAIRS) || PAIRS < 2) {
  throw new RangeError(`--pairs ${values.pairs}: expected an integer >= 2 (one pair of each order)`);
}
const WARM = 20;
const { cut, batch, float, quantised } = await loadInt8Split();

/** The float backward with `Mul(grad, 1)` in front of its first reader of the cut's gradient. */
function withLeadingMul(m: Model): Model {
  const copy: Model = { ...m, opsets: new Map(m.opsets), graph: cloneGraph(m.graph) };
  const g = copy.graph, grad = gradName(cut);
  const input = g.inputs.find((v) => v.name === grad)!;
  input.name = `${grad}.in`;
  g.initializers.set("control.one", tensor("float32", [], new Float32Array([1])));
  g.nodes.unshift({
    name: "control.mul",
    domain: "",
    opType: "Mul",
    inputs: [input.name, "control.one"],
    outputs: [grad],
    attrs: {},
  });
  return copy;
}

interface Bound {
  session: InferenceSession;
  feeds: Record<string, ort.Tensor>;
}

async function bind(m: Model, feeds: Record<string, Tensor>): Promise<Bound> {
  const session = await ort.InferenceSession.create(writeModel(m), {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
    graphOptimizationLevel: "all",
    // The native engine's settings (runtime/engine/native_engine.ts).
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  } as InferenceSession.SessionOptions);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const n of session.inputNames) {
    const t = feeds[n] ?? feeds[n.replace(/\.in$/, "")];
    if (!t) throw new TypeError(`nothing to feed ${JSON.stringify(n)}`);
    ortFeeds[n] = new ort.Tensor(t.dtype, t.data as Float32Array, t.dims);
  }
  return { session, feeds: ortFeeds };
}

/** Alternating pairs of `a` and `b`: median ms of each, and the two orders' paired medians. */
async function pairs(
  a: Bound,
  b: Bound,
): Promise<{ a: number; b: number; first: number; second: number }> {
  const ta: number[] = [], tb: number[] = [], bFirst: number[] = [], bSecond: number[] = [];
  const time = async (x: Bound) => {
    const t0 = performance.now();
    await x.session.run(x.feeds);
    return performance.now() - t0;
  };
  for (let i = 0; i < PAIRS + WARM; i++) {
    const bGoesFirst = i % 2 === 0;
    const y = bGoesFirst ? await time(b) : 0;
    const x = await time(a);
    const z = bGoesFirst ? y : await time(b);
    if (i < WARM) continue;
    ta.push(x);
    tb.push(z);
    (bGoesFirst ? bFirst : bSecond).push(z - x);
  }
  const med = (v: number[]) => summarize(v).median;
  return { a: med(ta), b: med(tb), first: med(bFirst), second: med(bSecond) };
}

const floatFeeds = await graphFeeds(float, batch);
const quantisedFeeds = await graphFeeds(quantised, batch);
const rows: [string, Bound, Bound][] = [];
for (const [graph, i] of [["forward", 0], ["step", 1], ["backward", 0]] as const) {
  rows.push([
    graph,
    await bind(float[i][graph] as Model, floatFeeds[graph]),
    await bind(quantised[i][graph] as Model, quantisedFeeds[graph]),
  ]);
}
rows.push([
  "backward + Mul (control)",
  await bind(float[0].backward as Model, floatFeeds.backward),
  await bind(withLeadingMul(float[0].backward as Model), floatFeeds.backward),
]);

console.log(
  `in-graph int8 at the session level, onnxruntime-node (1 thread), pneumonia_cnn 64×32×7×7 cut, ` +
    `batch 64; ${navigator.hardwareConcurrency} CPUs; ${PAIRS} alternating pairs a graph, ms:`,
);
console.log(
  "graph                       float   other   other−float (other first / second)   crossover",
);
let total = 0;
for (const [label, a, b] of rows) {
  const r = await pairs(a, b);
  const crossover = (r.first + r.second) / 2;
  if (!label.includes("control")) total += crossover;
  console.log(
    `${label.padEnd(26)} ${r.a.toFixed(3).padStart(6)}  ${r.b.toFixed(3).padStart(6)}   ` +
      `${r.first.toFixed(3).padStart(6)} / ${r.second.toFixed(3).padStart(6)}`.padEnd(36) +
      `${crossover.toFixed(3).padStart(8)}`,
  );
  await a.session.release();
  await b.session.release();
}
console.log(`quantised − float, the three graphs of a step (crossover): ${total.toFixed(2)} ms`);
