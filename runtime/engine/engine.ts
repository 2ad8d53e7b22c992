/**
 * The engines of splitgate behind one interface: an {@linkcode Engine} loads ONNX model bytes
 * into a {@linkcode Session}, which runs the graph on splitgate {@linkcode Tensor}s.
 *
 * | engine | package | runs on |
 * | --- | --- | --- |
 * | `wasm` | onnxruntime-web (WebAssembly, optionally threaded) | any CPU; no native code, so Deno's sandbox holds |
 * | `webgpu` | onnxruntime-web/webgpu | `navigator.gpu` (a real GPU, or llvmpipe in tests) |
 * | `native` | onnxruntime-node (Node-API addon) | CPU, or CUDA where its CUDA binaries are installed; needs `--allow-ffi` |
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

import type { Tensor } from "../../models/tensor.ts";

/** Names of the engines. */
export type EngineName = "wasm" | "webgpu" | "native";

/** The engine names, in order of preference for tests and benches. */
export const ENGINE_NAMES: readonly EngineName[] = ["wasm", "webgpu", "native"];

/**
 * Options of {@linkcode createEngine}.
 *
 * @example
 * ```ts
 * import type { EngineOptions } from "./engine.ts";
 * const server: EngineOptions = { device: "cuda", deviceId: 0 };
 * const clinic: EngineOptions = { threads: 2 };
 * ```
 */
export interface EngineOptions {
  /**
   * CPU threads.
   * - `wasm` / `webgpu`: `ort.env.wasm.numThreads` (default 1). It is process-wide (per
   *   worker) and fixed when the first session of that package is created; asking for a
   *   different count later fails with `ENGINE_CONFLICT` (use a `Worker` for a second count).
   *   More than 1 runs the WebAssembly module in worker threads over a `SharedArrayBuffer`;
   *   under Deno this needs no extra flag. With more than 1, `wasm` runs nearest `Resize`
   *   as the equivalent `ConvTranspose` (onnxruntime-web 1.30's threaded module deadlocks on
   *   Resize intermittently; see `resize_rewrite.ts`) and refuses any other Resize.
   * - `native`: `intraOpNumThreads` of each session (default 1). The models splitgate trains
   *   run many small kernels per step, and extra threads pay off only where the cores are
   *   free: on the 2-CPU development VM the pneumonia_cnn training step took 18.4 ms on one
   *   thread and 17.0 ms on two (bench/train_step.ts reports both, as `native` and
   *   `native2`), while the split server and the clinic share those cores. Raise it on
   *   many-core servers, and measure.
   */
  threads?: number;
  /** `native` only: `"cpu"` (default) or `"cuda"` (the CUDA execution provider). */
  device?: "cpu" | "cuda";
  /** `native` with `device: "cuda"` only: the CUDA device ordinal (default 0). */
  deviceId?: number;
  /**
   * `wasm` only: the bytes of onnxruntime-web's `ort-wasm-simd-threaded.wasm`, for a
   * sandbox that may not read Deno's npm cache (see {@linkcode wasmBinaryUrl}). Without it
   * the module is read from the npm cache, which needs read permission on that one file.
   */
  wasmBinary?: Uint8Array;
}

/**
 * Options of {@linkcode Engine.load}.
 *
 * @example
 * ```ts
 * import type { LoadOptions } from "./engine.ts";
 * const o: LoadOptions = { name: "pneumonia_cnn.client" };
 * ```
 */
export interface LoadOptions {
  /** A name for the model, used in error messages (default: `model (N bytes)`). */
  name?: string;
}

/**
 * A graph input or output as the loaded model declares it.
 *
 * @example
 * ```ts
 * import type { ValueInfo } from "./engine.ts";
 * const v: ValueInfo = { name: "image", dtype: "float32", shape: ["N", 1, 28, 28] };
 * ```
 */
export interface ValueInfo {
  /** The graph input or output name. */
  readonly name: string;
  /**
   * ONNX Runtime's element type name: one of the splitgate `DType`s for every tensor this API
   * can exchange, otherwise e.g. `"string"`; `"non-tensor"` for sequences and maps.
   */
  readonly dtype: string;
  /**
   * Dimensions: a number for a fixed one, a string for a symbolic one (`"N"`). ONNX Runtime
   * reports `[]` both for scalars and for inputs declared without a shape.
   */
  readonly shape: readonly (number | string)[];
}

