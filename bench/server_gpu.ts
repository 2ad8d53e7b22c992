/**
 * Server step on the GPU against the CPU, for the merged batches a parallel schedule builds
 * (docs/design/parallel_schedules.md): pneumonia_cnn's server segment (after `features.5`, the cut of
 * `bench:channel`), one whole vanilla STEP as the server runs it (`ServerModel.step` without
 * `deferUpdate`: forward, loss, backward and the Adam update) on cut batches of 64 to 4096
 * rows, per engine: `native` (onnxruntime-node, CPU) and `native-webgpu` (onnxruntime-node's
 * WebGPU provider, Dawn on Vulkan). The activations are synthetic (non-negative, seeded: the
 * cut follows ReLU and MaxPool), which is all a timing needs; both engines start from the
 * fixture's weights, so the first step's loss and cut gradient are compared across engines.
 *
 * Never pass/fail on time: it prints figures. Where an engine cannot start (no GPU adapter)
 * it says why and prints the other engine's rows.
 *
 * ```sh
 * deno run --allow-read --allow-env --allow-ffi --allow-sys bench/server_gpu.ts \
 *   [--rows 64,256,1024,4096] [--reps 10] [--engines native,native-webgpu] [--threads 1]
 *   [--cut features.5|features.2]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { type Tensor, tensor } from "../models/tensor.ts";
import { readModel } from "../models/onnx/read_model.ts";
import { compileModel } from "../models/train/compile.ts";
import { createEngine, type Engine, type EngineName } from "../runtime/engine/mod.ts";
import { ServerModel } from "../runtime/server/server_model.ts";
import { formatTable, summarize } from "./_timing.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string", default: "64,256,1024,4096" },
    reps: { type: "string", default: "10" },
    engines: { type: "string", default: "native,native-webgpu" },
    threads: { type: "string", default: "1" },
    cut: { type: "string", default: "features.5" },
  },
});
const ROWS = values.rows!.split(",").map(Number);
const REPS = Number(values.reps);
const ENGINES = values.engines!.split(",") as EngineName[];
const THREADS = Number(values.threads);
// features.5 (default): the server runs the head (two Gemm); features.2: also a Conv, Relu and
// MaxPool block, the heavier server segment a GPU is more likely to pay off on.
const CUT = `/features/${values.cut}/MaxPool_output_0`;

const model = readModel(
  await Deno.readFile(new URL("../tests/fixtures/models/pneumonia_cnn.onnx", import.meta.url)),
  "pneumonia_cnn.onnx",
);
const segments = compileModel(model, { loss: "bce", cuts: [CUT] });
const CUT_DIMS = segments[1].inputs[0].shape!.slice(1) as number[];

/** Seeded non-negative activations and 0/1 labels for `rows` rows (xorshift32). */
function batchOf(rows: number): { act: Tensor; labels: Tensor } {
  let s = 0x9e3779b9 ^ rows;
  const next = () => ((s ^= s << 13, s ^= s >>> 17, s ^= s << 5) >>> 0) / 2 ** 32;
  const n = rows * CUT_DIMS.reduce((a, b) => a * b, 1);
  const act = Float32Array.from({ length: n }, () => Math.max(0, next() * 2 - 0.5));
  const labels = Float32Array.from({ length: rows }, () => (next() < 0.5 ? 0 : 1));
  return {
    act: tensor("float32", [rows, ...CUT_DIMS], act),
    labels: tensor("float32", [rows, 1], labels),
  };
}

interface Row {
  ms: number;
  q3: number;
  first: { loss: number; grad: Float32Array };
}

/** Times REPS steps (after two warm-ups, which include shader compilation on a GPU). */
async function measure(engine: Engine, rows: number): Promise<Row> {
  const sm = await ServerModel.create(
    engine,
    segments,
    "vanilla",
    { kind: "adam", lr: 1e-3 },
    rows,
    {
      deferUpdate: false,
    },
  );
  const { act, labels } = batchOf(rows);
  const r0 = await sm.step(act, labels);
  const first = { loss: r0.loss, grad: Float32Array.from(r0.cutGrad.data as Float32Array) };
  await sm.step(act, labels);
  const ms: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await sm.step(act, labels);
    ms.push(performance.now() - t0);
  }
  await sm.release();
  const s = summarize(ms);
  return { ms: s.median, q3: s.q3, first };
}

const results = new Map<EngineName, Map<number, Row>>();
console.log(
  `server step (forward + loss + backward + Adam) of pneumonia_cnn after ${CUT}, ` +
    `cut [rows, ${CUT_DIMS.join(", ")}] float32; ${REPS} steps per size after 2 warm-ups; ` +
    `CPU threads ${THREADS}; ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs`,
);
for (const name of ENGINES) {
  let engine: Engine;
  try {
    engine = await createEngine(name, { threads: THREADS });
  } catch (e) {
    console.log(`${name}: not measured: ${e instanceof Error ? e.message : e}`);
    continue;
  }
  const byRows = new Map<number, Row>();
  for (const rows of ROWS) {
    byRows.set(rows, await measure(engine, rows));
    console.log(`${name} ${rows} rows: ${byRows.get(rows)!.ms.toFixed(2)} ms`);
  }
  results.set(name, byRows);
  await engine.dispose();
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0, diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

const header = ["rows", ...ENGINES.flatMap((e) => [`${e} ms (q3)`, `${e} rows/s`])];
const base = results.get(ENGINES[0]);
if (ENGINES.length > 1) {
  header.push(`speed-up ${ENGINES[1]}/${ENGINES[0]}`, "first step: |Δloss|, max |Δgrad|/max|grad|");
}
const table = ROWS.map((rows) => {
  const cells = [String(rows)];
  for (const e of ENGINES) {
    const r = results.get(e)?.get(rows);
    cells.push(
      r ? `${r.ms.toFixed(2)} (${r.q3.toFixed(2)})` : "-",
      r ? (rows / r.ms * 1000).toFixed(0) : "-",
    );
  }
  if (ENGINES.length > 1) {
    const a = base?.get(rows), b = results.get(ENGINES[1])?.get(rows);
    cells.push(a && b ? `${(a.ms / b.ms).toFixed(2)}×` : "-");
    cells.push(
      a && b
        ? `${Math.abs(a.first.loss - b.first.loss).toExponential(1)}, ${
          maxRelDiff(b.first.grad, a.first.grad).toExponential(1)
        }`
        : "-",
    );
  }
  return cells;
});
console.log(formatTable(header, table));
