/**
 * Benchmark of one training step — forward, BCE (or cross-entropy) loss, backward, SGD
 * update with momentum 0.9 — of `pneumonia_cnn.onnx` at batch 64, on every engine, with
 * PyTorch on the same two cores as the baseline in the same run.
 *
 * Each configuration runs in its own subprocess (this script with `--child`): the wasm
 * thread count is process-wide in onnxruntime-web, and a separate process also gives each
 * engine its own peak-memory figure. The parent writes the model, the batch and the initial
 * weights to a temporary folder once, so every engine and PyTorch train the same network
 * from the same weights on the same batch; the step-1 loss column cross-checks that.
 *
 * Per configuration and round: `--warmup` untimed steps (session load and, on WebGPU,
 * shader compilation happen here), then `--steps` timed steps. The CPU configurations and
 * PyTorch run in `--rounds` interleaved rounds (default 3) and their timed steps are pooled,
 * so that load from other work on the machine falls on all of them alike; WebGPU (the
 * llvmpipe software adapter on a machine without a GPU: seconds per step) runs one round
 * of `--gpu-warmup` + `--gpu-steps`. The load average is printed at start and end. It reports
 * - samples/s = batch ÷ median step time (step = graph run + optimizer update), with the
 *   quartiles and extremes of the step time, and each round's median, as the spread;
 * - the split of the median step into the graph (`SegmentRunner.step`: the fused forward +
 *   loss + backward graph, feeds and fetches included) and the optimizer update
 *   (`Optimizer.step`, a JavaScript loop over the parameters);
 * - peak memory, two ways: the largest `Deno.memoryUsage().rss` sampled every 5 ms and after
 *   every step (the resident set while stepping), and the kernel's high-water mark
 *   `ru_maxrss` of `getrusage(2)` (the whole subprocess lifetime, model compilation
 *   included), which PyTorch's process reports too.
 *
 * It never passes or fails on time. Targets (reported, not asserted): native ≥ 1.0× PyTorch,
 * wasm ≥ 0.5× PyTorch.
 *
 * Run: `npx -y deno@2.9.6 task bench:step [--model FILE.onnx] [--batch 64] [--steps 20]
 * [--warmup 3] [--gpu-steps 4] [--gpu-warmup 1] [--rounds 3] [--only pytorch,native,native2,wasm1,wasm2,webgpu]
 * [--json results.json]`
 *
 * Without `--model` it uses `tests/fixtures/models/pneumonia_cnn.onnx` (relative to the repo
 * root) and, when that is missing, the zoo CNN (`models/zoo/cnn.ts`, seeded weights). The
 * sequence classifiers `tests/fixtures/models/tiny_encoder.onnx` (transformer encoder) and
 * `lstm_cls.onnx` (bidirectional LSTM) have a PyTorch baseline too (`--model` them).
 *
 * @example
 * ```ts
 * // deno task bench:step --json /tmp/step.json   (prints a table; never passes or fails)
 * ```
 * @module
 */

import { readModel } from "../models/onnx/read_model.ts";
import { writeModel } from "../models/onnx/write_model.ts";
import type { Model } from "../models/graph/ir.ts";
import { compileModel, type CompiledSegment } from "../models/train/compile.ts";
import type { LossKind } from "../models/grad/loss.ts";
import { createOptimizer } from "../models/train/optimizer.ts";
import { buildCnn } from "../models/zoo/cnn.ts";
import { type Tensor, tensor } from "../models/tensor.ts";
import { createEngine, type EngineName } from "../runtime/engine/mod.ts";
import { SegmentRunner } from "../runtime/train/segment_runner.ts";
import { readNpz, writeNpz } from "../runtime/data/npz.ts";
import { Rng } from "../runtime/data/rng.ts";
import { formatTable, kernelPeakRss, mib, RssSampler, summarize, type Summary } from "./_timing.ts";

const LR = 0.01;
const MOMENTUM = 0.9;
const PYTHON = "/usr/bin/python3";
const DEFAULT_MODEL = new URL("../tests/fixtures/models/pneumonia_cnn.onnx", import.meta.url);
const CONFIG = new URL("../deno.json", import.meta.url);
const SELF = new URL(import.meta.url);
const PYTORCH_SCRIPT = new URL("./pytorch_step.py", import.meta.url);

