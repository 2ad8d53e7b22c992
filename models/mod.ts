/**
 * The `models/` room: what the network is and how it learns. Pure functions over ONNX
 * graphs, no I/O beyond the bytes handed in, no engine: the tensor type, the graph IR and
 * its passes (`graph/`), ONNX read/write (`onnx/`), gradients as graphs (`grad/`), cutting
 * and compiling training graphs (`train/`) and the model zoo (`zoo/`).
 * See docs/design/training_graphs.md.
 *
 * @example
 * ```ts
 * import { compileModel, zooModel } from "./mod.ts";
 * const { model, cuts } = zooModel("cnn", { image: { channels: 1, size: 28 } }, Math.random);
 * const [clinic, server] = compileModel(model, { loss: "ce", cuts: cuts.default });
 * console.log(clinic.forward !== undefined, server.step !== undefined); // true true
 * ```
 * @module
 */
export {
  allocate,
  type DType,
  DTYPE_ARRAYS,
  DTYPE_BYTES,
  type DTypeArrays,
  sizeOf,
  type Tensor,
  tensor,
  type TensorData,
} from "./tensor.ts";
export {
  addNode,
  type Attr,
  broadcastShapes,
  checkFeeds,
  cloneGraph,
  countFlops,
  type Dim,
  emptyGraph,
  type Facts,
  floatAttr,
  floatsAttr,
  type FlopCount,
  type FlopOptions,
  getFloat,
  getInt,
  getInts,
  getString,
  type Graph,
  type GraphPartition,
  inferShapes,
  intAttr,
  intsAttr,
  type Model,
  type Node,
  type NodeSpec,
  partitionGraph,
  ShapeError,
  STANDARDISE_EPSILON,
  standardiseInputs,
  stringAttr,
  tensorAttr,
  type TensorFacts,
  type ValueInfo,
} from "./graph/mod.ts";
export {
  ONNX_FORMAT_ERROR_CODES,
  OnnxFormatError,
  type OnnxFormatErrorCode,
  readModel,
  writeModel,
} from "./onnx/mod.ts";
export {
  appendLoss,
  differentiate,
  type Differentiated,
  type DifferentiateRequest,
  GRAD_ERROR_CODES,
  GRAD_RULES,
  GradContext,
  GradError,
  type GradErrorCode,
  type GradRule,
  type LossKind,
  type LossNodes,
  NON_DIFFERENTIABLE,
  targetInfo,
} from "./grad/mod.ts";
export {
  buildNoPeekModel,
  checkOptimizerConfig,
  type CompiledSegment,
  compileModel,
  type CompileOptions,
  createOptimizer,
  exportModel,
  gradName,
  NOPEEK_NAMES,
  type NoPeekOptions,
  type Optimizer,
  type OptimizerConfig,
  type Segment,
  SPLIT_ERROR_CODES,
  SplitError,
  type SplitErrorCode,
  splitModel,
} from "./train/mod.ts";
export {
  buildCnn,
  buildEhr,
  type CnnOptions,
  type EhrOptions,
  NetBuilder,
  ZOO_NAMES,
  type ZooDataSpec,
  type ZooModel,
  zooModel,
  type ZooName,
} from "./zoo/mod.ts";
