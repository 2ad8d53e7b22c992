/**
 * The leakage audit of a trained run (see `run_dir.ts`), on held-out data, from the
 * point of view of an honest-but-curious server:
 *
 * 1. dCor(X, Z) between test inputs and the activations the server receives for them
 *    (inference graph, then the run's noise defence), on ≤ 512 seeded rows;
 * 2. reconstruction: a decoder Z → X trained on the validation split (auxiliary data the
 *    server could plausibly hold), applied to the test activations: MSE, PSNR, SSIM, and a
 *    PNG grid of originals above reconstructions;
 * 3. label leakage: norm- and direction-attack AUC on the gradients the server sees —
 *    vanilla: the cut gradients it returns (after the run's label protection; who
 *    receives them without the labels learns them); U-shaped: the gradients at the head's
 *    input that the clinic sends — measured with the run's final weights on test batches
 *    of the run's batch size (training-mode graphs, as during training);
 *    With randomised response (vanilla) the batches carry labels noised as the clinic sends
 *    them, so the AUCs say what the server learns of the *true* labels;
 * 4. utility: test AUC, as deployed (noise included);
 * 5. the privacy account of the run's defences (`privacy_budget.ts`): ε at δ of the cut noise
 *    after the epochs trained, ε of label randomised response, and what has no ε.
 *
 * Raw records are never written: `audit.json` and `report.md` hold numbers only; the only
 * images written are the grid the report shows.
 *
 * @example
 * ```ts
 * import { auditRun } from "./audit.ts";
 * // const r = await auditRun({ engine, runDir: "out/privacy/none", outDir: "out/privacy/none/audit", quick: true });
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { Engine } from "../engine/mod.ts";
import { loadDataset } from "../data/load_dataset.ts";
import { Rng } from "../data/rng.ts";
import type { TensorDataset } from "../data/tensor_dataset.ts";
import { concatRows } from "../train/metrics.ts";
import { describeDefence } from "./defence_config.ts";
import { DefendedPipeline } from "./defended_pipeline.ts";
import { EVAL_SEED, evaluateDefended } from "./defended_training.ts";
import { trainDecoder } from "./decoder.ts";
import { biasCorrectedDcor, directionScores, distanceCorrelation, leakAuc, mse, psnr, rowNorms, ssim } from "./metrics.ts";
import { openRunDir, RunDirError } from "./run_dir.ts";
import { imageGridPng } from "./png_grid.ts";
import { describeAccount, type PrivacyAccount, privacyAccount } from "./privacy_budget.ts";
import { RandomisedLabels } from "./randomised_response.ts";

/** Options of {@linkcode auditRun}. */
export interface AuditOptions {
  engine: Engine;
  runDir: string;
  /** Where report.md, audit.json and the figure go (default `<runDir>/audit`). */
  outDir?: string;
  /** Fewer decoder epochs and rows (a smoke-sized audit). */
  quick?: boolean;
  /** The data file, overriding run.json's `data`. */
  data?: string;
  /** Decoder training epochs (default 40; 15 with `quick`). */
  decoderEpochs?: number;
  /** Images in the figure (default 8). */
  figureImages?: number;
}

/** The audit's numbers (what `audit.json` holds). */
export interface AuditResult {
  run: string;
  mode: "vanilla" | "ushaped";
  defence: string;
  /** Utility: test AUC as deployed, and the one recorded by the trainer. */
  testAuc: number;
  recordedTestAuc: number;
  /** dCor(X, Z) on test rows (V-statistic, Székely et al. 2007). */
  dcor: number;
  /** Bias-corrected dCor (Székely & Rizzo 2014) on the same rows: ≈ 0 when independent. */
  dcorBiasCorrected: number;
  dcorRows: number;
  reconstruction: { mse: number; psnr: number; ssim: number; images: number; decoderTrainMse: number; auxImages: number };
  /** Leak AUCs (0.5 = no leak; distance from 0.5 = leak) and where they were measured. */
  leak: { normAuc: number; directionAuc: number; batches: number; measuredOn: string };
  /** The privacy account of the run's defences after its epochs. */
  privacy: PrivacyAccount;
  /** Files written, relative to the output directory. */
  files: string[];
  seconds: number;
}

function rowsOf(t: Tensor): { data: ArrayLike<number>; rows: number } {
  return { data: t.data as Float32Array, rows: t.dims[0] };
}

