/**
 * The engines of splitgate behind one interface: an {@linkcode Engine} loads ONNX model bytes
 * into a {@linkcode Session}, which runs the graph on splitgate {@linkcode Tensor}s.
 *
 * | engine | package | runs on |
 * | --- | --- | --- |
 * | `wasm` | onnxruntime-web (WebAssembly, optionally threaded) | any CPU; no native code, so Deno's sandbox holds |
 * | `webgpu` | onnxruntime-web/webgpu | `navigator.gpu` (a real GPU, or llvmpipe in tests) |
 * | `native` | onnxruntime-node (Node-API addon) | CPU, or CUDA where its CUDA binaries are installed; needs `--allow-ffi` |
 * | `native-webgpu` | onnxruntime-node's WebGPU provider (Dawn on Vulkan) | a GPU Dawn accepts; needs `--allow-ffi` |
 *
 * Each package is imported only when its engine is asked for, so a wasm-only process never
 * loads onnxruntime-node (no FFI) and never touches `navigator.gpu`.
 *
 * @example
 * ```ts
 * import { createEngine } from "./engine.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const engine = await createEngine("wasm");
 * const session = await engine.load(Deno.readFileSync("tests/fixtures/models/pneumonia_cnn.onnx"));
 * const out = await session.run({ image: tensor("float32", [1, 1, 28, 28]) });
 * console.log(out.logits.dims); // [1, 1]
 * await engine.dispose();
 * ```
 * @module
 */

import { type Engine, ENGINE_NAMES, type EngineName, type EngineOptions } from "./engine_types.ts";
import { EngineError } from "./engine_error.ts";

// The interfaces live in engine_types.ts and wasmBinaryUrl in wasm_binary.ts, so that the
// engines import those rather than this file, which imports the engines: no import cycle.
export * from "./engine_types.ts";
export { wasmBinaryUrl } from "./wasm_binary.ts";

/**
 * Creates an engine, importing its ONNX Runtime package on first use.
 *
 * @throws {TypeError} for an unknown engine name or an option that does not apply to it
 * @throws {RangeError} for a thread count or device ordinal out of range
 * @throws {EngineError} `ENGINE_UNAVAILABLE` when the runtime cannot run in this process
 *   (no `navigator.gpu` or no adapter for `webgpu`, no adapter Dawn accepts for
 *   `native-webgpu`), `ENGINE_CONFLICT` for a wasm thread
 *   count that differs from the one already in force
 *
 * @example
 * ```ts
 * import { createEngine } from "./engine.ts";
 * const wasm = await createEngine("wasm", { threads: 1 });
 * await wasm.dispose();
 * ```
 */
export async function createEngine(name: EngineName, opts: EngineOptions = {}): Promise<Engine> {
  checkOptions(name, opts);
  switch (name) {
    case "wasm":
      return (await import("./wasm_engine.ts")).createWasmEngine(opts);
    case "webgpu":
      return (await import("./webgpu_engine.ts")).createWebGpuEngine(opts);
    case "native":
      return (await importNative(name, () => import("./native_engine.ts"))).createNativeEngine(opts);
    case "native-webgpu":
      return (await importNative(name, () => import("./native_webgpu_engine.ts"))).createNativeWebGpuEngine(opts);
    default:
      throw new TypeError(
        `unknown engine ${JSON.stringify(name)}: expected one of ${ENGINE_NAMES.join(", ")}`,
      );
  }
}

/**
 * Loads a module built on onnxruntime-node, which a copy without it (the offline bundle, the
 * container image made from it) cannot import: that is said as `ENGINE_UNAVAILABLE`, not as
 * Deno's "not a dependency" error.
 */
async function importNative<T>(name: EngineName, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (!/onnxruntime-node/.test((e as Error)?.message ?? "")) throw e;
    throw new EngineError(
      "ENGINE_UNAVAILABLE",
      `engine ${name}: onnxruntime-node is not installed in this copy (the offline bundle and its image carry the wasm engine only); use engine "wasm", or run from a checkout with its npm packages`,
      { cause: e },
    );
  }
}

function checkOptions(name: EngineName, opts: EngineOptions): void {
  if (
    opts.threads !== undefined &&
    (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > 256)
  ) {
    throw new RangeError(`threads must be an integer in [1, 256], got ${opts.threads}`);
  }
  if (opts.device !== undefined) {
    if (name !== "native") {
      throw new TypeError(`option device applies to the native engine only, got it for ${name}`);
    }
    if (opts.device !== "cpu" && opts.device !== "cuda") {
      throw new TypeError(`device must be "cpu" or "cuda", got ${JSON.stringify(opts.device)}`);
    }
  }
  if (opts.deviceId !== undefined) {
    if (opts.device !== "cuda") {
      throw new TypeError(
        `option deviceId applies to device "cuda" only, got device ${opts.device}`,
      );
    }
    if (!Number.isInteger(opts.deviceId) || opts.deviceId < 0) {
      throw new RangeError(`deviceId must be an integer >= 0, got ${opts.deviceId}`);
    }
  }
  if (opts.wasmBinary !== undefined) {
    if (name !== "wasm") {
      throw new TypeError(`option wasmBinary applies to the wasm engine only, got it for ${name}`);
    }
    if (!(opts.wasmBinary instanceof Uint8Array)) {
      throw new TypeError(
        `wasmBinary must be a Uint8Array, got ${Object.prototype.toString.call(opts.wasmBinary)}`,
      );
    }
  }
}
