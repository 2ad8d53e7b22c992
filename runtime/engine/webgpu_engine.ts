/**
 * The `webgpu` engine: onnxruntime-web's WebGPU execution provider over Deno's
 * `navigator.gpu`. Nodes the provider has no kernel for fall back to its WebAssembly CPU
 * kernels. On a machine without a GPU Deno offers the llvmpipe software adapter: slow, but
 * exact enough for tests.
 *
 * @example
 * ```ts
 * import { createWebGpuEngine } from "./webgpu_engine.ts";
 * const engine = await createWebGpuEngine({});
 * await engine.dispose();
 * ```
 * @module
 */

import * as ort from "onnxruntime-web/webgpu";
import type { Engine, EngineOptions } from "./engine_types.ts";
import { EngineError } from "./engine_error.ts";
import { OrtEngine } from "./ort_session.ts";

const NEEDS = "the webgpu engine needs `deno run --unstable-webgpu` and a GPU adapter";

let fixedThreads: number | undefined;

/**
 * Creates a `webgpu` engine after checking that a WebGPU adapter is available. Prefer
 * {@linkcode "./engine.ts".createEngine}.
 *
 * @throws {EngineError} `ENGINE_UNAVAILABLE` without `navigator.gpu` or when no adapter is
 *   offered; `ENGINE_CONFLICT` for a CPU-fallback thread count differing from the first one
 *
 * @example
 * ```ts
 * import { createWebGpuEngine } from "./webgpu_engine.ts";
 * const engine = await createWebGpuEngine({});
 * console.log(engine.name); // "webgpu"
 * ```
 */
export async function createWebGpuEngine(opts: EngineOptions): Promise<Engine> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) {
    throw new EngineError(
      "ENGINE_UNAVAILABLE",
      `${NEEDS}: navigator.gpu is not defined in this process`,
    );
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    throw new EngineError("ENGINE_UNAVAILABLE", `${NEEDS}: requesting an adapter failed: ${e}`, {
      cause: e,
    });
  }
  if (!adapter) {
    throw new EngineError(
      "ENGINE_UNAVAILABLE",
      `${NEEDS}: navigator.gpu.requestAdapter() offered none`,
    );
  }
  const threads = opts.threads ?? 1;
  if (fixedThreads !== undefined && fixedThreads !== threads) {
    throw new EngineError(
      "ENGINE_CONFLICT",
      `the webgpu engine of this process already runs its CPU fallback on ${fixedThreads} thread(s); cannot switch to ${threads}`,
    );
  }
  fixedThreads = threads;
  ort.env.wasm.numThreads = threads;
  return new OrtEngine("webgpu", ort, { executionProviders: ["webgpu"] });
}
