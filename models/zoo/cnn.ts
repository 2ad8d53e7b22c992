/**
 * The zoo CNN for 1×28×28 images (PneumoniaMNIST): two convolution blocks, then a small
 * classifier. Block k is Conv 3×3 (padding 1) → normalisation → ReLU → MaxPool 2×2; the
 * normalisation is BatchNorm by default, or GroupNorm (per sample).
 *
 * ```
 * image [N,1,28,28] → block1 (16 ch) → [N,16,14,14]   ← default cut (clinic runs block 1)
 *                   → block2 (32 ch) → [N,32,7,7]     ← alternate, deeper cut
 *                   → Flatten → Linear 1568→64 → ReLU  ← U-shaped cut (head starts here)
 *                   → Linear 64→1 → logits
 * ```
 *
 * No dropout: normalisation and shift augmentation regularise it, and every step stays a
 * deterministic function of the seed, so a run resumed from a checkpoint ends exactly
 * where an uninterrupted one does.
 *
 * ```
 * ```
 *
 * @example
 * ```ts
 * import { buildCnn } from "./cnn.ts";
 * const { model, cuts } = buildCnn({ random: Math.random });
 * console.log(cuts.default); // ["block1/pool/MaxPool_output_0"]
 * ```
 * @module
 */
import type { Model } from "../graph/ir.ts";
import { NetBuilder } from "./net_builder.ts";

/** Options of {@linkcode buildCnn}. */
export interface CnnOptions {
  /** Uniform random source in [0, 1) for the initial weights. */
  random: () => number;
  /** Channels of the two blocks (default 16, 32). */
  channels?: [number, number];
  /** Hidden units (default 64). */
  hidden?: number;
  /** Image side (default 28). */
  size?: number;
  /** Input channels (default 1). */
  inChannels?: number;
  /** Output units (default 1: binary, BCE on logits). */
  classes?: number;
  /**
   * Normalisation in the blocks: `"batch"` (default) or `"group"` (4 groups, per sample).
   * Measured on PneumoniaMNIST with label-skewed clinics, GroupNorm did not train better
   * than BatchNorm (see the README's split-training notes), so BatchNorm stays the default.
   */
  norm?: "group" | "batch";
}

/** A zoo model with its named cuts. */
export interface ZooModel {
  model: Model;
  cuts: {
    /** Vanilla split: clinic front | server rest. */
    default: string[];
    /** Label-private U-shape: clinic front | server middle | clinic head. */
    ushaped: string[];
    /**
     * Another vanilla cut that shows the trade-off between clinic compute and traffic
     * (CNN: deeper than the default; EHR: shallower).
     */
    alternate: string[];
  };
  /** What the alternate cut is relative to the default. */
  alternateName: "deep" | "shallow";
}

/**
 * Builds the zoo CNN.
 *
 * @example
 * ```ts
 * import { buildCnn } from "./cnn.ts";
 * buildCnn({ random: Math.random }).cuts.ushaped.length; // 2
 * ```
 */
export function buildCnn(opts: CnnOptions): ZooModel {
  const [c1, c2] = opts.channels ?? [16, 32];
  const hidden = opts.hidden ?? 64, size = opts.size ?? 28, cin = opts.inChannels ?? 1;
  const classes = opts.classes ?? 1;
  if (size % 4 !== 0) throw new RangeError(`zoo cnn: image size ${size} must be a multiple of 4`);
  const b = new NetBuilder("splitgate_cnn", opts.random);
  const image = b.input("image", "float32", ["N", cin, size, size]);
  const norm = (x: string, c: number, name: string) =>
    opts.norm === "group" ? b.groupNorm(x, c, 4, `${name}.gn`) : b.batchNorm(x, c, `${name}.bn`);
  const block = (x: string, i: number, o: number, name: string) =>
    b.maxPool2(
      b.relu(norm(b.conv2d(x, i, o, 3, `${name}.conv`, { pad: 1 }), o, name), `${name}/relu`),
      `${name}/pool`,
    );
  const f1 = block(image, cin, c1, "block1");
  const f2 = block(f1, c1, c2, "block2");
  const h = b.relu(
    b.linear(b.flatten(f2, "head/flatten"), c2 * (size / 4) ** 2, hidden, "head.fc1"),
    "head/relu",
  );
  const logits = b.linear(h, hidden, classes, "head.fc2");
  return {
    model: b.finish(logits, "logits", ["N", classes]),
    // The default cut leaves block 1 at the clinic: about a tenth of the step's FLOPs
    // (block 2's 16→32-channel convolution dominates), so a clinic computes far less than
    // a federated one; the deeper cut sends half as many floats but keeps block 2 there.
    cuts: { default: [f1], ushaped: [f1, h], alternate: [f2] },
    alternateName: "deep",
  };
}
