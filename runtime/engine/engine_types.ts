/**
 * What every engine offers: the {@linkcode Engine} that loads ONNX model bytes into a
 * {@linkcode Session}, their options, and the engine names. The engines (wasm_engine.ts,
 * webgpu_engine.ts, native_engine.ts, ort_session.ts) implement these and import only this
 * file, never engine.ts, which loads them on demand.
 *
 * @example
 * ```ts
 * import { ENGINE_NAMES, type EngineOptions } from "./engine_types.ts";
 * const server: EngineOptions = { device: "cuda" };
 * console.log(ENGINE_NAMES); // ["wasm", "webgpu", "native", "native-webgpu"]
 * ```
 * @module
 */

import type { Tensor } from "../../models/tensor.ts";

/**
 * Names of the engines. `native-webgpu` is onnxruntime-node's WebGPU provider (Dawn on
 * Vulkan, in the addon), for a GPU server; `webgpu` is onnxruntime-web's over `navigator.gpu`.
 */
export type EngineName = "wasm" | "webgpu" | "native" | "native-webgpu";

/** The engine names, in order of preference for tests and benches. */
export const ENGINE_NAMES: readonly EngineName[] = ["wasm", "webgpu", "native", "native-webgpu"];

/**
 * Options of `createEngine` (engine.ts).
 *
 * @example
 * ```ts
 * import type { EngineOptions } from "./engine_types.ts";
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
   * sandbox that may not read Deno's npm cache (see `wasmBinaryUrl` in wasm_binary.ts). Without it
   * the module is read from the npm cache, which needs read permission on that one file.
   */
  wasmBinary?: Uint8Array;
}

/**
 * Options of {@linkcode Engine.load}.
 *
 * @example
 * ```ts
 * import type { LoadOptions } from "./engine_types.ts";
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
 * import type { ValueInfo } from "./engine_types.ts";
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
