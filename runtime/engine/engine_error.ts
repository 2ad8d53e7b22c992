/**
 * The one error class of the engine room: every failure that ONNX Runtime reports (bad model
 * bytes, a missing input, a provider that is not installed) is rewrapped into an
 * {@linkcode EngineError} whose message names the engine, the model and the offending input,
 * and whose `code` lets callers branch without parsing messages. The original ORT error is
 * kept as `cause`.
 *
 * @example
 * ```ts
 * import { EngineError } from "./engine_error.ts";
 * const e = new EngineError("INPUT_MISSING", "model m: input 'x' is missing from feeds");
 * console.log(e.code); // "INPUT_MISSING"
 * ```
 * @module
 */

/**
 * Why an engine operation failed.
 *
 * - `ENGINE_UNAVAILABLE`: the runtime behind the engine cannot run here (no WebGPU adapter,
 *   CUDA provider binaries not installed, a permission Deno denied).
 * - `ENGINE_CONFLICT`: a process-wide setting (wasm thread count) was already fixed differently.
 * - `DISPOSED`: the engine or session was already released.
 * - `MODEL_INVALID`: ONNX Runtime refused the model bytes.
 * - `INPUT_MISSING`, `INPUT_UNKNOWN`, `INPUT_DTYPE`, `INPUT_SHAPE`: the feeds do not match the
 *   model's graph inputs.
 * - `OUTPUT_UNKNOWN`, `OUTPUT_DTYPE`: a requested output does not exist, or has an element type
 *   that {@linkcode "../../models/tensor.ts".Tensor} cannot hold (e.g. `string`).
 * - `RUN_FAILED`: ONNX Runtime failed while running the graph.
 */
export type EngineErrorCode =
  | "ENGINE_UNAVAILABLE"
  | "ENGINE_CONFLICT"
  | "DISPOSED"
  | "MODEL_INVALID"
  | "INPUT_MISSING"
  | "INPUT_UNKNOWN"
  | "INPUT_DTYPE"
  | "INPUT_SHAPE"
  | "OUTPUT_UNKNOWN"
  | "OUTPUT_DTYPE"
  | "RUN_FAILED";

/**
 * An engine failure with a machine-readable `code`.
 *
 * @example
 * ```ts
 * import { EngineError } from "./engine_error.ts";
 * try {
 *   throw new EngineError("MODEL_INVALID", "cannot load model m", { cause: new Error("protobuf") });
 * } catch (e) {
 *   if (e instanceof EngineError && e.code === "MODEL_INVALID") console.log(e.message);
 * }
 * ```
 */
export class EngineError extends Error {
  /** Why it failed; see {@linkcode EngineErrorCode}. */
  readonly code: EngineErrorCode;

  /**
   * @param code why it failed
   * @param message what failed, naming the engine, model and input concerned
   * @param options `cause`: the underlying ONNX Runtime error, if any
   */
  constructor(code: EngineErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EngineError";
    this.code = code;
  }
}

/**
 * The message of an unknown thrown value, for embedding in an {@linkcode EngineError} message.
 *
 * @example
 * ```ts
 * import { causeMessage } from "./engine_error.ts";
 * causeMessage(new Error("boom")); // "boom"
 * ```
 */
export function causeMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
