/**
 * The `native-webgpu` engine: onnxruntime-node's own WebGPU execution provider, which the
 * 1.30 linux/x64, win32 and darwin binaries bundle (`listSupportedBackends()` reports
 * `{ name: "webgpu", bundled: true }`). It runs on Dawn, Google's WebGPU implementation, over
 * Vulkan on Linux, inside the Node-API addon — not over Deno's `navigator.gpu` (that is the
 * `webgpu` engine, onnxruntime-web's provider). It is meant for the GPU server: merged
 * batches of many clinics are what a GPU needs.
 *
 * Dawn refuses adapters that lack what WebGPU requires. On a machine without a GPU that means
 * no adapter at all: without `libvulkan.so.1` Dawn prints "Couldn't load Vulkan", and Mesa's
 * lavapipe software driver is refused with "Vulkan shaderUniform*ArrayDynamicIndexing
 * required"; ONNX Runtime then fails session creation with "Failed to get a WebGPU adapter: No
 * supported adapters". Dawn writes its own reason to stderr; this engine turns the failure
 * into an `ENGINE_UNAVAILABLE` {@linkcode EngineError} when the engine is created (it loads a
 * one-node probe model), so a server refuses to start rather than failing at its first step.
 *
 * @example
 * ```ts
 * import { createNativeWebGpuEngine } from "./native_webgpu_engine.ts";
 * import { EngineError } from "./engine_error.ts";
 * try {
 *   const engine = await createNativeWebGpuEngine({});
 *   await engine.dispose();
 * } catch (e) {
 *   if (e instanceof EngineError && e.code === "ENGINE_UNAVAILABLE") console.log(e.message);
 * }
 * ```
 * @module
 */

import * as ort from "onnxruntime-node";
import type { InferenceSession as OrtInferenceSession } from "onnxruntime-common";
import { addNode, emptyGraph } from "../../models/graph/ir.ts";
import { writeModel } from "../../models/onnx/write_model.ts";
import { tensor } from "../../models/tensor.ts";
import type { Engine, EngineOptions } from "./engine_types.ts";
import { causeMessage, EngineError } from "./engine_error.ts";
import { OrtEngine } from "./ort_session.ts";

/** ONNX Runtime's and Dawn's wordings for "there is no GPU this provider can use". */
const NO_ADAPTER = /webgpu adapter|no supported adapters|vulkan|dawn|webgpu_context/i;

/**
 * The error a server sees where Dawn offers no adapter (or ONNX Runtime cannot start the
 * provider), with what to do about it.
 *
 * @example
 * ```ts
 * import { webGpuUnavailable } from "./native_webgpu_engine.ts";
 * console.log(webGpuUnavailable("No supported adapters").code); // "ENGINE_UNAVAILABLE"
 * ```
 */
export function webGpuUnavailable(detail: string, cause?: unknown): EngineError {
  return new EngineError(
    "ENGINE_UNAVAILABLE",
    `the native-webgpu engine found no usable GPU: ${detail}. It needs a GPU whose Vulkan ` +
      `driver Dawn accepts (libvulkan.so.1 and the vendor's ICD, e.g. NVIDIA's ` +
      `nvidia_icd.json); software drivers such as Mesa lavapipe are refused. Use engine ` +
      `"native" (CPU) on this machine; Dawn's own reason is printed above on stderr`,
    cause === undefined ? undefined : { cause },
  );
}

/** A one-node model (y = x + x) whose loading makes ONNX Runtime initialise the provider. */
function probeModel(): Uint8Array {
  const g = emptyGraph("native_webgpu_probe");
  g.inputs.push({ name: "x", dtype: "float32", shape: [4] });
  g.outputs.push({ name: "y", dtype: "float32", shape: [4] });
  addNode(g, { opType: "Add", inputs: ["x", "x"], outputs: ["y"] });
  return writeModel({
    irVersion: 8,
    opsets: new Map([["", 17]]),
    producerName: "splitgate",
    producerVersion: "probe",
    graph: g,
  });
}

/** The session options: WebGPU first, the CPU for nodes the provider has no kernel for. */
function sessionOptions(opts: EngineOptions): OrtInferenceSession.SessionOptions {
  return {
    // ORT assigns nodes to providers in list order; "cpu" catches ops without a WebGPU kernel.
    executionProviders: [{ name: "webgpu" }, "cpu"],
    // The CPU fallback's intra-op threads: one unless asked, and no spinning, as in
    // native_engine.ts (spinning threads compete with the JavaScript between runs).
    intraOpNumThreads: opts.threads ?? 1,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

/**
 * Creates a `native-webgpu` engine after checking, with a probe model, that ONNX Runtime's
 * WebGPU provider finds an adapter. Prefer {@linkcode "./engine.ts".createEngine}.
 *
 * @throws {EngineError} `ENGINE_UNAVAILABLE` when Dawn offers no adapter (no Vulkan loader,
 *   no GPU, or only a software driver such as lavapipe) or the provider fails to start
 *
 * @example
 * ```ts
 * import { createNativeWebGpuEngine } from "./native_webgpu_engine.ts";
 * const engine = await createNativeWebGpuEngine({ threads: 1 }).catch(() => null);
 * console.log(engine?.name); // "native-webgpu" on a GPU machine
 * ```
 */
export async function createNativeWebGpuEngine(opts: EngineOptions): Promise<Engine> {
  const explain = (cause: unknown, modelName: string): EngineError | undefined => {
    const msg = causeMessage(cause).trim();
    if (!NO_ADAPTER.test(msg)) return undefined;
    // ORT prefixes its source location and failed check; its last sentence is the reason.
    const reason = /Failed to get a WebGPU adapter[^\n]*/.exec(msg)?.[0] ?? msg;
    return webGpuUnavailable(`loading ${modelName} failed: ${reason}`, cause);
  };
  const engine = new OrtEngine("native-webgpu", ort, sessionOptions(opts), {
    explain,
    float16Bits: true,
  });
  try {
    const probe = await engine.load(probeModel(), { name: "the WebGPU probe model" });
    await probe.run({ x: tensor("float32", [4], new Float32Array([1, 2, 3, 4])) });
    await probe.release();
  } catch (e) {
    await engine.dispose();
    if (e instanceof EngineError && e.code === "ENGINE_UNAVAILABLE") throw e;
    throw webGpuUnavailable(`the probe model failed: ${causeMessage(e)}`, e);
  }
  return engine;
}
