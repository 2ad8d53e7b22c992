/**
 * splitgate: split learning for hospitals on the clinic gateway.
 *
 * The public API, re-exported from the three rooms:
 * - models: ONNX I/O, the graph IR, gradient building, splitting and compiling training graphs,
 *   optimizers, the model zoo;
 * - crypto: the Noise channel, keys and allowlists;
 * - runtime: engines, data readers, the wire codec, trainers.
 *
 * @example
 * ```ts
 * import { compileModel, readModel } from "./mod.ts";
 * const model = readModel(await Deno.readFile("tests/fixtures/models/res_cnn.onnx"));
 * const [front, server] = compileModel(model, { loss: "ce", cuts: ["/Relu_2_output_0"] });
 * console.log(front.forward !== undefined, server.step !== undefined); // true true
 * ```
 * @module
 */

// models
export * from "./models/tensor.ts";
export * from "./models/graph/ir.ts";
export { inferShapes } from "./models/graph/infer_shapes.ts";
export { checkFeeds } from "./models/graph/check_feeds.ts";
export { STANDARDISE_EPSILON, standardiseInputs } from "./models/graph/standardise_inputs.ts";
export { type GraphPartition, partitionGraph } from "./models/graph/partition.ts";
export { readModel } from "./models/onnx/read_model.ts";
export { writeModel } from "./models/onnx/write_model.ts";
export { OnnxFormatError } from "./models/onnx/errors.ts";
export { GradError } from "./models/grad/context.ts";
export { differentiate } from "./models/grad/reverse.ts";
export { type LossKind } from "./models/grad/loss.ts";
export { GRAD_RULES } from "./models/grad/rules/mod.ts";
export { type CompiledSegment, compileModel, type CompileOptions, gradName } from "./models/train/compile.ts";
export { type Segment, SplitError, splitModel } from "./models/train/split.ts";
export { createOptimizer, type Optimizer, type OptimizerConfig } from "./models/train/optimizer.ts";
export { exportModel } from "./models/train/export.ts";
export * from "./models/zoo/mod.ts";

// crypto
export * from "./crypto/mod.ts";

// runtime
export {
  createEngine,
  type Engine,
  ENGINE_NAMES,
  type EngineName,
  type EngineOptions,
  type Session,
  type ValueInfo as SessionValueInfo,
} from "./runtime/engine/engine.ts";
export { EngineError } from "./runtime/engine/engine_error.ts";
export * from "./runtime/codec/mod.ts";
export { readNpz, writeNpz } from "./runtime/data/npz.ts";
export { loadDataset } from "./runtime/data/load_dataset.ts";
export { partition } from "./runtime/data/partition.ts";
export { TensorDataset } from "./runtime/data/tensor_dataset.ts";
export { SegmentRunner } from "./runtime/train/segment_runner.ts";
export { runOneBatch } from "./runtime/train/one_batch.ts";
export { Pipeline } from "./runtime/train/pipeline.ts";
export { trainCentral } from "./runtime/train/central.ts";
export { evaluateLogits, rocAuc } from "./runtime/train/metrics.ts";
