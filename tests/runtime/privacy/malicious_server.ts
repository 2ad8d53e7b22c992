/**
 * The test harness's malicious-server mode: a defended vanilla training run whose server is
 * either the honest in-process segment or the FSHA attacker of the audit's toolbox
 * (`runtime/privacy/fsha_attacker.ts`), plus a tiny learnable image task for short tests. The
 * bench's long runs (`bench/hijack.ts`) use the same `trainAgainst` on PneumoniaMNIST.
 * Nothing here is reachable from the production server.
 * @module
 */
import { tensor } from "../../../models/tensor.ts";
import type { Model } from "../../../models/graph/ir.ts";
import type { Engine } from "../../../runtime/engine/mod.ts";
import { TensorDataset } from "../../../runtime/data/tensor_dataset.ts";
import type { DataSplits } from "../../../runtime/train/central.ts";
import type { DefenceConfig } from "../../../runtime/privacy/defence_config.ts";
import { type DefendedTrainingResult, trainDefended } from "../../../runtime/privacy/defended_training.ts";
import { FshaAttacker } from "../../../runtime/privacy/fsha_attacker.ts";
import { learnableImages, SIZE } from "../../e2e/split_harness.ts";

/** Which server the clinic trains with. */
export type ServerKind = "honest" | "fsha";

/** A learnable 8×8 image task (`learnableImages`): train, val and test of `n` images each. */
export function tinySplits(n: number, seed: number): DataSplits {
  const part = (s: number) => {
    const { images, labels } = learnableImages(n, s);
    return new TensorDataset(
      { image: tensor("float32", [n, 1, SIZE, SIZE], Float32Array.from(images, (v) => v / 255)) },
      tensor("float32", [n, 1], Float32Array.from(labels)),
    );
  };
  return { train: part(seed), val: part(seed + 100), test: part(seed + 200) };
}

/** Options of {@linkcode trainAgainst}. */
export interface AgainstOptions {
  engine: Engine;
  model: Model;
  cut: string;
  data: DataSplits;
  server: ServerKind;
  seed: number;
  epochs: number;
  batchSize: number;
  defence: DefenceConfig;
}

/**
 * Trains the clinic against `server`; the FSHA attacker's auxiliary data is the validation
 * split's images (public data the server could hold).
 */
export function trainAgainst(o: AgainstOptions): Promise<DefendedTrainingResult> {
  const server = o.server === "fsha" ? new FshaAttacker(o.data.val.inputs.image, { seed: o.seed + 0xf5 }) : undefined;
  return trainDefended({
    engine: o.engine,
    model: o.model,
    cuts: [o.cut],
    loss: "bce",
    data: o.data,
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: { kind: "adam", lr: 1e-3 },
    seed: o.seed,
    defence: o.defence,
    server,
  });
}
