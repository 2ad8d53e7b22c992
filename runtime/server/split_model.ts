/**
 * Builds the model both ends of a split run agree on — a zoo network initialised from a
 * seed, or an `.onnx` file — and compiles it at the cuts of the chosen mode: vanilla
 * (`cuts.default`: clinic front | server rest with the loss) or U-shaped (`cuts.ushaped`:
 * clinic front | server middle | clinic head with the loss). Clinics and the server call
 * this with the same spec, so their segments start from the same weights.
 *
 * @example
 * ```ts
 * import { buildSplitModel } from "./split_model.ts";
 * const { segments } = buildSplitModel(
 *   { zoo: "cnn", data: { image: { channels: 1, size: 8 } }, seed: 0 }, "vanilla", "bce");
 * console.log(segments.length); // 2
 * ```
 * @module
 */
import type { Model } from "../../models/graph/ir.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { readModel } from "../../models/onnx/read_model.ts";
import { type CompiledSegment, compileModel } from "../../models/train/compile.ts";
import { zooModel, type ZooDataSpec } from "../../models/zoo/mod.ts";
import { Rng } from "../data/rng.ts";

/**
 * Which model: a zoo name with its data spec and init seed, or ONNX model bytes.
 *
 * @example
 * ```ts
 * import type { ModelSpec } from "./split_model.ts";
 * const m: ModelSpec = { zoo: "cnn", data: { image: { channels: 1, size: 28 } }, seed: 0 };
 * ```
 */
export type ModelSpec =
  | { zoo: string; data: ZooDataSpec; seed?: number }
  | { onnx: Uint8Array; name?: string; seed?: number };

/** Split modes. */
export type SplitMode = "vanilla" | "ushaped";

/**
 * A compiled split model.
 *
 * @example
 * ```ts
 * import type { SplitModel } from "./split_model.ts";
 * function server(m: SplitModel) { return m.segments[1]; }
 * ```
 */
export interface SplitModel {
  model: Model;
  cuts: string[];
  segments: CompiledSegment[];
}

/**
 * Builds and compiles the model. `cuts` overrides the zoo's cuts (and is required for an
 * ONNX file). Weight init uses `Rng(seed)` exactly as `deno task train` does.
 *
 * @throws {TypeError} for a missing or wrong number of cuts for the mode.
 * @example
 * ```ts
 * import { buildSplitModel } from "./split_model.ts";
 * const u = buildSplitModel({ zoo: "cnn", data: { image: { channels: 1, size: 8 } } }, "ushaped", "bce");
 * console.log(u.segments.length); // 3
 * ```
 */
export function buildSplitModel(
  spec: ModelSpec,
  mode: SplitMode,
  loss: LossKind,
  cuts?: readonly string[],
): SplitModel {
  const seed = spec.seed ?? 0;
  let model: Model;
  let chosen: string[] | undefined = cuts ? [...cuts] : undefined;
  if ("zoo" in spec) {
    const rng = new Rng(seed);
    const z = zooModel(spec.zoo, spec.data, () => rng.float());
    model = z.model;
    chosen ??= mode === "vanilla" ? z.cuts.default : z.cuts.ushaped;
  } else {
    model = readModel(spec.onnx, spec.name ?? "model");
  }
  const want = mode === "vanilla" ? 1 : 2;
  if (!chosen || chosen.length !== want) {
    throw new TypeError(
      `mode ${mode} needs ${want} cut tensor(s), got ${chosen ? `[${chosen.join(", ")}]` : "none"}`,
    );
  }
  const segments = compileModel(model, { loss, cuts: chosen, seed });
  return { model, cuts: chosen, segments };
}
