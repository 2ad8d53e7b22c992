/**
 * ONNX Runtime engines behind one interface: `wasm` (onnxruntime-web), `webgpu`
 * (onnxruntime-web/webgpu) and `native` (onnxruntime-node).
 *
 * @example
 * ```ts
 * import { createEngine } from "./mod.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const engine = await createEngine("wasm");
 * const s = await engine.load(Deno.readFileSync("tests/fixtures/models/pneumonia_cnn.onnx"));
 * const { logits } = await s.run({ image: tensor("float32", [4, 1, 28, 28]) });
 * await engine.dispose();
 * ```
 * @module
 */

export * from "./engine.ts";
export * from "./engine_error.ts";