async function sentActivations(pipe: DefendedPipeline, ds: TensorDataset): Promise<Tensor> {
  const rng = new Rng(EVAL_SEED + 1);
  const outs: Tensor[] = [];
  for (let i = 0; i < ds.size; i += 256) {
    const idx = Array.from({ length: Math.min(256, ds.size - i) }, (_, k) => i + k);
    outs.push(await pipe.sentActivation(ds.take(idx).inputs, rng));
  }
  return concatRows(outs);
}

const fmt = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

/**
 * Audits the run in `runDir` and writes `report.md`, `audit.json` and
 * `reconstructions.png` into the output directory.
 *
 * @throws {RunDirError} when `runDir` is not a valid run directory (before any work)
 * @example
 * ```ts
 * // const result = await auditRun({ engine, runDir: "out/run", quick: true });
 * ```
 */
export async function auditRun(o: AuditOptions): Promise<AuditResult> {
  const t0 = performance.now();
  const run = await openRunDir(o.runDir);
  const m = run.manifest;
  const dataPath = o.data ?? m.data;
  const data = await loadDataset(dataPath, { seed: m.seed });
  if (data.kind !== "image" || !data.image) {
    throw new RunDirError("BAD_FIELD", `${o.runDir}: the audit's reconstruction needs image data; ${dataPath} is ${data.kind}`);
  }
  const { channels, size } = data.image;
  const pixels = channels * size * size;
  const outDir = o.outDir ?? `${o.runDir.replace(/\/+$/, "")}/audit`;
  const pipe = await DefendedPipeline.create(o.engine, run.segments, m.defence, m.seed);
  try {
    pipe.load(run.weights);
    // 4. Utility.
    const utility = await evaluateDefended(pipe, data.test, m.loss);
    // 1. dCor on test.
    const zTest = await sentActivations(pipe, data.test);
    const xTest = data.test.inputs.image;
    const dcorRows = Math.min(512, data.test.size);
    const dcor = distanceCorrelation(rowsOf(xTest), rowsOf(zTest), { maxRows: 512, seed: m.seed });
    const dcorBiasCorrected = biasCorrectedDcor(rowsOf(xTest), rowsOf(zTest), { maxRows: 512, seed: m.seed });
    // 2. Reconstruction from a decoder trained on the validation split.
    const zVal = await sentActivations(pipe, data.val);
    const decoder = await trainDecoder(o.engine, zVal, data.val.inputs.image, { epochs: o.decoderEpochs ?? (o.quick ? 15 : 40), seed: m.seed });
    const recon = await decoder.reconstruct(zTest);
    await decoder.release();
    const nImg = o.quick ? Math.min(200, data.test.size) : data.test.size;
    let mseSum = 0, psnrSum = 0, ssimSum = 0;
    const xd = xTest.data as Float32Array, rd = recon.data as Float32Array;
    for (let i = 0; i < nImg; i++) {
      const a = xd.subarray(i * pixels, (i + 1) * pixels), b = rd.subarray(i * pixels, (i + 1) * pixels);
      mseSum += mse(a, b);
      psnrSum += psnr(a, b);
      for (let c = 0; c < channels; c++) {
        const s = size * size;
        ssimSum += ssim(a.subarray(c * s, (c + 1) * s), b.subarray(c * s, (c + 1) * s), size, size) / channels;
      }
    }
    const figN = Math.min(o.figureImages ?? 8, data.test.size);
    const firstChannel = (d: Float32Array, i: number) => d.subarray(i * pixels, i * pixels + size * size);
    const png = imageGridPng(
      Array.from({ length: figN }, (_, i) => firstChannel(xd, i)),
      Array.from({ length: figN }, (_, i) => firstChannel(rd, i)),
      size,
      size,
    );
    // 3. Label leakage on test batches, training-mode graphs, final weights.
    const labels = data.test.target.data as Float32Array;
    const ld = m.defence.labelDefence;
    const rr = ld?.kind === "rr" ? new RandomisedLabels(labels, ld.epsilon, new Rng(m.seed + 0x7272)) : undefined;
    const normScores: number[] = [], dirScores: number[] = [], normLabels: number[] = [], dirLabels: number[] = [];
    let nBatches = 0;
    const bs = m.batchSize;
    for (let at = 0; at + bs <= data.test.size; at += bs) {
      const idx = Array.from({ length: bs }, (_, k) => at + k);
      const b = data.test.take(idx);
      const r = await pipe.forwardBackward(b.inputs, rr ? rr.take(idx, b.target) : b.target);
      const g = pipe.mode === "ushaped" ? r.headGrad! : r.returned;
      const y = idx.map((i) => labels[i]);
      normScores.push(...rowNorms(rowsOf(g)));
      normLabels.push(...y);
      const known = y.indexOf(1);
      if (known >= 0) {
        dirScores.push(...directionScores(rowsOf(g), known));
        dirLabels.push(...y);
      }
      nBatches++;
    }
    const normAuc = normScores.length ? leakAuc(normScores, normLabels) : NaN;
    const directionAuc = dirScores.length ? leakAuc(dirScores, dirLabels) : NaN;

    const result: AuditResult = {
      run: o.runDir,
      mode: pipe.mode,
      defence: describeDefence(m.defence),
      testAuc: utility.auc,
      recordedTestAuc: m.test.auc,
      dcor,
      dcorBiasCorrected,
      dcorRows,
      reconstruction: {
        mse: mseSum / nImg,
        psnr: psnrSum / nImg,
        ssim: ssimSum / nImg,
        images: nImg,
        decoderTrainMse: decoder.trainLoss,
        auxImages: data.val.size,
      },
      leak: {
        normAuc,
        directionAuc,
        batches: nBatches,
        measuredOn: pipe.mode === "ushaped"
          ? "gradient at the head's input, sent by the clinic to the server"
          : "cut gradient returned by the server" + (m.defence.labelProtection === "norm-equalise" ? " (after norm equalisation)" : "") +
            (rr ? " (from labels after randomised response)" : ""),
      },
      privacy: privacyAccount(m.defence, m.epochs),
      files: ["report.md", "audit.json", "reconstructions.png"],
      seconds: 0,
    };
    result.seconds = (performance.now() - t0) / 1000;
    await Deno.mkdir(outDir, { recursive: true });
    await Deno.writeFile(`${outDir}/reconstructions.png`, png);
    await Deno.writeTextFile(`${outDir}/audit.json`, JSON.stringify(result, null, 2) + "\n");
    await Deno.writeTextFile(`${outDir}/report.md`, renderReport(result, m.cuts, dataPath, figN));
    return result;
  } finally {
    await pipe.release();
  }
}

