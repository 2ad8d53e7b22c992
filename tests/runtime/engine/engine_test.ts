import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import fc from "fast-check";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import {
  createEngine,
  type Engine,
  type EngineName,
  wasmBinaryUrl,
} from "../../../runtime/engine/engine.ts";
import { EngineError, type EngineErrorCode } from "../../../runtime/engine/engine_error.ts";
import { fromOrtTensor, toOrtTensor } from "../../../runtime/engine/ort_tensor.ts";
import { nativeBinaryDir } from "../../../runtime/engine/native_engine.ts";
import { readGolden } from "./golden.ts";
import { dtypeModel, ELEM, model } from "./tiny_model.ts";
import type { WorkerRequest } from "./wasm_worker.ts";
import { addNode, emptyGraph, stringAttr } from "../../../models/graph/ir.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";

const MODELS = new URL("../../fixtures/models", import.meta.url).pathname;
const DENO_WORKER = globalThis.Worker;
const CNN = Deno.readFileSync(`${MODELS}/pneumonia_cnn.onnx`);
const EHR = Deno.readFileSync(`${MODELS}/ehr_mlp.onnx`);
const CNN_GOLDEN = readGolden(`${MODELS}/pneumonia_cnn.golden.npz`);
const EHR_GOLDEN = readGolden(`${MODELS}/ehr_mlp.golden.npz`);

// One engine per kind for the whole file: ort-web initialises its WebAssembly module once
// per process anyway, and WebGPU device creation on llvmpipe is slow.
const engines = new Map<EngineName, Promise<Engine>>();
function engine(name: EngineName): Promise<Engine> {
  let e = engines.get(name);
  if (!e) engines.set(name, e = createEngine(name));
  return e;
}

/** numpy.allclose: |a - e| <= atol + rtol * |e|, element-wise, same dtype and dims. */
function assertClose(
  actual: Tensor,
  expected: Tensor,
  what: string,
  rtol = 1e-4,
  atol = 1e-5,
): void {
  equal(actual.dtype, expected.dtype, `${what}: dtype`);
  deepEqual(actual.dims, expected.dims, `${what}: dims`);
  for (let k = 0; k < expected.data.length; k++) {
    const a = Number(actual.data[k]);
    const e = Number(expected.data[k]);
    ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${k}]: ${a} vs expected ${e}`);
  }
}

async function rejectsWith(
  p: Promise<unknown>,
  code: EngineErrorCode,
  ...mentions: string[]
): Promise<void> {
  await rejects(p, (e: unknown) => {
    ok(e instanceof EngineError, `expected an EngineError, got ${e}`);
    equal(e.code, code, e.message);
    for (const m of mentions) {
      ok(e.message.includes(m), `message ${JSON.stringify(e.message)} should mention ${m}`);
    }
    return true;
  });
}

const CPU_ENGINES: EngineName[] = ["wasm", "native"];

for (const name of CPU_ENGINES) {
  Deno.test(`${name}: pneumonia_cnn reproduces PyTorch's golden logits`, async () => {
    const s = await (await engine(name)).load(CNN, { name: "pneumonia_cnn" });
    deepEqual(s.inputNames, ["image"]);
    deepEqual(s.outputNames, ["logits"]);
    deepEqual(s.inputs, [{ name: "image", dtype: "float32", shape: ["N", 1, 28, 28] }]);
    const out = await s.run({ image: CNN_GOLDEN["input.image"] });
    assertClose(out.logits, CNN_GOLDEN.logits, `${name} logits`);
    await s.release();
  });

  Deno.test(`${name}: ehr_mlp (float32 + int64 inputs) reproduces PyTorch's golden logits`, async () => {
    const s = await (await engine(name)).load(EHR, { name: "ehr_mlp" });
    const out = await s.run({
      numeric: EHR_GOLDEN["input.numeric"],
      codes: EHR_GOLDEN["input.codes"],
    });
    assertClose(out.logits, EHR_GOLDEN.logits, `${name} logits`);
    await s.release();
  });
}

