/**
 * From one model to the graphs a split training step runs: cutting it into segments,
 * compiling each segment's forward, backward or fused step graph, the optimizers that
 * update parameters held outside the graphs, NoPeek's decorrelation loss, and exporting a
 * trained model back to plain ONNX (see docs/design/training_graphs.md).
 *
 * @example
 * ```ts
 * import { compileModel } from "./mod.ts";
 * import { readModel } from "../onnx/mod.ts";
 * const model = readModel(await Deno.readFile("tests/fixtures/models/res_cnn.onnx"));
 * const [front, server] = compileModel(model, { loss: "ce", cuts: ["/Relu_2_output_0"] });
 * console.log(front.forward !== undefined, server.step !== undefined); // true true
 * ```
 * @module
 */
export { type CompiledSegment, compileModel, type CompileOptions, gradName } from "./compile.ts";
export { type Segment, splitModel } from "./split.ts";
export {
  isSplitErrorCode,
  SPLIT_ERROR_CODES,
  SplitError,
  type SplitErrorCode,
} from "./split_error.ts";
export {
  checkOptimizerConfig,
  createOptimizer,
  type Optimizer,
  type OptimizerConfig,
} from "./optimizer.ts";
export { exportModel } from "./export.ts";
export { buildNoPeekModel, NOPEEK_NAMES, type NoPeekOptions } from "./nopeek.ts";
export {
  appendInt8Quantize,
  prependInt8Dequantize,
  type QuantizedNames,
  quantizedNames,
} from "./quantize_cut.ts";
export { quantizeCutTraffic } from "./quantize_segments.ts";
