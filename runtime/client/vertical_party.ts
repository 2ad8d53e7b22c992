/**
 * One party of a vertical study, end to end: private record matching through the server's
 * relay (`crypto/psi`), then training its own front segment on its own columns of the
 * matched rows, in the agreed order, with the server fusing every party's cut tensors.
 *
 * Row order: the PSI's agreed order (by the double-blinded identifier, the same at every
 * party); batches are drawn from it with the study's seed, so every party feeds the same
 * patients in the same step without exchanging an index. The label party computes the test
 * metrics; it picks the epoch of best validation AUC, as central training does.
 *
 * @example
 * ```ts
 * import { runVerticalParty } from "./vertical_party.ts";
 * // const r = await runVerticalParty({ name: "hospital", conn, data, study, engine, log: console.log });
 * // r.test?.auc
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { createOptimizer, type Optimizer } from "../../models/train/optimizer.ts";
import { PsiParty } from "../../crypto/psi/mod.ts";
import type { VerticalStudy } from "../config/vertical_study.ts";
import { PARTY_SPLITS, type PartyData } from "../data/party_file.ts";
import { batches } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import { takeRows } from "../data/tensor_dataset.ts";
import type { Engine } from "../engine/mod.ts";
import { concatRows, type Metrics } from "../train/metrics.ts";
import { evaluateLogits } from "../train/metrics.ts";
import { SegmentRunner } from "../train/segment_runner.ts";
import { clipAndNoise } from "../privacy/noise_defence.ts";
import { protectCutGradient } from "../privacy/label_protection.ts";
import { compileVerticalTop } from "../train/vertical_top.ts";
import { createVerticalFront, type VerticalFront } from "../train/vertical_front.ts";
import { fusedWidth } from "../train/vertical_fusion.ts";
import type { VerticalRequester } from "./vertical_pipe.ts";
import type { SegmentSlot } from "../train/segment_state.ts";
import { endEpoch, resumeParty } from "./vertical_party_state.ts";

/** What {@linkcode runVerticalParty} needs. */
export interface VerticalPartyOptions {
  name: string;
  /** The channel to the server, direct or through the courier (`vertical_pipe.ts`). */
  conn: VerticalRequester;
  data: PartyData;
  study: VerticalStudy;
  engine: Engine;
  log: (line: string) => void;
  /**
   * The party's state folder: epoch checkpoints written there and resumed from
   * (`vertical_party_state.ts`); none: no checkpoint (it resumes at epoch 0).
   */
  stateDir?: string;
}

/** Per-epoch record (metrics only at the label party). */
export interface VerticalEpoch {
  epoch: number;
  trainLoss: number | null;
  val: Metrics | null;
  test: Metrics | null;
}

/** The outcome at one party. */
export interface VerticalPartyResult {
  /** Matched rows per split. */
  matched: Record<(typeof PARTY_SPLITS)[number], number>;
  epochs: VerticalEpoch[];
  /** Test metrics at the best validation epoch (label party only). */
  test: Metrics | null;
  bestEpoch: number | null;
  bytesUp: number;
  bytesDown: number;
  psiSeconds: number;
  trainSeconds: number;
}

/** One matched split: the party's rows in the agreed order. */
interface Aligned {
  inputs: Record<string, Tensor>;
  label?: Tensor;
  size: number;
}

/** Runs the two PSI rounds of one split through the relay; returns the aligned rows. */
async function matchSplit(
  o: VerticalPartyOptions,
  split: (typeof PARTY_SPLITS)[number],
): Promise<Aligned> {
  const d = o.data.splits[split];
  const psi = new PsiParty(d.ids, {
    format: o.study.idFormat,
    reveal: o.study.reveal,
    padTo: o.study.padTo,
  });
  const points = (b: Uint8Array) => ({
    points: { dtype: "uint8", dims: [b.length], data: b } as Tensor,
  });
  const got = async (round: number) =>
    (await o.conn.request({ type: "V_PSI_GET", tag: split, round })).tensors.get("points")!
      .data as Uint8Array;
  await o.conn.request({ type: "V_PSI_PUT", tag: split, round: 1 }, points(psi.blindedSet()));
  await o.conn.request(
    { type: "V_PSI_PUT", tag: split, round: 2 },
    points(psi.evaluate(await got(1))),
  );
  const r = psi.finish(await got(2));
  const inputs: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(d.inputs)) inputs[k] = takeRows(t, r.rows);
  return { inputs, label: d.label ? takeRows(d.label, r.rows) : undefined, size: r.size };
}

