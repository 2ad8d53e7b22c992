/**
 * What an honest-but-curious server can learn, and the defences that bound it: noise on
 * the cut activations, NoPeek decorrelation, label protection of returned gradients, input
 * normalisation; the leakage metrics (distance correlation, reconstruction quality, label
 * leakage AUC) and the audit of a trained run directory. See docs/design/privacy_defences.md.
 *
 * @example
 * ```ts
 * import { describeDefence, distanceCorrelation, parseDefenceConfig } from "./mod.ts";
 * console.log(describeDefence(parseDefenceConfig({ nopeek: { weight: 1 } }))); // "nopeek α=1"
 * const x = { data: [0, 1, 2, 3], rows: 4 }, z = { data: [0, 1, 4, 9], rows: 4 };
 * console.log(distanceCorrelation(x, z).toFixed(2)); // "0.97"
 * ```
 * @module
 */
export { type AuditOptions, type AuditResult, auditRun, renderReport } from "./audit.ts";
export { type Decoder, type DecoderOptions, trainDecoder } from "./decoder.ts";
export {
  type DefenceConfig,
  describeDefence,
  type LabelProtection,
  parseDefenceConfig,
} from "./defence_config.ts";
export { DefendedPipeline, type DefendedStep } from "./defended_pipeline.ts";
export {
  type DefendedEpoch,
  type DefendedTrainingOptions,
  type DefendedTrainingResult,
  EVAL_SEED,
  evaluateDefended,
  trainDefended,
} from "./defended_training.ts";
export { applyInputNorm } from "./input_norm.ts";
export { KeyedNormals } from "./keyed_normals.ts";
export { equaliseNorms, protectCutGradient } from "./label_protection.ts";
export {
  biasCorrectedDcor,
  type DcorOptions,
  directionScores,
  distanceCorrelation,
  leakAuc,
  mse,
  normLeakAuc,
  psnr,
  rowNorms,
  type Rows,
  ssim,
  type SsimOptions,
} from "./metrics.ts";
export { clipAndNoise } from "./noise_defence.ts";
export { NoPeekRunner } from "./nopeek_runner.ts";
export { imageGridPng } from "./png_grid.ts";
export {
  type OpenedRun,
  openRunDir,
  RUN_FORMAT,
  RunDirError,
  type RunManifest,
  writeRunDir,
} from "./run_dir.ts";
