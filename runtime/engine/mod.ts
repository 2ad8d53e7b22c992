/**
 * ONNX Runtime engines behind one interface: `wasm` (onnxruntime-web), `webgpu`
 * (onnxruntime-web/webgpu) and `native` (onnxruntime-node). Only the package of the engine
 * asked for is loaded, so a wasm-only process never needs FFI
 * (see docs/design/processes_and_permissions.md).
 *
 * @example
 * ```ts
 * import { createEngine } from "./mod.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const engine = await createEngine("wasm");
 * const s = await engine.load(Deno.readFileSync("tests/fixtures/models/pneumonia_cnn.onnx"));
 * const { logits } = await s.run({ image: tensor("float32", [4, 1, 28, 28]) });
 * console.log(logits.dims); // [4, 1]
 * await engine.dispose();
 * ```
 * @module
 */

export {
  createEngine,
  type Engine,
  ENGINE_NAMES,
  type EngineName,
  type EngineOptions,
  type LoadOptions,
  type Session,
  type ValueInfo,
  wasmBinaryUrl,
} from "./engine.ts";
export { EngineError, type EngineErrorCode } from "./engine_error.ts";