function take(
  a: Aligned,
  idx: ArrayLike<number>,
): { inputs: Record<string, Tensor>; label?: Tensor } {
  const inputs: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(a.inputs)) inputs[k] = takeRows(t, idx);
  return { inputs, label: a.label ? takeRows(a.label, idx) : undefined };
}

/** The party's front (`runtime/train/vertical_front.ts`). */
function buildFront(o: VerticalPartyOptions): Promise<VerticalFront> {
  return createVerticalFront(o.engine, o.study, o.name, o.data.encoding);
}

/** The U-shaped label party's head (the top's last segment, same seed as the server's). */
async function buildHead(
  o: VerticalPartyOptions,
): Promise<{ runner: SegmentRunner; input: string; opt: Optimizer } | null> {
  if (o.study.labels.holder !== "party" || o.study.labels.party !== o.name) return null;
  const width = fusedWidth(
    o.study.parties.map(() => ({ width: o.study.frontWidth })),
    o.study.fusion,
  );
  const head = compileVerticalTop({
    width,
    fusionHidden: o.study.fusionHidden,
    seed: o.study.seed,
    ushaped: true,
  })[1];
  return {
    runner: await SegmentRunner.create(o.engine, head),
    input: head.inputs[0].name,
    opt: createOptimizer({ kind: "adam", lr: o.study.lr }),
  };
}

/**
 * Runs the party (see the module documentation).
 *
 * @throws {NoiseError} `PSI_INVALID_IDENTIFIER` for an identifier not of the study's form;
 *   {@link ProtocolError} for a step the server refused.
 */
export async function runVerticalParty(o: VerticalPartyOptions): Promise<VerticalPartyResult> {
  const t0 = performance.now();
  const aligned = {} as Record<(typeof PARTY_SPLITS)[number], Aligned>;
  for (const s of PARTY_SPLITS) aligned[s] = await matchSplit(o, s);
  const matched = { train: aligned.train.size, val: aligned.val.size, test: aligned.test.size };
  o.log(
    `[${o.name}] PSI: matched ${matched.train}/${matched.val}/${matched.test} train/val/test rows`,
  );
  const psiSeconds = (performance.now() - t0) / 1000;
  const front = await buildFront(o);
  const head = await buildHead(o);
  const isLabel = o.study.labels.party === o.name;
  const rng = new Rng(o.study.seed);
  const slots: SegmentSlot[] = [{ role: "front", runner: front.runner, optimizer: front.opt }];
  if (head) slots.push({ role: "head", runner: head.runner, optimizer: head.opt });
  const t1 = performance.now();
  // Every side starts after the same epoch: the steps of one cut short run once more, at all.
  const start = await resumeParty<VerticalEpoch>(o.conn, o.stateDir, slots);
  const epochs: VerticalEpoch[] = start.records;
  const rows = () => Uint32Array.from({ length: aligned.train.size }, (_, i) => i);
  // The batch orders of the epochs done are drawn again, so the stream goes on where it stopped.
  for (let e = 1; e <= start.epoch; e++) Array.from(batches(rows(), o.study.batchSize, rng));
  if (start.epoch > 0) o.log(`[${o.name}] resumed after epoch ${start.epoch}`);
  for (let epoch = start.epoch + 1; epoch <= o.study.epochs; epoch++) {
    let lossSum = 0, seen = 0, b = 0;
    for (const idx of batches(rows(), o.study.batchSize, rng)) {
      const loss = await trainStep(o, front, head, take(aligned.train, idx), `${epoch}:${b++}`);
      if (loss !== null) {
        lossSum += loss * idx.length;
        seen += idx.length;
      }
    }
    const val = await evaluateSplit(o, front, head, aligned.val, `${epoch}:val`);
    const test = await evaluateSplit(o, front, head, aligned.test, `${epoch}:test`);
    epochs.push({ epoch, trainLoss: seen ? lossSum / seen : null, val, test });
    await endEpoch(o.conn, o.stateDir, epoch, slots, epochs);
    if (isLabel) {
      o.log(
        `[${o.name}] epoch ${epoch}/${o.study.epochs}  train loss ${
          (lossSum / seen).toFixed(4)
        }  val AUC ${val!.auc.toFixed(4)}`,
      );
    }
  }
  const best = isLabel ? epochs.reduce((a, e) => (e.val!.auc > a.val!.auc ? e : a)) : null;
  return {
    matched,
    epochs,
    test: best?.test ?? null,
    bestEpoch: best?.epoch ?? null,
    bytesUp: o.conn.bytesUp,
    bytesDown: o.conn.bytesDown,
    psiSeconds,
    trainSeconds: (performance.now() - t1) / 1000,
  };
}