const H = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff]); // binary16: 1, -2, 0.5, 65504
const DTYPE_FEEDS = {
  x: tensor("float32", [4, 3], new Float32Array([1, -2, 3, 0.5, 0, -1, 7, 8, 9, 1e-3, -1e3, 2])),
  i: tensor("int64", [4], new BigInt64Array([1n, -2n, 2n ** 40n, 0n])),
  b: tensor("bool", [4], new Uint8Array([1, 0, 0, 1])),
  h: tensor("float16", [4], H),
};

/** Whether the WebGPU adapter can run f16 shaders (llvmpipe cannot). */
async function webgpuHasF16(): Promise<boolean> {
  const adapter = await (navigator as unknown as { gpu?: GPU }).gpu?.requestAdapter();
  return adapter?.features.has("shader-f16") ?? false;
}

for (const name of ["wasm", "native", "webgpu"] as const) {
  Deno.test({
    name: `${name}: float32, int64, bool and float16 tensors round-trip through a tiny model`,
    // The WebGPU device ort-web opens lives for the whole process.
    sanitizeResources: name !== "webgpu",
    sanitizeOps: name !== "webgpu",
    fn: async () => {
      const e = await engine(name);
      const half = name !== "webgpu" || await webgpuHasF16();
      const { h, ...noHalf } = DTYPE_FEEDS;
      const s = await e.load(dtypeModel(half), { name: "dtypes" });
      const out = await s.run(half ? DTYPE_FEEDS : noHalf);
      deepEqual(Object.keys(out).sort(), half ? ["h2", "hf", "j", "nb", "y"] : ["j", "nb", "y"]);
      ok(out.y.data instanceof Float32Array);
      deepEqual([...out.y.data], [...DTYPE_FEEDS.x.data].map((v) => Math.fround(v * v)));
      deepEqual(out.y.dims, [4, 3]);
      ok(out.j.data instanceof BigInt64Array);
      deepEqual([...out.j.data], [2n, -4n, 2n ** 41n, 0n]);
      equal(out.nb.dtype, "bool");
      ok(out.nb.data instanceof Uint8Array);
      deepEqual([...out.nb.data], [0, 1, 1, 0]);
      // Only the requested output comes back.
      deepEqual(Object.keys(await s.run(half ? DTYPE_FEEDS : noHalf, ["nb"])), ["nb"]);
      await s.release();
      if (half) {
        equal(out.h2.dtype, "float16");
        ok(out.h2.data instanceof Uint16Array);
        deepEqual([...out.h2.data], [...h.data]);
        deepEqual([...out.hf.data], [1, -2, 0.5, 65504]);
      } else {
        // Without shader-f16, ORT's WebGPU Cast kernel fails at run time; the error says so.
        const s16 = await e.load(dtypeModel(true), { name: "dtypes-f16" });
        await rejectsWith(s16.run(DTYPE_FEEDS), "RUN_FAILED", "dtypes-f16", "f16");
        await s16.release();
      }
    },
  });
}

Deno.test({
  name: "webgpu: pneumonia_cnn agrees with wasm at batch 2",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const image = tensor(
      "float32",
      [2, 1, 28, 28],
      CNN_GOLDEN["input.image"].data.slice(0, 2 * 784) as Float32Array,
    );
    const g = await (await engine("webgpu")).load(CNN, { name: "pneumonia_cnn" });
    const w = await (await engine("wasm")).load(CNN, { name: "pneumonia_cnn" });
    assertClose((await g.run({ image })).logits, (await w.run({ image })).logits, "webgpu vs wasm");
    await g.release();
    await w.release();
  },
});

Deno.test("wasm and native agree on pneumonia_cnn for random batches (1e-4 rel)", async () => {
  const w = await (await engine("wasm")).load(CNN);
  const n = await (await engine("native")).load(CNN);
  const pixel = fc.float({ min: -3, max: 3, noNaN: true });
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(pixel, { minLength: 4 * 784, maxLength: 4 * 784 }),
      async (batch, px) => {
        const image = tensor(
          "float32",
          [batch, 1, 28, 28],
          Float32Array.from(px.slice(0, batch * 784)),
        );
        const a = await w.run({ image });
        const b = await n.run({ image });
        assertClose(a.logits, b.logits, `batch ${batch}`);
      },
    ),
    { numRuns: 15 },
  );
  await w.release();
  await n.release();
});

