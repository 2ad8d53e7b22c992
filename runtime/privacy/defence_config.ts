/**
 * A clinic's privacy defences at the cut, as one plain object (it goes into a run's
 * `run.json` and, later, into a clinic's configuration):
 *
 * - `noise`: per-sample L2 clipping of the cut activation to `clip`, then Gaussian noise
 *   N(0, σ²·clip²) on every coordinate (the Gaussian mechanism's shape, Dwork & Roth 2014
 *   §3.5.3, with σ the noise multiplier) — applied by the clinic before the activation is
 *   sent (see `noise_defence.ts`);
 * - `nopeek`: α·dCor(X, Z) added to the clinic's objective (Vepakomma et al. 2020; see
 *   `models/train/nopeek.ts`);
 * - `inputNorm`: `"per-image"` standardises each image (zero mean, unit variance) before the
 *   clinic's first layer, so nothing after it depends on the image's exposure and contrast
 *   (see `input_norm.ts`);
 * - `labelProtection`: `"norm-equalise"` makes the server rescale every returned cut
 *   gradient to the batch's mean norm before sending it (Li et al. 2022's norm attack; see
 *   `label_protection.ts`).
 * - `labelDefence`: Marvell or max-norm noise on the gradient a U-shaped clinic sends, or
 *   randomised response on the labels a vanilla clinic sends (see `label_defence.ts`);
 * - `budget`: an (ε, δ) budget for the accounted noise (cut noise, label RR); training stops
 *   before an epoch that would exceed it (see `privacy_budget.ts`);
 * - `hijackGuard`: SplitGuard-style detection of a hijacking server (see `split_guard.ts`; in the
 *   clinic gateway, vanilla mode: `runtime/client/raw_side/hijack_watch.ts`).
 *
 * @example
 * ```ts
 * import { parseDefenceConfig } from "./defence_config.ts";
 * parseDefenceConfig({ noise: { clip: 5, sigma: 0.1 } }).noise?.sigma; // 0.1
 * ```
 * @module
 */

import { type LabelDefence, parseLabelDefence } from "./label_defence.ts";
import { type HijackGuardConfig, parseHijackGuard } from "./split_guard.ts";

/** Label protection applied by the server to returned gradients. */
export type LabelProtection = "none" | "norm-equalise";

/** Per-clinic defences (every field optional: `{}` is no defence). */
export interface DefenceConfig {
  /** Clip each sample's activation to L2 norm `clip`, then add N(0, σ²·clip²) per coordinate. */
  noise?: { clip: number; sigma: number };
  /**
   * Weight α of dCor(X, Z) in the clinic's objective, and the sample dCor it uses: `"v"`
   * (default, the NoPeek paper's V-statistic) or `"u"` (bias-corrected; see
   * `models/train/nopeek.ts`).
   */
  nopeek?: { weight: number; estimator?: "v" | "u" };
  /** `"per-image"`: standardise each input image before the clinic's first layer (default `"none"`). */
  inputNorm?: "none" | "per-image";
  /** What the server does to the cut gradients it returns (default `"none"`). */
  labelProtection?: LabelProtection;
  /** The clinic's label defence (default none; see `label_defence.ts`). */
  labelDefence?: LabelDefence;
  /** Stop training before the accounted ε at `delta` would exceed `epsilon` (default no budget). */
  budget?: { epsilon: number; delta: number };
  /** Fake-batch hijacking detection (default off; see `split_guard.ts`). */
  hijackGuard?: HijackGuardConfig;
}

const positive = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;
const nonNegative = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

/**
 * Checks an untrusted value (e.g. from JSON) and returns it as a {@linkcode DefenceConfig}.
 *
 * @throws {TypeError} naming the field and what was expected
 * @example
 * ```ts
 * import { parseDefenceConfig } from "./defence_config.ts";
 * parseDefenceConfig({ nopeek: { weight: 0.5 }, labelProtection: "norm-equalise" });
 * ```
 */
