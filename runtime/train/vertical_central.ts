/**
 * The reference for a vertical split: the same network (every party's front, the fused top)
 * trained in one place that holds all the columns, on the same aligned rows, with the same
 * seeds, batch size, epochs and optimizer — no processes, no channel, no PSI. The vertical
 * demo prints it beside the split run, so the split's cost in accuracy is read off directly.
 *
 * The labels are at the top (as with `labels.holder: "server"`; the U-shaped variant computes
 * the same function). The epoch of best validation AUC gives the test metrics.
 *
 * @example
 * ```ts
 * import { trainVerticalCentral } from "./vertical_central.ts";
 * // const r = await trainVerticalCentral({ engine, study, parties: [{ name: "hospital", encoding, splits }, …], labels });
 * // r.test.auc
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { createOptimizer } from "../../models/train/optimizer.ts";
import { FUSED_INPUT } from "../../models/zoo/fusion_top.ts";
import type { VerticalStudy } from "../config/vertical_study.ts";
import { batches } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import { takeRows } from "../data/tensor_dataset.ts";
import type { Engine } from "../engine/mod.ts";
import { concatRows, evaluateLogits, type Metrics } from "./metrics.ts";
import { SegmentRunner } from "./segment_runner.ts";
import { createVerticalFront, type VerticalFront } from "./vertical_front.ts";
import { fuse, fusedWidth, splitGrad } from "./vertical_fusion.ts";
import { compileVerticalTop } from "./vertical_top.ts";

type SplitName = "train" | "val" | "test";

/** Options of {@linkcode trainVerticalCentral}. */
export interface VerticalCentralOptions {
  engine: Engine;
  study: VerticalStudy;
  /** Every party's columns of the same aligned rows, in `study.parties` order. */
  parties: {
    name: string;
    encoding: { numeric: number; vocabSizes: number[]; codeVocab: number };
    splits: Record<SplitName, Record<string, Tensor>>;
  }[];
  /** Labels of the aligned rows. */
  labels: Record<SplitName, Tensor>;
}

/** What the reference run measured. */
export interface VerticalCentralResult {
  test: Metrics;
  bestEpoch: number;
  seconds: number;
}

function take(inputs: Record<string, Tensor>, idx: ArrayLike<number>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(inputs)) out[k] = takeRows(t, idx);
  return out;
}

/**
 * Trains the vertical network in one place (see the module documentation).
 *
 * @example
 * ```ts
 * import { trainVerticalCentral } from "./vertical_central.ts";
 * console.log(typeof trainVerticalCentral); // "function"
 * ```
 */
export async function trainVerticalCentral(
  o: VerticalCentralOptions,
): Promise<VerticalCentralResult> {
  const t0 = performance.now();
  const s = o.study;
  const fronts: VerticalFront[] = [];
  for (const p of o.parties) {
    fronts.push(await createVerticalFront(o.engine, s, p.name, p.encoding));
  }
  const widths = o.parties.map(() => s.frontWidth);
  const [topSeg] = compileVerticalTop({
    width: fusedWidth(widths.map((width) => ({ width })), s.fusion),
    fusionHidden: s.fusionHidden,
    seed: s.seed,
    ushaped: false,
  });
  const top = await SegmentRunner.create(o.engine, topSeg);
  const topOpt = createOptimizer({ kind: "adam", lr: s.lr });
  const n = o.labels.train.dims[0];
  const rng = new Rng(s.seed);
  const evaluate = async (split: SplitName): Promise<Metrics> => {
    const outs: Tensor[] = [];
    const size = o.labels[split].dims[0];
    for (let i = 0; i < size; i += 1024) {
      const idx = Array.from({ length: Math.min(1024, size - i) }, (_, j) => i + j);
      const zs = await Promise.all(
        fronts.map(async (f, k) =>
          (await f.runner.infer(take(o.parties[k].splits[split], idx)))[f.cut]
        ),
      );
      outs.push((await top.infer({ [FUSED_INPUT]: fuse(zs, s.fusion) }))[topSeg.outputs[0].name]);
    }
    const m = evaluateLogits("bce", concatRows(outs), o.labels[split]);
    return { loss: m.loss, auc: m.auc, accuracy: m.accuracy, samples: m.samples };
  };
  let best: { epoch: number; val: number; test: Metrics } | undefined;
  for (let epoch = 1; epoch <= s.epochs; epoch++) {
    for (const idx of batches(Uint32Array.from({ length: n }, (_, i) => i), s.batchSize, rng)) {
      const fwd = await Promise.all(
        fronts.map((f, k) => f.runner.forward(take(o.parties[k].splits.train, idx))),
      );
      const r = await top.step({
        [FUSED_INPUT]: fuse(fwd.map((x, k) => x.outputs[fronts[k].cut]), s.fusion),
      }, takeRows(o.labels.train, idx));
      topOpt.step(top.params, r.paramGrads);
      for (let k = 0; k < fronts.length; k++) {
        const g = await fronts[k].runner.backward(fwd[k].saved, {
          [fronts[k].cut]: splitGrad(r.inputGrads[FUSED_INPUT], widths, k, s.fusion),
        });
        fronts[k].opt.step(fronts[k].runner.params, g.paramGrads);
      }
    }
    const val = (await evaluate("val")).auc;
    if (!best || val > best.val) best = { epoch, val, test: await evaluate("test") };
  }
  return { test: best!.test, bestEpoch: best!.epoch, seconds: (performance.now() - t0) / 1000 };
}
