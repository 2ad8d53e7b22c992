/**
 * Inference throughput of pneumonia_cnn at batch 64 on each engine: wasm with 1 and 2
 * threads (each in its own Worker, since ort-web fixes the thread count once per worker),
 * native (onnxruntime-node, CPU) and webgpu (whatever adapter `navigator.gpu` offers; llvmpipe
 * on a machine without a GPU). Prints figures; never passes or fails on time.
 *
 * Run: `deno run -A --unstable-webgpu bench/engine_inference.ts [--runs 20] [--skip webgpu,native]`
 *
 * @example
 * ```sh
 * deno run -A --unstable-webgpu bench/engine_inference.ts --runs 30
 * ```
 * @module
 */

import { createEngine, type EngineName, type EngineOptions } from "../runtime/engine/engine.ts";
import { tensor } from "../models/tensor.ts";

const MODEL = new URL("../tests/fixtures/models/pneumonia_cnn.onnx", import.meta.url);
const BATCH = 64;

/** One configuration's timings, in milliseconds per run. */
export interface Timing {
  label: string;
  loadMs: number;
  runsMs: number[];
}

/**
 * Loads pneumonia_cnn on one engine and times `runs` inferences at batch 64 after `warmup`.
 *
 * @example
 * ```ts
 * import { timeEngine } from "./engine_inference.ts";
 * const t = await timeEngine("native", {}, 5, 1);
 * ```
 */
export async function timeEngine(
  name: EngineName,
  opts: EngineOptions,
  runs: number,
  warmup: number,
  model: Uint8Array = Deno.readFileSync(MODEL),
): Promise<Timing> {
  const engine = await createEngine(name, opts);
  const t0 = performance.now();
  const session = await engine.load(model, { name: "pneumonia_cnn" });
  const loadMs = performance.now() - t0;
  // Deterministic pseudo-random pixels; the values do not affect the work done.
  const data = new Float32Array(BATCH * 784).map((_, k) => Math.sin(k * 12.9898) * 0.5);
  const feeds = { image: tensor("float32", [BATCH, 1, 28, 28], data) };
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run(feeds);
    runsMs.push(performance.now() - t);
  }
  await engine.dispose();
  const label = name === "native"
    ? `native(${opts.threads ?? "ort default"} thr)`
    : `${name}(${opts.threads ?? 1} thr)`;
  return { label, loadMs, runsMs };
}

function wasmInWorker(threads: number, runs: number): Promise<Timing> {
  const worker = new Worker(import.meta.url, { type: "module" });
  return new Promise<Timing>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<Timing | { error: string }>) => {
      worker.terminate();
      if ("error" in e.data) reject(new Error(e.data.error));
      else resolve(e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new Error(e.message));
    };
    worker.postMessage({ threads, runs });
  });
}

function report(t: Timing): void {
  const s = [...t.runsMs].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)];
  console.log(
    `${t.label.padEnd(24)} load ${t.loadMs.toFixed(0).padStart(6)} ms   run median ${
      median.toFixed(2).padStart(8)
    } ms` +
      `   min ${s[0].toFixed(2).padStart(8)} ms   ${
        (BATCH / (median / 1000)).toFixed(0).padStart(7)
      } images/s`,
  );
}

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<{ threads: number; runs: number }>) => void) | null;
  postMessage?: (m: unknown) => void;
};

// A Worker's main module is this file too, so tell the two apart by the scope first
// (Deno's main thread has no global postMessage), never by import.meta.main alone.
const inWorker = typeof scope.postMessage === "function";
if (inWorker) {
  // Inside the Worker started by wasmInWorker.
  scope.onmessage = async (e) => {
    try {
      scope.postMessage!(await timeEngine("wasm", { threads: e.data.threads }, e.data.runs, 3));
    } catch (err) {
      scope.postMessage!({ error: String(err) });
    }
  };
} else if (import.meta.main) {
  const args = Deno.args;
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 20;
  const skipAt = args.indexOf("--skip");
  const skip = new Set(skipAt >= 0 ? args[skipAt + 1].split(",") : []);
  console.log(
    `pneumonia_cnn, batch ${BATCH}, ${runs} timed runs each, ${navigator.hardwareConcurrency} CPUs`,
  );
  report(await wasmInWorker(1, runs));
  report(await wasmInWorker(2, runs));
  if (!skip.has("native")) report(await timeEngine("native", {}, runs, 3));
  if (!skip.has("native")) report(await timeEngine("native", { threads: 1 }, runs, 3));
  if (!skip.has("webgpu")) {
    const adapter = await (navigator as unknown as { gpu?: GPU }).gpu?.requestAdapter();
    console.log(`webgpu adapter: ${adapter?.info.description || adapter?.info.vendor || "none"}`);
    if (adapter) report(await timeEngine("webgpu", {}, Math.min(runs, 5), 2));
  }
}