export function parseDefenceConfig(v: unknown): DefenceConfig {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new TypeError(`defence: expected an object, got ${JSON.stringify(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["noise", "nopeek", "inputNorm", "labelProtection", "labelDefence", "budget", "hijackGuard"].includes(k)) {
      throw new TypeError(`defence: unknown field ${JSON.stringify(k)}; expected noise, nopeek, inputNorm, labelProtection, labelDefence, budget or hijackGuard`);
    }
  }
  const out: DefenceConfig = {};
  if (o.noise !== undefined) {
    const n = o.noise as Record<string, unknown>;
    if (typeof n !== "object" || n === null || !positive(n.clip) || !nonNegative(n.sigma)) {
      throw new TypeError(`defence.noise: expected {clip > 0, sigma >= 0}, got ${JSON.stringify(o.noise)}`);
    }
    out.noise = { clip: n.clip, sigma: n.sigma };
  }
  if (o.nopeek !== undefined) {
    const n = o.nopeek as Record<string, unknown>;
    if (
      typeof n !== "object" || n === null || !nonNegative(n.weight) ||
      (n.estimator !== undefined && n.estimator !== "v" && n.estimator !== "u") ||
      Object.keys(n).some((k) => k !== "weight" && k !== "estimator")
    ) {
      throw new TypeError(`defence.nopeek: expected {weight >= 0, estimator?: "v" | "u"}, got ${JSON.stringify(o.nopeek)}`);
    }
    out.nopeek = n.estimator === undefined ? { weight: n.weight } : { weight: n.weight, estimator: n.estimator };
  }
  if (o.inputNorm !== undefined) {
    if (o.inputNorm !== "none" && o.inputNorm !== "per-image") {
      throw new TypeError(`defence.inputNorm: expected "none" or "per-image", got ${JSON.stringify(o.inputNorm)}`);
    }
    out.inputNorm = o.inputNorm;
  }
  if (o.labelProtection !== undefined) {
    if (o.labelProtection !== "none" && o.labelProtection !== "norm-equalise") {
      throw new TypeError(`defence.labelProtection: expected "none" or "norm-equalise", got ${JSON.stringify(o.labelProtection)}`);
    }
    out.labelProtection = o.labelProtection;
  }
  if (o.labelDefence !== undefined) out.labelDefence = parseLabelDefence(o.labelDefence);
  if (o.budget !== undefined) {
    const b = o.budget as Record<string, unknown>;
    if (typeof b !== "object" || b === null || !positive(b.epsilon) || !positive(b.delta) || (b.delta as number) >= 1 || Object.keys(b).length !== 2) {
      throw new TypeError(`defence.budget: expected {epsilon > 0, delta in (0, 1)}, got ${JSON.stringify(o.budget)}`);
    }
    out.budget = { epsilon: b.epsilon as number, delta: b.delta as number };
  }
  if (o.hijackGuard !== undefined) out.hijackGuard = parseHijackGuard(o.hijackGuard);
  return out;
}

/**
 * A short human label of a defence, for tables ("none", "noise σ=0.1 C=5", ...).
 *
 * @example
 * ```ts
 * import { describeDefence } from "./defence_config.ts";
 * describeDefence({ nopeek: { weight: 1 } }); // "nopeek α=1"
 * ```
 */
export function describeDefence(d: DefenceConfig): string {
  const parts: string[] = [];
  if (d.inputNorm === "per-image") parts.push("per-image input standardisation");
  if (d.noise) parts.push(`noise σ=${d.noise.sigma} C=${d.noise.clip}`);
  if (d.nopeek) parts.push(`nopeek α=${d.nopeek.weight}${d.nopeek.estimator === "u" ? " (bias-corrected dCor)" : ""}`);
  if (d.labelProtection && d.labelProtection !== "none") parts.push(d.labelProtection);
  const ld = d.labelDefence;
  if (ld) parts.push(ld.kind === "marvell" ? `marvell s=${ld.scale}` : ld.kind === "rr" ? `label RR ε=${ld.epsilon}` : "max-norm");
  return parts.length ? parts.join(", ") : "none";
}