Deno.test("tensors cross into ORT without copies, and views at an offset are read correctly", async () => {
  const ort = await import("onnxruntime-web");
  const t = tensor("float32", [3], new Float32Array([1, 2, 3]));
  const o = toOrtTensor(ort.Tensor, t);
  equal(o.data, t.data);
  equal(fromOrtTensor(o, "o").data, t.data);
  const h = fromOrtTensor(new ort.Tensor("float16", new Uint16Array([0x3c00]), [1]), "h");
  ok(h.data instanceof Uint16Array);
  deepEqual([...h.data], [0x3c00]);

  // A batch taken as a view into a larger buffer (byteOffset != 0) must run as that slice.
  const big = new Float32Array(3 * 784).map((_, k) => Math.sin(k));
  const view = tensor("float32", [1, 1, 28, 28], big.subarray(784, 2 * 784));
  const copy = tensor("float32", [1, 1, 28, 28], big.slice(784, 2 * 784));
  for (const name of CPU_ENGINES) {
    const s = await (await engine(name)).load(CNN);
    deepEqual((await s.run({ image: view })).logits, (await s.run({ image: copy })).logits, name);
    await s.release();
  }
});

for (const name of CPU_ENGINES) {
  Deno.test(`${name}: bad inputs and bad models give clear EngineErrors`, async () => {
    const e = await engine(name);
    await rejectsWith(
      e.load(new Uint8Array([8, 1, 2, 3, 4, 5]), { name: "garbage.onnx" }),
      "MODEL_INVALID",
      "garbage.onnx",
      name,
    );
    await rejectsWith(e.load(new Uint8Array(0)), "MODEL_INVALID", "empty");
    await rejects(e.load([1, 2] as unknown as Uint8Array), TypeError);

    const s = await e.load(CNN, { name: "pneumonia_cnn" });
    const image = tensor("float32", [1, 1, 28, 28]);
    await rejectsWith(
      s.run({}),
      "INPUT_MISSING",
      "'image'",
      "pneumonia_cnn",
      "float32 [N, 1, 28, 28]",
    );
    await rejectsWith(s.run({ image, mask: image }), "INPUT_UNKNOWN", "'mask'", "'image'");
    await rejectsWith(
      s.run({ image: tensor("int32", [1, 1, 28, 28]) }),
      "INPUT_DTYPE",
      "int32",
      "float32",
    );
    await rejectsWith(
      s.run({ image: tensor("float32", [784]) }),
      "INPUT_SHAPE",
      "[784]",
      "[N, 1, 28, 28]",
    );
    await rejectsWith(
      s.run({ image: tensor("float32", [1, 1, 28, 27]) }),
      "INPUT_SHAPE",
      "[1, 1, 28, 27]",
    );
    await rejectsWith(
      s.run({ image: { dtype: "float32", dims: [1, 1, 28, 28], data: new Float32Array(5) } }),
      "INPUT_SHAPE",
      "5 elements",
    );
    await rejectsWith(s.run({ image }, ["probs"]), "OUTPUT_UNKNOWN", "'probs'", "'logits'");
    await s.release();
    await s.release(); // idempotent
    await rejectsWith(s.run({ image }), "DISPOSED", "pneumonia_cnn");
  });

  Deno.test(`${name}: a failure inside ORT's run is rewrapped with the model's name`, async () => {
    // a[N] + b[M] passes every declared-shape check but cannot broadcast 2 with 3.
    const bytes = model(
      [{ op: "Add", inputs: ["a", "b"], outputs: ["c"] }],
      [{ name: "a", elem: ELEM.float32, dims: ["N"] }, {
        name: "b",
        elem: ELEM.float32,
        dims: ["M"],
      }],
      [{ name: "c", elem: ELEM.float32, dims: ["K"] }],
    );
    const s = await (await engine(name)).load(bytes, { name: "broadcast.onnx" });
    const ok2 = await s.run({ a: tensor("float32", [2]), b: tensor("float32", [1]) });
    deepEqual(ok2.c.dims, [2]);
    await rejectsWith(
      s.run({ a: tensor("float32", [2]), b: tensor("float32", [3]) }),
      "RUN_FAILED",
      "broadcast.onnx",
      name,
    );
    await s.release();
  });
}