type Front = Awaited<ReturnType<typeof buildFront>>;
type Head = Awaited<ReturnType<typeof buildHead>>;

const noiseRngs = new WeakMap<VerticalPartyOptions, Rng>();

/**
 * What leaves for a clean cut tensor: itself, or clipped and noised (`defence.noise`; the
 * backward is straight-through, as in horizontal training). The noise stream is seeded by the
 * study's seed and the party's place.
 */
function sendable(o: VerticalPartyOptions, z: Tensor): Tensor {
  const noise = o.study.defence.noise;
  if (!noise) return z;
  let rng = noiseRngs.get(o);
  if (!rng) {
    noiseRngs.set(o, rng = new Rng(o.study.seed * 7919 + o.study.parties.indexOf(o.name) + 17));
  }
  return clipAndNoise(z, noise, rng);
}

/** One training step at this party; returns the loss where this party learns it. */
async function trainStep(
  o: VerticalPartyOptions,
  front: Front,
  head: Head,
  batch: { inputs: Record<string, Tensor>; label?: Tensor },
  stepId: string,
): Promise<number | null> {
  const f = await front.runner.forward(batch.inputs);
  const activation = sendable(o, f.outputs[front.cut]);
  const sendLabels = o.study.labels.holder === "server" && o.study.labels.party === o.name;
  const reply = await o.conn.request(
    { type: "V_FORWARD", stepId },
    sendLabels ? { activation, labels: batch.label! } : { activation },
  );
  let cutGrad = reply.tensors.get("cutGrad");
  let loss = reply.header.loss ?? null;
  if (head) {
    const h = await head.runner.step(
      { [head.input]: reply.tensors.get("headInput")! },
      batch.label!,
    );
    head.opt.step(head.runner.params, h.paramGrads);
    loss = h.loss;
    cutGrad = (await o.conn.request({ type: "V_HEAD_BACKWARD", stepId }, {
      gradHeadInput: protectCutGradient(h.inputGrads[head.input], o.study.defence.labelProtection),
    })).tensors.get("cutGrad");
  }
  const g = await front.runner.backward(f.saved, { [front.cut]: cutGrad! });
  front.opt.step(front.runner.params, g.paramGrads);
  return loss;
}

/** Evaluates one aligned split in order; metrics at the label party, null elsewhere. */
async function evaluateSplit(
  o: VerticalPartyOptions,
  front: Front,
  head: Head,
  a: Aligned,
  tag: string,
): Promise<Metrics | null> {
  const outs: Tensor[] = [];
  const size = 1024;
  for (let i = 0, k = 0; i < a.size; i += size, k++) {
    const idx = Array.from({ length: Math.min(size, a.size - i) }, (_, j) => i + j);
    const activation = sendable(o, (await front.runner.infer(take(a, idx).inputs))[front.cut]);
    const r = await o.conn.request({ type: "V_EVAL", batchId: `${tag}:${k}` }, { activation });
    const out = r.tensors.get("output");
    if (out) {
      outs.push(head ? Object.values(await head.runner.infer({ [head.input]: out }))[0] : out);
    }
  }
  if (!a.label || outs.length === 0) return null;
  const m = evaluateLogits("bce", concatRows(outs), a.label);
  return { loss: m.loss, auc: m.auc, accuracy: m.accuracy, samples: m.samples };
}