/** Command-line options. */
interface Options {
  model?: string;
  batch: number;
  steps: number;
  warmup: number;
  gpuSteps: number;
  gpuWarmup: number;
  rounds: number;
  json?: string;
  only?: Set<string>;
  /** Child mode: the work folder written by the parent. */
  child?: string;
  engine?: EngineName;
  threads: number;
}

/** What `--only` may pick. */
const CONFIG_KEYS = ["pytorch", "native", "native2", "wasm1", "wasm2", "webgpu"];

const USAGE = "usage: bench/train_step.ts [--model FILE.onnx] [--batch N] [--steps N] [--warmup N] " +
  "[--gpu-steps N] [--gpu-warmup N] [--rounds N] [--only pytorch,native,native2,wasm1,wasm2,webgpu] [--json FILE]";

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { batch: 64, steps: 20, warmup: 3, gpuSteps: 4, gpuWarmup: 1, rounds: 3, threads: 1 };
  const int = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`${flag} must be an integer >= ${min}, got ${v}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const [name, inline] = flag.includes("=") ? flag.split(/=(.*)/s, 2) : [flag, undefined];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case "--model":
        o.model = value();
        break;
      case "--batch":
        o.batch = int(name, value(), 1);
        break;
      case "--steps":
        o.steps = int(name, value(), 1);
        break;
      case "--warmup":
        o.warmup = int(name, value(), 1);
        break;
      case "--gpu-steps":
        o.gpuSteps = int(name, value(), 1);
        break;
      case "--gpu-warmup":
        o.gpuWarmup = int(name, value(), 1);
        break;
      case "--rounds":
        o.rounds = int(name, value(), 1);
        break;
      case "--json":
        o.json = value();
        break;
      case "--only": {
        o.only = new Set(value().split(",").map((s) => s.trim()));
        const bad = [...o.only].filter((k) => !CONFIG_KEYS.includes(k));
        if (bad.length) throw new TypeError(`--only: unknown ${bad.join(", ")}; expected some of ${CONFIG_KEYS.join(",")}`);
        break;
      }
      case "--child":
        o.child = value();
        break;
      case "--engine": {
        const e = value();
        if (e !== "native" && e !== "wasm" && e !== "webgpu") {
          throw new TypeError(`--engine must be native, wasm or webgpu, got ${JSON.stringify(e)}`);
        }
        o.engine = e;
        break;
      }
      case "--threads":
        o.threads = int(name, value(), 1);
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        throw new TypeError(`unknown option ${JSON.stringify(flag)}\n${USAGE}`);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------
// The workload: model, batch, initial weights
// ---------------------------------------------------------------------------------------

/** Parameter shapes of the architectures bench/pytorch_step.py can rebuild. */
const PYTORCH_ARCHS: Record<string, Record<string, number[]>> = {
  pneumonia_cnn: {
    "features.0.weight": [16, 1, 3, 3],
    "features.0.bias": [16],
    "features.3.weight": [32, 16, 3, 3],
    "features.3.bias": [32],
    "head.1.weight": [64, 1568],
    "head.1.bias": [64],
    "head.3.weight": [1, 64],
    "head.3.bias": [1],
  },
  zoo_cnn: {
    "block1.conv.weight": [16, 1, 3, 3],
    "block1.conv.bias": [16],
    "block1.bn.weight": [16],
    "block1.bn.bias": [16],
    "block2.conv.weight": [32, 16, 3, 3],
    "block2.conv.bias": [32],
    "block2.bn.weight": [32],
    "block2.bn.bias": [32],
    "head.fc1.weight": [64, 1568],
    "head.fc1.bias": [64],
    "head.fc2.weight": [1, 64],
    "head.fc2.bias": [1],
  },
};

// The sequence classifiers of tests/fixtures/models/seq_models.py (PyTorch's own names).
const encoderLayer = (i: number): Record<string, number[]> => ({
  [`encoder.layers.${i}.self_attn.in_proj_weight`]: [48, 16],
  [`encoder.layers.${i}.self_attn.in_proj_bias`]: [48],
  [`encoder.layers.${i}.self_attn.out_proj.weight`]: [16, 16],
  [`encoder.layers.${i}.self_attn.out_proj.bias`]: [16],
  [`encoder.layers.${i}.linear1.weight`]: [32, 16],
  [`encoder.layers.${i}.linear1.bias`]: [32],
  [`encoder.layers.${i}.linear2.weight`]: [16, 32],
  [`encoder.layers.${i}.linear2.bias`]: [16],
  [`encoder.layers.${i}.norm1.weight`]: [16],
  [`encoder.layers.${i}.norm1.bias`]: [16],
  [`encoder.layers.${i}.norm2.weight`]: [16],
  [`encoder.layers.${i}.norm2.bias`]: [16],
});
const lstmLayer = (l: number, inSize: number, sfx: string): Record<string, number[]> => ({
  [`rnn.weight_ih_l${l}${sfx}`]: [32, inSize],
  [`rnn.weight_hh_l${l}${sfx}`]: [32, 8],
  [`rnn.bias_ih_l${l}${sfx}`]: [32],
  [`rnn.bias_hh_l${l}${sfx}`]: [32],
});
PYTORCH_ARCHS.tiny_encoder = {
  cls: [1, 1, 16],
  "embed.weight": [16, 5],
  "embed.bias": [16],
  ...encoderLayer(0),
  ...encoderLayer(1),
  "head.weight": [3, 16],
  "head.bias": [3],
};
PYTORCH_ARCHS.lstm_cls = {
  "embed.weight": [8, 5],
  "embed.bias": [8],
  ...lstmLayer(0, 8, ""),
  ...lstmLayer(0, 8, "_reverse"),
  ...lstmLayer(1, 16, ""),
  ...lstmLayer(1, 16, "_reverse"),
  "head.weight": [3, 16],
  "head.bias": [3],
};

/** Which PyTorch architecture has exactly these parameters, if any. */
function pytorchArch(params: ReadonlyMap<string, Tensor>): string | undefined {
  for (const [arch, shapes] of Object.entries(PYTORCH_ARCHS)) {
    const names = Object.keys(shapes);
    if (names.length !== params.size) continue;
    if (names.every((n) => params.get(n)?.dims.join(",") === shapes[n].join(","))) return arch;
  }
  return undefined;
}

/** The binary-logit models train with BCE, the others with softmax cross-entropy. */
function lossFor(model: Model): LossKind {
  const out = model.graph.outputs[0]?.shape;
  return out && out.length === 2 && out[1] === 1 ? "bce" : "ce";
}

interface Workload {
  dir: string;
  label: string;
  arch?: string;
  loss: LossKind;
  batch: number;
}

/** Writes model.onnx and batch.npz (inputs, target, initial parameters and buffers) to a temp folder. */
async function prepare(opts: Options): Promise<Workload> {
  let model: Model, label: string;
  const path = opts.model ?? decodeURIComponent(DEFAULT_MODEL.pathname);
  let exists = true;
  try {
    Deno.statSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || opts.model) throw e;
    exists = false;
  }
  if (exists) {
    model = readModel(await Deno.readFile(path), path);
    label = path;
  } else {
    const rng = new Rng(2);
    model = buildCnn({ random: () => rng.float() }).model;
    label = `zoo CNN (models/zoo/cnn.ts; ${path} not found)`;
  }
  const loss = lossFor(model);
  const [seg] = compileModel(model, { loss });
  const rng = new Rng(1);
  const arrays = new Map<string, Tensor>();
  for (const v of seg.inputs) {
    if (v.dtype !== "float32" || !v.shape || v.shape.slice(1).some((d) => typeof d !== "number")) {
      throw new TypeError(
        `input ${JSON.stringify(v.name)} is ${v.dtype} [${v.shape}]; the bench feeds float32 inputs with static non-batch dims only`,
      );
    }
    const dims = [opts.batch, ...(v.shape.slice(1) as number[])];
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.float();
    arrays.set(`input.${v.name}`, tensor("float32", dims, data));
  }
  const classes = Number(model.graph.outputs[0].shape?.[1] ?? 2);
  if (loss === "bce") {
    const t = new Float32Array(opts.batch * classes);
    for (let i = 0; i < t.length; i++) t[i] = rng.int(2);
    arrays.set("target", tensor("float32", [opts.batch, classes], t));
  } else {
    const t = new BigInt64Array(opts.batch);
    for (let i = 0; i < t.length; i++) t[i] = BigInt(rng.int(classes));
    arrays.set("target", tensor("int64", [opts.batch], t));
  }
  for (const [k, v] of [...seg.params, ...seg.buffers]) arrays.set(k, v);
  const dir = await Deno.makeTempDir({ prefix: "splitgate_bench_step_" });
  await Deno.writeFile(`${dir}/model.onnx`, writeModel(model));
  await Deno.writeFile(`${dir}/batch.npz`, writeNpz(arrays, { level: 0 }));
  return { dir, label, arch: pytorchArch(seg.params), loss, batch: opts.batch };
}

// ---------------------------------------------------------------------------------------
// Child: one engine configuration
// ---------------------------------------------------------------------------------------

/** What one configuration measured (a child's JSON line, or PyTorch's). */
interface Measurement {
  engine: string;
  threads: number;
  /** WebGPU adapter description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  adapter?: string;
  /** Whether the WebGPU adapter is a software (fallback) one. */
  software?: boolean;
  version?: string;
  graphMs: number[];
  updateMs: number[];
  stepMs: number[];
  /** Session load + warm-up, ms. */
  warmupMs?: number;
  firstLoss: number;
  lastLoss: number;
  steps: number;
  sampledPeakRss?: number;
  kernelPeakRss?: number;
  /** Median step time of each round (parent only). */
  roundMedians?: number[];
}

async function runChild(opts: Options): Promise<void> {
  const dir = opts.child!;
  const engineName = opts.engine ?? "native";
  const model = readModel(await Deno.readFile(`${dir}/model.onnx`), "model.onnx");
  const arrays = readNpz(await Deno.readFile(`${dir}/batch.npz`), "batch.npz");
  const loss = lossFor(model);
  const [seg] = compileModel(model, { loss });
  console.error(`[${engineName} x${opts.threads}] model compiled`);
  const withInitial: CompiledSegment = {
    ...seg,
    params: new Map([...seg.params].map(([k]) => [k, arrays.get(k) as Tensor])),
    buffers: new Map([...seg.buffers].map(([k]) => [k, arrays.get(k) as Tensor])),
  };
  const inputs: Record<string, Tensor> = {};
  for (const v of seg.inputs) inputs[v.name] = arrays.get(`input.${v.name}`) as Tensor;
  const target = arrays.get("target") as Tensor;

  let adapter: string | undefined, software: boolean | undefined;
  if (engineName === "webgpu") {
    const a = await (navigator as { gpu?: GPU }).gpu?.requestAdapter();
    if (a) {
      adapter = a.info.description || `${a.info.vendor} ${a.info.device}`.trim();
      software = (a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
        /llvmpipe|swiftshader|software/i.test(adapter);
    }
  }
  // Progress on stderr: when a child hangs, the parent's error message shows where.
  const progress = (what: string) => console.error(`[${engineName} x${opts.threads}] ${what}`);
  const engine = await createEngine(engineName, { threads: opts.threads });
  progress("engine created; first step loads the session");
  const runner = await SegmentRunner.create(engine, withInitial);
  const opt = createOptimizer({ kind: "sgd", lr: LR, momentum: MOMENTUM });
  const rss = new RssSampler(5);
  const graphMs: number[] = [], updateMs: number[] = [], stepMs: number[] = [];
  const losses: number[] = [];
  // No runner.warm(): it loads the step and infer sessions concurrently, which the WebGPU
  // provider refuses ("another WebGPU EP inference session is being created"); the first
  // warm-up step loads the step session instead.
  const w0 = performance.now();
  let warmupMs = 0;
  for (let i = 0; i < opts.warmup + opts.steps; i++) {
    if (i === opts.warmup) warmupMs = performance.now() - w0;
    const t0 = performance.now();
    const r = await runner.step(inputs, target);
    const t1 = performance.now();
    opt.step(runner.params, r.paramGrads);
    const t2 = performance.now();
    rss.sample();
    losses.push(r.loss);
    progress(`step ${i + 1}/${opts.warmup + opts.steps} done`);
    if (i >= opts.warmup) {
      graphMs.push(t1 - t0);
      updateMs.push(t2 - t1);
      stepMs.push(t2 - t0);
    }
  }
  const sampledPeakRss = rss.stop();
  await runner.release();
  await engine.dispose();
  progress("sessions released");
  const m: Measurement = {
    engine: engineName,
    threads: opts.threads,
    adapter,
    software,
    graphMs,
    updateMs,
    stepMs,
    warmupMs,
    firstLoss: losses[0],
    lastLoss: losses[losses.length - 1],
    steps: losses.length,
    sampledPeakRss,
    kernelPeakRss: kernelPeakRss(),
  };
  console.log(JSON.stringify(m));
  progress("result written");
}

// ---------------------------------------------------------------------------------------
// Parent: run every configuration, print the table
// ---------------------------------------------------------------------------------------

interface Config {
  key: string;
  engine: EngineName;
  threads: number;
  steps: number;
  warmup: number;
  timeoutMs: number;
}

interface Outcome {
  key: string;
  measurement?: Measurement;
  error?: string;
}

function lastLines(text: string, n: number): string {
  return text.trim().split("\n").filter((l) => !/^\s+at /.test(l)).slice(-n).join("\n");
}

async function spawnJson(cmd: string, args: string[], timeoutMs: number): Promise<{ json?: unknown; code: number; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  let json: unknown;
  if (line) {
    try {
      json = JSON.parse(line);
    } catch { /* reported below as a failure */ }
  }
  return { json, code: out.code, stderr: out.signal ? `killed by ${out.signal} after ${timeoutMs} ms\n${stderr}` : stderr };
}

async function runConfig(w: Workload, c: Config): Promise<Outcome> {
  const args = [
    "run",
    "--config",
    decodeURIComponent(CONFIG.pathname),
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    "--unstable-webgpu",
    decodeURIComponent(SELF.pathname),
    "--child",
    w.dir,
    "--engine",
    c.engine,
    "--threads",
    String(c.threads),
    "--steps",
    String(c.steps),
    "--warmup",
    String(c.warmup),
  ];
  try {
    const r = await spawnJson(Deno.execPath(), args, c.timeoutMs);
    if (r.code === 0 && r.json) return { key: c.key, measurement: r.json as Measurement };
    return { key: c.key, error: `exit ${r.code}: ${lastLines(r.stderr, 3)}` };
  } catch (e) {
    return { key: c.key, error: String(e) };
  }
}

const PYTORCH_MISSING = "PyTorch baseline: not available (install python3-torch to compare)";

async function runPytorch(w: Workload, opts: Options): Promise<Outcome> {
  if (!w.arch) {
    return { key: "pytorch", error: "PyTorch baseline: not available for this model (pytorch_step.py rebuilds pneumonia_cnn, the zoo CNN, tiny_encoder and lstm_cls only)" };
  }
  try {
    const r = await spawnJson(PYTHON, [
      decodeURIComponent(PYTORCH_SCRIPT.pathname),
      "--npz",
      `${w.dir}/batch.npz`,
      "--arch",
      w.arch,
      "--loss",
      w.loss,
      "--steps",
      String(opts.steps),
      "--warmup",
      String(opts.warmup),
      "--threads",
      "2",
      "--lr",
      String(LR),
      "--momentum",
      String(MOMENTUM),
    ], 180_000);
    if (r.code === 3) return { key: "pytorch", error: PYTORCH_MISSING };
    if (r.code === 0 && r.json) return { key: "pytorch", measurement: r.json as Measurement };
    return { key: "pytorch", error: `PyTorch baseline failed (exit ${r.code}): ${lastLines(r.stderr, 3)}` };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { key: "pytorch", error: PYTORCH_MISSING };
    return { key: "pytorch", error: `PyTorch baseline failed: ${e}` };
  }
}

function engineLabel(m: Measurement): string {
  if (m.engine === "pytorch") return `pytorch ${m.version ?? ""}`.trim();
  if (m.engine === "webgpu") return m.software ? "webgpu, llvmpipe (software)" : `webgpu (${m.adapter ?? "adapter unknown"})`;
  if (m.engine === "native") return "native (ort-node CPU)";
  return m.engine;
}

const f1 = (x: number) => x.toFixed(1);

/** The 1, 5 and 15 minute load averages (needs --allow-sys), or "n/a". */
function loadavg(): string {
  try {
    return Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
  } catch {
    return "n/a";
  }
}
const f2 = (x: number) => x.toFixed(2);

interface Row {
  key: string;
  engine: string;
  threads: number;
  samplesPerSec: number;
  ratioVsPytorch?: number;
  step: Summary;
  graph: Summary;
  update: Summary;
  warmupMs?: number;
  sampledPeakRss?: number;
  kernelPeakRss?: number;
  firstLoss: number;
  lastLoss: number;
  steps: number;
  roundMedians?: number[];
}

function toRow(key: string, m: Measurement, batch: number, pytorchRate?: number): Row {
  const step = summarize(m.stepMs);
  const samplesPerSec = batch / (step.median / 1000);
  return {
    key,
    engine: engineLabel(m),
    threads: m.threads,
    samplesPerSec,
    ratioVsPytorch: pytorchRate ? samplesPerSec / pytorchRate : undefined,
    step,
    graph: summarize(m.graphMs),
    update: summarize(m.updateMs),
    warmupMs: m.warmupMs,
    sampledPeakRss: m.sampledPeakRss,
    kernelPeakRss: m.kernelPeakRss,
    firstLoss: m.firstLoss,
    lastLoss: m.lastLoss,
    steps: m.steps,
    roundMedians: m.roundMedians,
  };
}

/** Pools the timed steps of every round of one configuration; peaks are the largest seen. */
function merge(key: string, os: Outcome[]): Outcome {
  const ms = os.map((o) => o.measurement).filter((m): m is Measurement => m !== undefined);
  if (ms.length === 0) return os[0];
  const max = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => x !== undefined);
    return v.length ? Math.max(...v) : undefined;
  };
  return {
    key,
    measurement: {
      ...ms[0],
      graphMs: ms.flatMap((m) => m.graphMs),
      updateMs: ms.flatMap((m) => m.updateMs),
      stepMs: ms.flatMap((m) => m.stepMs),
      lastLoss: ms[ms.length - 1].lastLoss,
      sampledPeakRss: max(ms.map((m) => m.sampledPeakRss)),
      kernelPeakRss: max(ms.map((m) => m.kernelPeakRss)),
      roundMedians: ms.map((m) => summarize(m.stepMs).median),
    },
    error: os.find((o) => o.error)?.error,
  };
}

async function runParent(opts: Options): Promise<void> {
  const want = (k: string) => !opts.only || opts.only.has(k);
  const w = await prepare(opts);
  const t0 = performance.now();
  console.log(`train step bench: ${w.label}`);
  console.log(
    `batch ${w.batch}, loss ${w.loss}, SGD lr ${LR} momentum ${MOMENTUM}; ${opts.rounds} round(s) of ` +
      `${opts.warmup} warm-up + ${opts.steps} timed steps (webgpu: one round of ${opts.gpuWarmup} + ${opts.gpuSteps}); ` +
      `${navigator.hardwareConcurrency} logical CPUs; load average ${loadavg()}`,
  );
  const loadStart = loadavg();
  const cpuTimeout = 45_000;
  const configs: Config[] = [
    // The native engine's default, one intra-op thread (runtime/engine/engine.ts says why) ...
    { key: "native", engine: "native", threads: 1, steps: opts.steps, warmup: opts.warmup, timeoutMs: cpuTimeout },
    // ... and two, which this row shows to be slower for a model this small.
    { key: "native2", engine: "native", threads: 2, steps: opts.steps, warmup: opts.warmup, timeoutMs: cpuTimeout },
    { key: "wasm1", engine: "wasm", threads: 1, steps: opts.steps, warmup: opts.warmup, timeoutMs: cpuTimeout },
    { key: "wasm2", engine: "wasm", threads: 2, steps: opts.steps, warmup: opts.warmup, timeoutMs: cpuTimeout },
    { key: "webgpu", engine: "webgpu", threads: 1, steps: opts.gpuSteps, warmup: opts.gpuWarmup, timeoutMs: 180_000 },
  ];
  // One process at a time, so no configuration competes with another. The CPU ones run
  // in `--rounds` interleaved rounds (PyTorch, native, ..., then again): when other work
  // on the machine comes and goes, each configuration sees a share of it, and the pooled
  // median is compared with PyTorch's pooled median.
  const byKey = new Map<string, Outcome[]>();
  const record = (o: Outcome, extra = "") => {
    const m = o.measurement;
    console.log(m ? `${f1(summarize(m.stepMs).median)} ms/step${extra}` : o.key === "pytorch" ? "skipped" : "failed");
    byKey.set(o.key, [...(byKey.get(o.key) ?? []), o]);
  };
  const say = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text));
  for (let round = 1; round <= opts.rounds; round++) {
    if (want("pytorch") && !(round > 1 && byKey.get("pytorch")?.[0].error)) {
      say(`  round ${round}: pytorch ... `);
      record(await runPytorch(w, opts));
    }
    for (const c of configs) {
      if (!want(c.key) || (c.engine === "webgpu" && round > 1)) continue;
      // A configuration that hung once is not retried: it would cost another full timeout.
      if (byKey.get(c.key)?.some((o) => o.error?.includes("killed by"))) continue;
      say(`  round ${round}: ${c.key} ... `);
      const o = await runConfig(w, c);
      record(o, o.measurement && c.engine === "webgpu" ? ` (warm-up incl. shader compile ${f1(o.measurement.warmupMs! / 1000)} s)` : "");
    }
  }
  const outcomes: Outcome[] = [...byKey].map(([key, os]) => merge(key, os));
  await Deno.remove(w.dir, { recursive: true });

  const py = outcomes.find((o) => o.key === "pytorch")?.measurement;
  const pyRate = py ? w.batch / (summarize(py.stepMs).median / 1000) : undefined;
  const rows = outcomes.filter((o) => o.measurement).map((o) => toRow(o.key, o.measurement!, w.batch, pyRate));
  console.log();
  console.log(formatTable(
    [
      "engine",
      "threads",
      "samples/s",
      "vs PyTorch",
      "step ms median [q1-q3] (min-max)",
      "graph ms",
      "update ms",
      "peak RSS sampled",
      "peak RSS (maxrss)",
      "loss step 1",
      "round medians ms",
    ],
    rows.map((r) => [
      r.engine,
      String(r.threads),
      f1(r.samplesPerSec),
      r.ratioVsPytorch === undefined ? "n/a" : `${f2(r.ratioVsPytorch)}x`,
      `${f1(r.step.median)} [${f1(r.step.q1)}-${f1(r.step.q3)}] (${f1(r.step.min)}-${f1(r.step.max)})`,
      f1(r.graph.median),
      f2(r.update.median),
      mib(r.sampledPeakRss),
      mib(r.kernelPeakRss),
      r.firstLoss.toFixed(6),
      (r.roundMedians ?? []).map(f1).join(" / "),
    ]),
  ));
  console.log();
  for (const o of outcomes) if (o.error) console.log(o.key === "pytorch" ? o.error : `${o.key}: failed: ${o.error}`);
  console.log(
    "samples/s = batch / median step; step = graph (fused forward+loss+backward, feeds and fetches included) + update (SGD).\n" +
      "peak RSS sampled = max Deno.memoryUsage().rss (current resident set) every 5 ms and after each step, while stepping;\n" +
      "peak RSS (maxrss) = the kernel's high-water mark (getrusage ru_maxrss) of the whole subprocess, model compile included.",
  );
  if (pyRate) {
    const target = (key: string, goal: number) => {
      const r = rows.find((x) => x.key === key);
      if (!r?.ratioVsPytorch) return;
      const met = r.ratioVsPytorch >= goal ? "met" : "not met";
      console.log(`target ${key} >= ${goal.toFixed(1)}x PyTorch: ${f2(r.ratioVsPytorch)}x (${met}; reported, not asserted)`);
    };
    target("native", 1.0);
    target("wasm1", 0.5);
    target("wasm2", 0.5);
    const dev = rows.filter((r) => r.key !== "pytorch").map((r) => Math.abs(r.firstLoss - py!.firstLoss));
    if (dev.length) {
      console.log(`step-1 loss vs PyTorch: max |difference| ${Math.max(...dev).toExponential(2)} (same weights, same batch)`);
    }
  }
  console.log(
    `load average (1, 5, 15 min) at start ${loadStart}, at end ${loadavg()}: ` +
      `above ${navigator.hardwareConcurrency} means other work shared the CPUs and the figures are noisy`,
  );
  console.log(`bench wall time ${f1((performance.now() - t0) / 1000)} s`);

  if (opts.json) {
    const report = {
      model: w.label,
      batch: w.batch,
      loss: w.loss,
      optimizer: { kind: "sgd", lr: LR, momentum: MOMENTUM },
      warmup: opts.warmup,
      steps: opts.steps,
      rounds: opts.rounds,
      loadAverage: { start: loadStart, end: loadavg() },
      gpu: { warmup: opts.gpuWarmup, steps: opts.gpuSteps },
      logicalCpus: navigator.hardwareConcurrency,
      date: new Date().toISOString(),
      results: rows,
      raw: outcomes,
    };
    await Deno.writeTextFile(opts.json, JSON.stringify(report, null, 2) + "\n");
    console.log(`wrote ${opts.json}`);
  }
}

if (import.meta.main) {
  const opts = parseArgs(Deno.args);
  if (opts.child) {
    await runChild(opts);
    // Exit explicitly: onnxruntime-web's wasm worker threads must not keep the child alive.
    Deno.exit(0);
  } else await runParent(opts);
}