Deno.test("createEngine validates its options", async () => {
  await rejects(createEngine("wasm", { threads: 0 }), RangeError);
  await rejects(createEngine("wasm", { threads: 1.5 }), RangeError);
  await rejects(createEngine("wasm", { device: "cuda" }), TypeError);
  await rejects(createEngine("native", { deviceId: 1 }), TypeError);
  await rejects(createEngine("native", { device: "cuda", deviceId: -1 }), RangeError);
  await rejects(createEngine("native", { wasmBinary: new Uint8Array(1) }), TypeError);
  await rejects(createEngine("tpu" as EngineName), TypeError);
  throws(() => tensor("float32", [2], new Float32Array(3)), RangeError); // tensors are checked at the source too
});

Deno.test("wasm: the thread count is fixed by the first engine of the process", async () => {
  const s = await (await engine("wasm")).load(CNN);
  await s.release();
  // ort-web's glue swaps in node's worker_threads.Worker when it initialises; the engine puts Deno's back.
  equal(globalThis.Worker, DENO_WORKER);
  await rejectsWith(createEngine("wasm", { threads: 2 }), "ENGINE_CONFLICT", "1 thread", "Worker");
  const again = await createEngine("wasm", { threads: 1 });
  equal(again.name, "wasm");
  await again.dispose();
});

Deno.test("engine.dispose releases its sessions and refuses new loads", async () => {
  const e = await createEngine("native");
  const s = await e.load(CNN, { name: "cnn" });
  await e.dispose();
  await rejectsWith(s.run({ image: tensor("float32", [1, 1, 28, 28]) }), "DISPOSED");
  await rejectsWith(e.load(CNN, { name: "cnn" }), "DISPOSED", "cnn");
});

/** Nearest 2× upsampling by Resize, as the pooling gradients emit it. */
function upsampleModel(): Uint8Array {
  const g = emptyGraph("upsample");
  g.inputs.push({ name: "x", dtype: "float32", shape: [1, 2, 2, 3] });
  g.initializers.set("scales", tensor("float32", [4], Float32Array.of(1, 1, 2, 2)));
  addNode(g, {
    opType: "Resize",
    inputs: ["x", "", "scales"],
    outputs: ["y"],
    attrs: {
      mode: stringAttr("nearest"),
      coordinate_transformation_mode: stringAttr("asymmetric"),
      nearest_mode: stringAttr("floor"),
    },
  });
  g.outputs.push({ name: "y", dtype: "float32", shape: [1, 2, 4, 6] });
  return writeModel({ irVersion: 8, opsets: new Map([["", 17]]), producerName: "t", producerVersion: "0", graph: g });
}

Deno.test("wasm with 2 threads runs in a Worker from handed-over bytes and matches 1 thread", async () => {
  const image = CNN_GOLDEN["input.image"];
  const ref = await (await engine("wasm")).load(CNN);
  const expected = (await ref.run({ image })).logits;
  await ref.release();

  const worker = new Worker(new URL("./wasm_worker.ts", import.meta.url), { type: "module" });
  try {
    const reply = new Promise<{ ok: boolean; out?: Record<string, Tensor>; error?: string }>(
      (resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(e.message));
        };
      },
    );
    const req: WorkerRequest = {
      threads: 2,
      wasmBinary: Deno.readFileSync(new URL(wasmBinaryUrl())),
      model: CNN,
      feeds: { image },
    };
    worker.postMessage(req);
    const r = await reply;
    ok(r.ok, r.error ?? "worker failed");
    assertClose(r.out!.logits, expected, "2 threads vs 1");
    // Threaded wasm runs nearest Resize as a ConvTranspose (onnxruntime-web can deadlock on
    // Resize with threads): the same upsampling, element for element.
    const answer = new Promise<{ ok: boolean; out?: Record<string, Tensor>; error?: string }>((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
    });
    const x = tensor("float32", [1, 2, 2, 3], Float32Array.from({ length: 12 }, (_, i) => i - 5.5));
    worker.postMessage({ ...req, model: upsampleModel(), feeds: { x } });
    const up = await answer;
    ok(up.ok, up.error ?? "worker failed");
    const want = new Float32Array(2 * 4 * 6);
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < 4; i++) for (let j = 0; j < 6; j++) want[(c * 4 + i) * 6 + j] = x.data[(c * 2 + (i >> 1)) * 3 + (j >> 1)] as number;
    }
    deepEqual(Array.from(up.out!.y.data as Float32Array), Array.from(want));
  } finally {
    worker.terminate();
  }
});