/**
 * The Markdown report of an audit.
 *
 * @example
 * ```ts
 * // Deno.writeTextFileSync("report.md", renderReport(result, ["cut"], "data.npz", 8));
 * ```
 */
export function renderReport(r: AuditResult, cuts: readonly string[], data: string, figN: number): string {
  const rc = r.reconstruction;
  return `# Privacy audit of \`${r.run}\`

- mode: **${r.mode}**, cut${cuts.length > 1 ? "s" : ""} ${cuts.map((c) => `\`${c}\``).join(", ")}
- defence: **${r.defence}**
- data: \`${data}\` (decoder trained on the validation split, ${rc.auxImages} images; metrics on the test split)

| metric | value | meaning |
| --- | --- | --- |
| test AUC (utility) | ${fmt(r.testAuc)} | as deployed (noise included); trainer recorded ${fmt(r.recordedTestAuc)} |
| dCor(X, Z) | ${fmt(r.dcor)} | distance correlation (V-statistic) of inputs and what the server receives, ${r.dcorRows} test rows; biased upwards in high dimension |
| bias-corrected dCor(X, Z) | ${fmt(r.dcorBiasCorrected)} | Székely & Rizzo 2014, same rows: ≈ 0 when independent, 1 fully dependent |
| reconstruction MSE | ${fmt(rc.mse)} | mean over ${rc.images} test images, pixels in [0, 1] |
| reconstruction PSNR | ${fmt(rc.psnr, 2)} dB | higher = closer to the original |
| reconstruction SSIM | ${fmt(rc.ssim)} | Wang et al. 2004, 11×11 Gaussian window; 1 = identical |
| norm-attack leak AUC | ${fmt(r.leak.normAuc)} | ${r.leak.measuredOn}; 0.5 = no leak |
| direction-attack leak AUC | ${fmt(r.leak.directionAuc)} | cosine to one known positive per batch, ${r.leak.batches} batches |
| privacy account | ${describeAccount(r.privacy)} | after ${r.privacy.epochs} epochs (RDP, \`runtime/privacy/rdp_accountant.ts\`) |

Leak AUCs are reported as they are: a value below 0.5 leaks as much as its mirror above
(the attacker flips the score); |AUC − 0.5| is the size of the leak.

## Reconstructions

Top: test originals; bottom: the server's reconstructions from what it received (${figN} images).

![originals above reconstructions](reconstructions.png)
`;
}
