/**
 * A party's front segment in a vertical study: the zoo EHR network over the party's own
 * columns, up to its first hidden layer (width `study.frontWidth`), with its own Adam. The
 * initial weights depend on the study's seed and the party's place in `study.parties` only,
 * so the networked run and the in-process reference (`vertical_central.ts`) start equal.
 *
 * @example
 * ```ts
 * import { createVerticalFront } from "./vertical_front.ts";
 * // const front = await createVerticalFront(engine, study, "hospital", data.encoding);
 * // const { outputs, saved } = await front.runner.forward(batch); outputs[front.cut]
 * ```
 * @module
 */
import { compileModel } from "../../models/train/compile.ts";
import { createOptimizer, type Optimizer } from "../../models/train/optimizer.ts";
import { buildEhr } from "../../models/zoo/ehr.ts";
import type { VerticalStudy } from "../config/vertical_study.ts";
import { Rng } from "../data/rng.ts";
import type { Engine } from "../engine/mod.ts";
import { SegmentRunner } from "./segment_runner.ts";

/** A front segment bound to an engine, with the name of its cut tensor and its optimizer. */
export interface VerticalFront {
  runner: SegmentRunner;
  cut: string;
  opt: Optimizer;
}

/**
 * Builds and binds party `name`'s front.
 *
 * @throws {RangeError} when `name` is not one of `study.parties`
 * @example
 * ```ts
 * import { createVerticalFront } from "./vertical_front.ts";
 * console.log(typeof createVerticalFront); // "function"
 * ```
 */
export async function createVerticalFront(
  engine: Engine,
  study: Pick<VerticalStudy, "parties" | "seed" | "frontWidth" | "lr">,
  name: string,
  encoding: { numeric: number; vocabSizes: number[]; codeVocab: number },
): Promise<VerticalFront> {
  const k = study.parties.indexOf(name);
  if (k < 0) {
    throw new RangeError(`party ${JSON.stringify(name)}: expected one of [${study.parties}]`);
  }
  const rng = new Rng(study.seed * 31 + k + 1);
  const zoo = buildEhr({ random: () => rng.float(), ...encoding, hidden: [study.frontWidth, 16] });
  const [front] = compileModel(zoo.model, {
    loss: "bce",
    cuts: zoo.cuts.default,
    seed: study.seed,
  });
  return {
    runner: await SegmentRunner.create(engine, front),
    cut: front.outputs[0].name,
    opt: createOptimizer({ kind: "adam", lr: study.lr }),
  };
}