/**
 * A model loaded into an engine.
 *
 * @example
 * ```ts
 * import { createEngine } from "./engine.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const engine = await createEngine("wasm");
 * const s = await engine.load(Deno.readFileSync("tests/fixtures/models/pneumonia_cnn.onnx"));
 * console.log(s.inputNames, s.outputNames); // ["image"] ["logits"]
 * const { logits } = await s.run({ image: tensor("float32", [2, 1, 28, 28]) }, ["logits"]);
 * await s.release();
 * ```
 */
export interface Session {
  /** The engine the session runs on. */
  readonly engine: EngineName;
  /** The model name used in error messages. */
  readonly name: string;
  /** Graph input names, in graph order. */
  readonly inputNames: readonly string[];
  /** Graph output names, in graph order. */
  readonly outputNames: readonly string[];
  /** Graph inputs with element type and shape. */
  readonly inputs: readonly ValueInfo[];
  /** Graph outputs with element type and shape. */
  readonly outputs: readonly ValueInfo[];
  /**
   * Runs the graph. Every graph input must be fed, with its declared dtype and rank.
   *
   * @param feeds one tensor per graph input, by name
   * @param outputs the outputs to compute (default: all); fewer outputs may prune work
   * @returns the requested outputs, by name, in host memory
   * @throws {EngineError} `INPUT_*` when the feeds do not match the graph, `OUTPUT_*` for
   *   unknown or unsupported outputs, `RUN_FAILED` when ONNX Runtime fails, `DISPOSED`
   *   after {@linkcode Session.release}
   */
  run(
    feeds: Readonly<Record<string, Tensor>>,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>>;
  /** Frees the runtime's memory for this session; later runs fail with `DISPOSED`. */
  release(): Promise<void>;
}

/**
 * One runtime (wasm, webgpu or native) that loads models into sessions.
 *
 * @example
 * ```ts
 * import { createEngine } from "./engine.ts";
 * const engine = await createEngine("native");
 * console.log(engine.name); // "native"
 * await engine.dispose();
 * ```
 */
export interface Engine {
  /** Which engine this is. */
  readonly name: EngineName;
  /**
   * Loads ONNX model bytes (a serialized `ModelProto`) into a session, with graph
   * optimisation level "all".
   *
   * @throws {EngineError} `MODEL_INVALID` when ONNX Runtime refuses the bytes,
   *   `ENGINE_UNAVAILABLE` when the runtime cannot start (e.g. no CUDA provider),
   *   `DISPOSED` after {@linkcode Engine.dispose}
   */
  load(model: Uint8Array, opts?: LoadOptions): Promise<Session>;
  /** Releases every session this engine loaded; later loads fail with `DISPOSED`. */
  dispose(): Promise<void>;
}

/**
 * Creates an engine, importing its ONNX Runtime package on first use.
 *
 * @throws {TypeError} for an unknown engine name or an option that does not apply to it
 * @throws {RangeError} for a thread count or device ordinal out of range
 * @throws {EngineError} `ENGINE_UNAVAILABLE` when the runtime cannot run in this process
 *   (no `navigator.gpu` or no adapter for `webgpu`), `ENGINE_CONFLICT` for a wasm thread
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
      return (await import("./native_engine.ts")).createNativeEngine(opts);
    default:
      throw new TypeError(
        `unknown engine ${JSON.stringify(name)}: expected one of ${ENGINE_NAMES.join(", ")}`,
      );
  }
}

/**
 * The file URL of onnxruntime-web's WebAssembly module in Deno's npm cache: the one file a
 * sandboxed `wasm` engine must be allowed to read (`--allow-read=<path>`), unless the caller
 * hands its bytes over as {@linkcode EngineOptions.wasmBinary}.
 *
 * @example
 * ```ts
 * import { wasmBinaryUrl } from "./engine.ts";
 * const path = new URL(wasmBinaryUrl()).pathname; // .../onnxruntime-web/1.30.0/dist/ort-wasm-simd-threaded.wasm
 * ```
 */
export function wasmBinaryUrl(): string {
  return import.meta.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm");
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