Deno.test("native: device cuda either runs like the CPU or explains how to install CUDA", async () => {
  const dir = nativeBinaryDir();
  const installed = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"]
    .every((f) => {
      try {
        return Deno.statSync(new URL(f, dir)).isFile;
      } catch {
        return false;
      }
    });
  if (!installed || Deno.build.os !== "linux") {
    await rejectsWith(
      createEngine("native", { device: "cuda" }),
      "ENGINE_UNAVAILABLE",
      "CUDA",
      "README",
    );
    return;
  }
  const cuda = await createEngine("native", { device: "cuda" });
  try {
    const s = await cuda.load(CNN, { name: "pneumonia_cnn" });
    assertClose(
      (await s.run({ image: CNN_GOLDEN["input.image"] })).logits,
      CNN_GOLDEN.logits,
      "cuda logits",
    );
  } finally {
    await cuda.dispose();
  }
});

Deno.test("webgpu: no adapter gives a clear ENGINE_UNAVAILABLE", async () => {
  const gpu = (navigator as unknown as { gpu?: GPU }).gpu;
  if (!gpu) {
    await rejectsWith(createEngine("webgpu"), "ENGINE_UNAVAILABLE", "--unstable-webgpu");
    return;
  }
  // Shadow the prototype method on the instance, then delete the shadow to restore it.
  Object.defineProperty(gpu, "requestAdapter", {
    value: () => Promise.resolve(null),
    configurable: true,
  });
  try {
    await rejectsWith(createEngine("webgpu"), "ENGINE_UNAVAILABLE", "--unstable-webgpu", "adapter");
  } finally {
    delete (gpu as { requestAdapter?: unknown }).requestAdapter;
  }
  ok(typeof gpu.requestAdapter === "function");
});

async function sandboxed(
  wasm: Uint8Array,
): Promise<{ ok: boolean; code?: string; message?: string; logits?: number[] }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${MODELS}/pneumonia_cnn.onnx`,
      new URL("./sandboxed_wasm.ts", import.meta.url).pathname,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(wasm);
  await writer.close();
  const { stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout).trim();
  ok(
    text.startsWith("{"),
    `sandboxed child printed ${text}; stderr: ${new TextDecoder().decode(stderr)}`,
  );
  return JSON.parse(text.split("\n").at(-1)!);
}

Deno.test("wasm in a sandbox that may read only the model: runs from handed-over bytes, else explains", async () => {
  const ref = await (await engine("wasm")).load(CNN);
  const expected = (await ref.run({ image: tensor("float32", [1, 1, 28, 28]) })).logits;
  await ref.release();

  const withBytes = await sandboxed(Deno.readFileSync(new URL(wasmBinaryUrl())));
  ok(withBytes.ok, withBytes.message ?? "sandboxed run failed");
  assertClose(
    tensor("float32", [1, 1], Float32Array.from(withBytes.logits!)),
    expected,
    "sandboxed logits",
  );

  const without = await sandboxed(new Uint8Array(0));
  equal(without.ok, false);
  equal(without.code, "ENGINE_UNAVAILABLE", without.message ?? "no message");
  ok(
    without.message!.includes("wasmBinary") &&
      without.message!.includes("ort-wasm-simd-threaded.wasm"),
    without.message ?? "no message",
  );
});
