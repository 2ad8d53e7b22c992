/**
 * `deno task bench:int8-nodes [--runs 100]`
 *
 * What the in-graph int8 quantisation of the cut costs inside onnxruntime-node, node by node:
 * the pneumonia_cnn split at its pooled 64×32×7×7 cut (batch 64), its three training graphs
 * (front forward, server step, front backward) as float graphs and as the graphs of
 * `models/train/quantize_segments.ts`, run in turn with ONNX Runtime's profiler on. Prints,
 * per graph, each node the quantised graph has and the float one lacks (the quantise and
 * dequantise nodes, and any copy ONNX Runtime makes of them) with the median of its kernel
 * time, and their sum.
 *
 * Kernel times are what a busy machine disturbs least: wall-clock differences between two
 * 10 ms steps (bench:channel's paired difference) drift by more than these nodes cost while
 * other processes share the CPUs. They leave out what a session run adds per extra input and
 * output, which bench:channel's paired difference includes. The profiler adds its own
 * overhead to each node, so read the sums as upper bounds on one machine and compare them
 * between versions, not with bench:channel. Prints figures; never fails on time.
 *
 * @example
 * ```sh
 * deno task bench:int8-nodes --runs 200
 * ```
 * @module
 */
import * as ort from "onnxruntime-node";
import type { InferenceSession } from "onnxruntime-common";
import { parseArgs } from "node:util";
import type { Model } from "../models/graph/ir.ts";
import { writeModel } from "../models/onnx/write_model.ts";
import { graphFeeds, loadInt8Split } from "./_int8_split.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "100" } },
});
const RUNS = Number(values.runs);
const { batch, float, quantised } = await loadInt8Split();
const GRAPHS = [["forward", 0], ["step", 1], ["backward", 0]] as const;

interface Profiled {
  label: string;
  session: InferenceSession;
  feeds: Record<string, ort.Tensor>;
  prefix: string;
}

const dir = await Deno.makeTempDir({ prefix: "int8_nodes_" });
const profiled: Profiled[] = [];
for (const [label, segs] of [["float", float], ["int8", quantised]] as const) {
  const feeds = await graphFeeds(segs, batch);
  for (const [graph, i] of GRAPHS) {
    const prefix = `${dir}/${label}_${graph}`;
    const session = await ort.InferenceSession.create(writeModel(segs[i][graph] as Model), {
      executionProviders: ["cpu"],
      intraOpNumThreads: 1,
      enableProfiling: true,
      profileFilePrefix: prefix,
      // The native engine's settings (runtime/engine/native_engine.ts).
      extra: { session: { intra_op: { allow_spinning: "0" } } },
    } as InferenceSession.SessionOptions);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const n of session.inputNames) {
      const t = feeds[graph][n];
      if (!t) throw new TypeError(`${label} ${graph}: nothing to feed ${JSON.stringify(n)}`);
      ortFeeds[n] = new ort.Tensor(t.dtype, t.data as Float32Array, t.dims);
    }
    profiled.push({ label: `${label} ${graph}`, session, feeds: ortFeeds, prefix });
  }
}
for (let r = 0; r < RUNS; r++) for (const p of profiled) await p.session.run(p.feeds);

const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
/** Kernel microseconds per node (every run) from one session's profile. */
async function kernels(p: Profiled): Promise<Map<string, number[]>> {
  p.session.endProfiling();
  await p.session.release();
  const name = p.prefix.slice(dir.length + 1);
  const file = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith(`${name}_`));
  if (!file) throw new Error(`no profile of ${p.label} in ${dir}`);
  const per = new Map<string, number[]>();
  for (const e of JSON.parse(await Deno.readTextFile(`${dir}/${file.name}`))) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const node = `${e.name.slice(0, -"_kernel_time".length)} (${e.args?.op_name ?? "?"})`;
    per.set(node, [...per.get(node) ?? [], e.dur]);
  }
  return per;
}

const byLabel = new Map<string, Map<string, number[]>>();
for (const p of profiled) byLabel.set(p.label, await kernels(p));
await Deno.remove(dir, { recursive: true });

console.log(
  `in-graph int8 nodes, onnxruntime-node (1 thread), pneumonia_cnn 64×32×7×7 cut, batch 64; ` +
    `${navigator.hardwareConcurrency} CPUs; median kernel µs of ${RUNS} runs, profiler on:`,
);
let total = 0;
for (const [graph] of GRAPHS) {
  const base = byLabel.get(`float ${graph}`)!, q = byLabel.get(`int8 ${graph}`)!;
  let sum = 0;
  for (const [node, us] of q) {
    if (base.has(node)) continue;
    sum += median(us);
    console.log(`  ${graph.padEnd(8)} ${node.padEnd(72)} ${median(us).toFixed(0).padStart(5)}`);
  }
  total += sum;
  console.log(`  ${graph}: ${sum.toFixed(0)} µs in the nodes the float graph lacks`);
}
console.log(`in-graph int8 nodes, all three graphs: ${total.toFixed(0)} µs a step`);
