/**
 * The reconstruction attack of an honest-but-curious server (the model-inversion setting
 * of He, Zhang & Lee, "Model inversion attacks against collaborative inference", ACSAC
 * 2019, §4.3 "query-free"/learning-based inversion): from pairs (cut activation, input) on
 * auxiliary data it could plausibly hold, it learns a decoder Z → X, then applies it to
 * the activations it receives.
 *
 * The decoder is a small MLP built with the zoo's {@linkcode NetBuilder}: Flatten → Gemm →
 * ReLU → Gemm → Sigmoid (pixels in [0, 1]), trained with splitgate's own training graphs,
 * engine and Adam on the MSE. Activations are standardised per feature with the auxiliary
 * set's mean and standard deviation first (what any attacker would do; it also makes the
 * noise defence's larger activations comparable).
 *
 * @example
 * ```ts
 * import { trainDecoder } from "./decoder.ts";
 * // const dec = await trainDecoder(engine, auxZ, auxImages, { epochs: 30, seed: 1 });
 * // const recon = await dec.reconstruct(testZ); // float32 [N, 784]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import { NetBuilder } from "../../models/zoo/net_builder.ts";
import { compileModel } from "../../models/train/compile.ts";
import { createOptimizer } from "../../models/train/optimizer.ts";
import type { Engine } from "../engine/mod.ts";
import { batches } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import { takeRows } from "../data/tensor_dataset.ts";
import { concatRows } from "../train/metrics.ts";
import { Pipeline } from "../train/pipeline.ts";

/** Options of {@linkcode trainDecoder}. */
export interface DecoderOptions {
  epochs: number;
  seed: number;
  /** Hidden units (default 512). */
  hidden?: number;
  batchSize?: number;
  lr?: number;
}

/** A trained decoder. */
export interface Decoder {
  /** Reconstructions of activations `z` ([N, ...]): float32 [N, pixels]. */
  reconstruct(z: Tensor): Promise<Tensor>;
  /** Final training MSE on the auxiliary set. */
  trainLoss: number;
  release(): Promise<void>;
}

function flatRows(t: Tensor): Tensor {
  return { ...t, dims: [t.dims[0], t.dims.slice(1).reduce((a, b) => a * b, 1)] } as Tensor;
}

/**
 * Trains a decoder from activations `z` to `images` (flattened) on the auxiliary set.
 *
 * @example
 * ```ts
 * // const dec = await trainDecoder(engine, z, images, { epochs: 20, seed: 0 });
 * ```
 */
export async function trainDecoder(engine: Engine, z: Tensor, images: Tensor, o: DecoderOptions): Promise<Decoder> {
  const n = z.dims[0];
  const zf = flatRows(z), xf = flatRows(images);
  const dz = zf.dims[1], dx = xf.dims[1];
  // Per-feature standardisation with the auxiliary statistics.
  const zd = zf.data as Float32Array;
  const mean = new Float64Array(dz), sd = new Float64Array(dz);
  for (let i = 0; i < n; i++) for (let k = 0; k < dz; k++) mean[k] += zd[i * dz + k] / n;
  for (let i = 0; i < n; i++) for (let k = 0; k < dz; k++) sd[k] += (zd[i * dz + k] - mean[k]) ** 2 / n;
  for (let k = 0; k < dz; k++) sd[k] = Math.sqrt(sd[k]) || 1;
  const standardise = (t: Tensor): Tensor => {
    const f = flatRows(t), src = f.data as Float32Array, out = new Float32Array(src.length);
    for (let i = 0; i < f.dims[0]; i++) for (let k = 0; k < dz; k++) out[i * dz + k] = (src[i * dz + k] - mean[k]) / sd[k];
    return tensor("float32", [f.dims[0], dz], out);
  };
  const rng = new Rng(o.seed);
  const b = new NetBuilder("splitgate_decoder", () => rng.float());
  const input = b.input("z", "float32", ["N", dz]);
  const h = b.relu(b.linear(input, dz, o.hidden ?? 512, "dec.fc1"), "dec/relu");
  const out = b.op("Sigmoid", [b.linear(h, o.hidden ?? 512, dx, "dec.fc2")], "dec/Sigmoid_output_0");
  const model = b.finish(out, "recon", ["N", dx]);
  const pipe = await Pipeline.create(engine, compileModel(model, { loss: "mse", seed: o.seed }));
  const opt = [createOptimizer({ kind: "adam", lr: o.lr ?? 1e-3 })];
  const zs = standardise(z);
  let last = NaN;
  for (let e = 0; e < o.epochs; e++) {
    let sum = 0, seen = 0;
    for (const idx of batches(Uint32Array.from({ length: n }, (_, i) => i), o.batchSize ?? 64, rng)) {
      const loss = await pipe.trainStep({ z: takeRows(zs, idx) }, takeRows(xf, idx), opt);
      sum += loss * idx.length;
      seen += idx.length;
    }
    last = sum / seen;
  }
  return {
    trainLoss: last,
    async reconstruct(t: Tensor): Promise<Tensor> {
      const s = standardise(t), outs: Tensor[] = [];
      for (let i = 0; i < s.dims[0]; i += 256) {
        const idx = Array.from({ length: Math.min(256, s.dims[0] - i) }, (_, k) => i + k);
        outs.push(await pipe.infer({ z: takeRows(s, idx) }));
      }
      return concatRows(outs);
    },
    release: () => pipe.release(),
  };
}
