/**
 * The study as the dashboard and the report describe it: model, cuts, mode, loss,
 * optimizer, engine, schedule, codec, the server's defences and the cut tensor's spec
 * (what leaves each clinic). Built once from the server's config; holds no secret (no key,
 * no path to a key or to data).
 *
 * @example
 * ```ts
 * import { studyInfo } from "./study_info.ts";
 * const s = studyInfo({
 *   mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 },
 *   model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } },
 * }, { order: ["a", "b"], turnsPerEpoch: 1, labelProtection: "none", cut: { dtype: "float32", shape: ["N", 16, 4, 4] } });
 * console.log(s.model, s.schedule.order, s.cut.shape); // cnn ["a", "b"] ["N", 16, 4, 4]
 * ```
 * @module
 */
import type { ScheduleKind } from "../round_schedule.ts";
import type { ServerConfig } from "../server_config.ts";

/**
 * The description.
 *
 * @example
 * ```ts
 * import type { StudyInfo } from "./study_info.ts";
 * function what(s: StudyInfo) { return `${s.model} (${s.mode})`; }
 * ```
 */
export interface StudyInfo {
  /** A zoo model's name, or the ONNX file's name. */
  model: string;
  mode: string;
  /** The cut tensors' names (null: the zoo model's default cut). */
  cuts: string[] | null;
  loss: string;
  optimizer: string;
  engine: string;
  schedule: { kind: ScheduleKind; order: string[]; epochs: number | null; turnsPerEpoch: number; turnTimeoutMs: number };
  /** Codec of the server's replies (the clinics choose their own for requests). */
  replyCodec: string;
  /** Defences the server applies (clinic-side defences are set in each clinic's config). */
  defences: string[];
  /** The cut tensor a clinic sends each step: element type and shape (`N` = the batch). */
  cut: { dtype: string; shape: (number | string)[] };
}

/**
 * Builds the description from the server's config and what `createServerApp` resolved.
 *
 * @example
 * ```ts
 * import { studyInfo } from "./study_info.ts";
 * const s = studyInfo({
 *   mode: "vanilla", loss: "bce", optimizer: { kind: "adam", lr: 0.001 }, codec: { dtype: "int8" },
 *   model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } },
 * }, { order: ["a"], turnsPerEpoch: 2, labelProtection: "norm-equalise", cut: { dtype: "float32", shape: ["N", 8] } });
 * console.log(s.optimizer, s.replyCodec, s.defences); // adam lr 0.001 int8 ["label protection: norm-equalise"]
 * ```
 */
export function studyInfo(
  config: ServerConfig,
  resolved: {
    order: string[];
    turnsPerEpoch: number;
    labelProtection: string;
    cut: { dtype: string; shape: readonly (number | string)[] };
  },
): StudyInfo {
  const m = config.model as { zoo?: string; name?: string };
  const codec = config.codec;
  return {
    model: m.zoo ?? m.name ?? "onnx",
    mode: config.mode,
    cuts: config.cuts ?? null,
    loss: config.loss,
    optimizer: `${config.optimizer.kind} lr ${config.optimizer.lr}`,
    engine: config.engine ?? "native",
    schedule: {
      kind: config.schedule ?? "sequential",
      order: resolved.order,
      epochs: config.epochs ?? null,
      turnsPerEpoch: resolved.turnsPerEpoch,
      turnTimeoutMs: config.turnTimeoutMs ?? 60_000,
    },
    replyCodec: codec ? `${codec.dtype ?? "float32"}${codec.level ? ` + deflate ${codec.level}` : ""}` : "float32",
    defences: resolved.labelProtection === "none" ? [] : [`label protection: ${resolved.labelProtection}`],
    cut: { dtype: resolved.cut.dtype, shape: [...resolved.cut.shape] },
  };
}
