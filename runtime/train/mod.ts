/**
 * Training loops on the engines: a segment runner that owns one compiled segment's
 * parameters and sessions, the in-process pipeline of segments, central training (the
 * baseline), FedAvg, the split simulation with a wire link, one-batch gradient checks,
 * metrics and steady-state rates. A real step needs an engine and a model; the tests under
 * tests/runtime/train/ serve as worked examples. See docs/design/training_graphs.md.
 *
 * @example
 * ```ts
 * import { evaluateLogits, rocAuc } from "./mod.ts";
 * import { tensor } from "../../models/tensor.ts";
 * console.log(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])); // 0.75
 * const logits = tensor("float32", [2, 1], new Float32Array([-2, 3]));
 * const target = tensor("float32", [2, 1], new Float32Array([0, 1]));
 * console.log(evaluateLogits("bce", logits, target).accuracy); // 1
 * ```
 * @module
 */
export {
  type CentralOptions,
  type CentralResult,
  type DataSplits,
  type EpochRecord,
  evaluate,
  type Progress,
  snapshot,
  trainCentral,
} from "./central.ts";
export { compareArrays, type Comparison, relativeError } from "./compare_arrays.ts";
export { averageWeights, type FedAvgOptions, trainFedAvg } from "./fedavg.ts";
export { concatRows, evaluateLogits, type Metrics, rocAuc } from "./metrics.ts";
export { type OneBatchResult, runOneBatch } from "./one_batch.ts";
export { loadRunnerWeights, Pipeline, runnerWeights } from "./pipeline.ts";
export {
  type BackwardResult,
  type DeferredGradients,
  type DeferredStepResult,
  type ForwardResult,
  SegmentRunner,
  type StepResult,
} from "./segment_runner.ts";
export {
  type ClinicReport,
  type SimEpoch,
  type SimResult,
  type SplitSimOptions,
  trainSplitSim,
  WireLink,
} from "./split_sim.ts";
export { SteadyRate, WARMUP_STEPS } from "./steady_rate.ts";
