/**
 * `deno task bench:int8-placement [--engine wasm|native] [--reps 25]`
 *
 * Where int8 quantisation of the cut is cheaper, per side (the data behind the default of
 * `codec.quantize`, runtime/config/quantize_mode.ts): the pneumonia_cnn split at its pooled
 * 64×32×7×7 cut, one engine, graphs run in alternation so that a busy machine's drift hits
 * both. Prints medians (ms) of:
 *
 * - clinic front forward, float graph vs the graph ending in int8 quantisation;
 * - clinic front backward, float gradient vs int8 codes dequantised in the graph;
 * - server step (deferred first part: loss and cut gradient), float cut vs int8 codes in and
 *   the gradient quantised out;
 * - the JavaScript codec's work that "graph" removes, per tensor: int8 encode (quantise +
 *   record) and decode (record + dequantise).
 *
 * A side's in-graph cost is its graph's extra time; its saving is the codec work it no longer
 * does (encode of what it sends, decode of what it receives). Prints figures; never fails on
 * time.
 *
 * @example
 * ```sh
 * deno task bench:int8-placement --engine wasm
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import type { Tensor } from "../models/tensor.ts";
import { createEngine, type EngineName } from "../runtime/engine/mod.ts";
import { SegmentRunner } from "../runtime/train/segment_runner.ts";
import { Int8Cut } from "../runtime/train/int8_cut.ts";
import { decodeTensors, encodeTensors } from "../runtime/codec/bundle.ts";
import { loadInt8Split } from "./_int8_split.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { engine: { type: "string", default: "wasm" }, reps: { type: "string", default: "25" } },
});
const engineName = values.engine as EngineName;
const REPS = Number(values.reps);
const { cut, batch, float: segments, quantised } = await loadInt8Split();
const engine = await createEngine(engineName);
const front = await SegmentRunner.create(engine, segments[0]);
const qFront = await SegmentRunner.create(engine, quantised[0], front);
const server = await SegmentRunner.create(engine, segments[1]);
const qServer = await SegmentRunner.create(engine, quantised[1], server);
for (const r of [front, qFront]) await r.warm();
for (const r of [server, qServer]) await r.warm({ deferred: true });
const int8 = new Int8Cut(cut, 1, 0);

const t: Record<string, number[]> = {};
async function time<T>(name: string, f: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  const out = await f();
  (t[name] ??= []).push(performance.now() - t0);
  return out;
}

for (let i = 0; i < REPS + 3; i++) {
  const f = await time("front forward, float", () => front.forward(batch.inputs));
  const q = await time("front forward, int8 out", () => qFront.forward(batch.inputs));
  const a = f.outputs[cut];
  const bytes = await time("codec int8 encode (JS quantise)", () => encodeTensors({ a }, { dtype: "int8", level: 0 }));
  const plain = await time("codec int8 decode (JS dequantise)", () => decodeTensors(bytes).get("a")!);
  const view = decodeTensors(bytes, undefined, { int8Views: true }).get("a")!;
  await time("server step, float cut", () => server.stepDeferred({ [cut]: plain }, batch.target));
  const s = await time("server step, int8 in/out", () => qServer.stepDeferred(int8.feeds(view)!, batch.target));
  const g = int8.view(s.inputGrads);
  const gPlain = { dtype: "float32", dims: g.dims, data: (g.data as Float32Array).slice() } as Tensor;
  await time("front backward, float grad", () => front.backward(f.saved, { [cut]: gPlain }));
  await time("front backward, int8 grad", () => qFront.backward(q.saved, int8.feeds(g)!));
  if (i < 3) for (const k of Object.keys(t)) t[k] = [];
}

const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(`int8 placement, engine ${engineName}, batch 64, cut 64×32×7×7; medians of ${REPS} (ms):`);
for (const [k, v] of Object.entries(t)) console.log(`  ${k.padEnd(36)} ${median(v).toFixed(2)}`);
const extra = (a: string, b: string) => median(t[b]) - median(t[a]);
console.log(
  `clinic: graph adds ${extra("front forward, float", "front forward, int8 out").toFixed(2)} ms (forward) + ` +
    `${extra("front backward, float grad", "front backward, int8 grad").toFixed(2)} ms (backward), saves ` +
    `${(median(t["codec int8 encode (JS quantise)"]) + median(t["codec int8 decode (JS dequantise)"])).toFixed(2)} ms of JS codec`,
);
console.log(
  `server: graph adds ${extra("server step, float cut", "server step, int8 in/out").toFixed(2)} ms (step), saves ` +
    `${(median(t["codec int8 encode (JS quantise)"]) + median(t["codec int8 decode (JS dequantise)"])).toFixed(2)} ms of JS codec`,
);
for (const r of [front, qFront, server, qServer]) await r.release();
await engine.dispose();
