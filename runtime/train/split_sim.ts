/**
 * Sequential round-robin split learning in one process, with measured traffic: the
 * arithmetic of the networked split runtime (the same compiled segment graphs, the same
 * step order) driven the way its turn schedule drives it (`runtime/server/turn_schedule.ts`).
 *
 * Per epoch the clinics take turns in a fixed order (0, 1, …, K−1). In its turn a clinic
 * makes one pass over *its own* training samples with the server segment; then its
 * clinic-side state — the front segment (and the head in U-shape) with its parameters,
 * BatchNorm buffers and optimizer state — is relayed through the server to the next
 * clinic as a sealed envelope (`crypto/seal`), exactly the blob `LocalRawSide.exportWeights`
 * makes. In process the same runners simply continue.
 *
 * Nothing on the wire is estimated. Every tensor that would travel is encoded with the
 * wire codec (`runtime/codec`, the configured setting; default float32, lossless) and
 * sealed with a real Noise transport channel per clinic (`crypto/channel`, IK handshake),
 * then opened and decoded on the other side, and the *decoded* tensor is what the
 * receiver computes with. The count is the sealed frame bytes (transport frames, before
 * any HTTP framing):
 *
 * - vanilla: up = cut activation + labels (one bundle); down = gradient at the cut;
 * - U-shaped: up = cut activation; down = server output (head input); up = gradient at
 *   the head input; down = gradient at the cut. Labels never leave the clinic;
 * - relay: the sealed box of the clinic-side state, counted up for the clinic that ends
 *   its turn and down for the clinic that starts the next one (none before the very
 *   first turn, and none with a single clinic).
 *
 * Evaluation (validation each epoch, test each epoch and at the best epoch) runs the
 * inference graphs on the pooled validation and test sets; its traffic is not counted.
 *
 * @example
 * ```ts
 * import { trainSplitSim } from "./split_sim.ts";
 * // const r = await trainSplitSim({ engine, model, loss: "bce", data, clinics: [idxA, idxB],
 * //   cuts: zoo.cuts.default, epochs: 2, batchSize: 64, optimizer: { kind: "adam", lr: 1e-3 }, seed: 0 });
 * // r.clinics[0].bytesUpPerEpoch
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { sizeOf } from "../../models/tensor.ts";
import type { Model } from "../../models/graph/ir.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { countFlops } from "../../models/graph/flops.ts";
import { inferShapes } from "../../models/graph/infer_shapes.ts";
import { type CompiledSegment, compileModel } from "../../models/train/compile.ts";
import { createOptimizer, type Optimizer, type OptimizerConfig } from "../../models/train/optimizer.ts";
import { initiatorHandshake, openChunked, responderHandshake, sealChunked } from "../../crypto/channel/mod.ts";
import type { SecureChannel } from "../../crypto/channel/mod.ts";
import { generateStaticKeyPair } from "../../crypto/keys/key_pair.ts";
import { openEnvelope, runId, sealEnvelope } from "../../crypto/seal/mod.ts";
import { type BundleOptions, decodeTensors, encodeTensors } from "../codec/mod.ts";
import { writeNpz } from "../data/npz.ts";
import { batches } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import type { Batch } from "../data/tensor_dataset.ts";
import type { Engine } from "../engine/mod.ts";
import { type DataSplits, evaluate, snapshot } from "./central.ts";
import type { Metrics } from "./metrics.ts";
import { Pipeline } from "./pipeline.ts";
import { collectSegmentState } from "./segment_state.ts";

/** Message types on the simulated channel (application types, any value > 0 would do). */
const MSG_TENSORS = 2, MSG_BLOB = 3;

/**
 * One clinic's link to the server: a real Noise channel pair (IK handshake) and the wire
 * codec, counting the sealed bytes each way.
 *
 * @example
 * ```ts
 * import { WireLink } from "./split_sim.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const link = new WireLink();
 * const got = link.up({ x: tensor("float32", [2, 2], new Float32Array([1, 2, 3, 4])) });
 * console.log(got.x.data, link.bytesUp > 0); // Float32Array [1, 2, 3, 4] true
 * ```
 */
export class WireLink {
  /** Sealed bytes clinic → server. */
  bytesUp = 0;
  /** Sealed bytes server → clinic. */
  bytesDown = 0;
  /** Seconds spent encoding, sealing, opening and decoding. */
  seconds = 0;
  readonly #clinic: SecureChannel;
  readonly #server: SecureChannel;

  /** A fresh channel pair; `codec` is the wire codec setting of every tensor message. */
  constructor(readonly codec: BundleOptions = {}) {
    const server = generateStaticKeyPair(), clinic = generateStaticKeyPair();
    const hs = initiatorHandshake({ staticKeyPair: clinic, serverPublicKey: server.publicKey });
    const r = responderHandshake({ staticKeyPair: server, lookupPeer: () => ({ name: "clinic" }) }, hs.message1);
    this.#clinic = hs.finish(r.message2);
    this.#server = r.channel;
  }

  /** Sends named tensors clinic → server; returns what the server decodes. */
  up(tensors: Record<string, Tensor>): Record<string, Tensor> {
    return this.#tensors(tensors, this.#clinic, this.#server, "up");
  }

  /** Sends named tensors server → clinic; returns what the clinic decodes. */
  down(tensors: Record<string, Tensor>): Record<string, Tensor> {
    return this.#tensors(tensors, this.#server, this.#clinic, "down");
  }

  /** Sends an opaque blob (a sealed box) clinic → server; returns the received bytes. */
  upBlob(blob: Uint8Array): Uint8Array {
    return this.#blob(blob, this.#clinic, this.#server, "up");
  }

  /** Sends an opaque blob server → clinic; returns the received bytes. */
  downBlob(blob: Uint8Array): Uint8Array {
    return this.#blob(blob, this.#server, this.#clinic, "down");
  }

  #tensors(t: Record<string, Tensor>, from: SecureChannel, to: SecureChannel, dir: "up" | "down"): Record<string, Tensor> {
    const t0 = performance.now();
    const bytes = encodeTensors(t, this.codec);
    const got = decodeTensors(this.#send(bytes, MSG_TENSORS, from, to, dir), {
      maxElements: 1 << 30,
      maxTensors: 1024,
    });
    this.seconds += (performance.now() - t0) / 1000;
    return Object.fromEntries(got);
  }

  #blob(blob: Uint8Array, from: SecureChannel, to: SecureChannel, dir: "up" | "down"): Uint8Array {
    const t0 = performance.now();
    const out = this.#send(blob, MSG_BLOB, from, to, dir);
    this.seconds += (performance.now() - t0) / 1000;
    return out;
  }

  #send(bytes: Uint8Array, type: number, from: SecureChannel, to: SecureChannel, dir: "up" | "down"): Uint8Array {
    const frames = sealChunked(from, type, bytes);
    const n = frames.reduce((a, f) => a + f.length, 0);
    if (dir === "up") this.bytesUp += n;
    else this.bytesDown += n;
    return openChunked(to, frames).payload;
  }
}

/** Graph FLOPs of `model` at batch size `b` (cached per model and size). */
const flopCache = new WeakMap<Model, Map<number, number>>();
function graphFlops(model: Model | undefined, b: number): number {
  if (!model) return 0;
  let m = flopCache.get(model);
  if (!m) flopCache.set(model, m = new Map());
  let f = m.get(b);
  if (f === undefined) {
    f = countFlops(model.graph, { batch: b, opset: model.opsets.get("") ?? 17 }).total;
    m.set(b, f);
  }
  return f;
}

/**
 * FLOPs of one training step of `seg` (forward + backward, or the fused step) at batch
 * size `b`, counted from its graphs with {@linkcode countFlops}. Host-side optimizer
 * updates are not graph work and are not included.
 *
 * @example
 * ```ts
 * import { segmentStepFlops } from "./split_sim.ts";
 * // segmentStepFlops(compiled[0], 64)
 * ```
 */
export function segmentStepFlops(seg: CompiledSegment, b: number): number {
  return seg.hasLoss ? graphFlops(seg.step, b) : graphFlops(seg.forward, b) + graphFlops(seg.backward, b);
}

/** Batch sizes of one pass over `n` samples. */
export function batchSizes(n: number, batchSize: number): number[] {
  const out = new Array(Math.floor(n / batchSize)).fill(batchSize);
  if (n % batchSize) out.push(n % batchSize);
  return out;
}

/**
 * Working set of `segs` at batch size `b`, estimated from graph shapes: parameters, BatchNorm
 * buffers, optimizer state (Adam/AdamW: 2 floats per parameter; SGD with momentum: 1) and
 * every float intermediate of the forward (inference) graphs plus their inputs — what the
 * training graphs keep alive for the backward pass, an upper bound of the saved tensors.
 *
 * @example
 * ```ts
 * import { workingSetBytes } from "./split_sim.ts";
 * // workingSetBytes([compiled[0]], 64, { kind: "adam", lr: 1e-3 })
 * ```
 */
export function workingSetBytes(segs: readonly CompiledSegment[], b: number, opt: OptimizerConfig): number {
  const perParam = opt.kind === "sgd" ? ((opt.momentum ?? 0.9) > 0 ? 2 : 1) : 3;
  let bytes = 0;
  for (const s of segs) {
    for (const p of s.params.values()) bytes += 4 * perParam * sizeOf(p.dims);
    for (const p of s.buffers.values()) bytes += 4 * sizeOf(p.dims);
    const g = s.infer.graph;
    const known = new Set([...s.params.keys(), ...s.buffers.keys()]);
    const facts = inferFacts(s.infer);
    for (const [name, f] of facts) {
      if (known.has(name) || g.initializers.has(name) || !f.shape) continue;
      if (f.dtype !== "float32") continue;
      const dims = f.shape.map((d) => (typeof d === "number" ? d : d === "N" ? b : NaN));
      if (dims.some((d) => Number.isNaN(d))) continue;
      bytes += 4 * sizeOf(dims);
    }
  }
  return bytes;
}

function inferFacts(m: Model) {
  return inferShapes(m.graph, m.opsets.get("") ?? 17);
}

/** Measured cost of one clinic. */
export interface ClinicReport {
  clinic: number;
  /** Training samples of the clinic. */
  samples: number;
  /** Mini-batches per epoch. */
  batchesPerEpoch: number;
  /** Sealed bytes clinic → server per epoch (mean over epochs), relay included. */
  bytesUpPerEpoch: number;
  /** Sealed bytes server → clinic per epoch (mean over epochs), relay included. */
  bytesDownPerEpoch: number;
  /** Of which the weight relay (or, in FedAvg, the model exchange), up and down per epoch. */
  relayUpPerEpoch: number;
  relayDownPerEpoch: number;
  /** Graph FLOPs of the clinic's own segments per epoch. */
  flopsPerEpoch: number;
  /** Seconds spent in the clinic's own graphs (and optimizer steps) per epoch. */
  secondsPerEpoch: number;
  /** Working set in bytes, estimated from graph shapes (see {@linkcode workingSetBytes}). */
  workingSetBytes: number;
}

/** One epoch of a distributed run. */
export interface SimEpoch {
  epoch: number;
  trainLoss: number;
  val: Metrics;
  /** Test metrics of this epoch's model (for the learning curves; selection uses val). */
  test: Metrics;
  seconds: number;
}

/** Outcome of a simulated distributed run. */
export interface SimResult {
  history: SimEpoch[];
  bestEpoch: number;
  /** Test metrics of the best epoch (validation AUC). */
  test: Metrics;
  clinics: ClinicReport[];
  server: { flopsPerEpoch: number; secondsPerEpoch: number };
  /** Seconds in the codec and the channel (both sides), whole run. */
  wireSeconds: number;
  seconds: number;
}

/** Options of {@linkcode trainSplitSim}. */
export interface SplitSimOptions {
  engine: Engine;
  model: Model;
  loss: LossKind;
  data: DataSplits;
  /** Training-sample indices of each clinic (into `data.train`), in turn order. */
  clinics: readonly ArrayLike<number>[];
  /** One cut: vanilla; two cuts: U-shaped (front | server | head); none: central (no wire). */
  cuts: readonly string[];
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  seed: number;
  augment?: (batch: Batch, rng: Rng) => Batch;
  /** Wire codec of the tensor messages (default float32, lossless, Padmé padding). */
  codec?: BundleOptions;
  /**
   * Batches per turn: a clinic trains this many of its batches, then hands over to the
   * next clinic with batches left; an epoch ends when every clinic has used all of its
   * data. Default: a whole pass over the clinic's data per turn. Shorter turns mix the
   * clinics' data more like a pooled shuffle does, which matters for label-skewed
   * partitions; each turn costs one sealed relay of the clinic-side state.
   */
  turnBatches?: number;
  evalBatchSize?: number;
  onEpoch?: (e: SimEpoch) => void;
}

/**
 * Runs sequential round-robin split learning (see the module doc).
 *
 * @throws {RangeError} for no clinic, an empty clinic, more than two cuts or bad epochs
 * @example
 * ```ts
 * import { trainSplitSim } from "./split_sim.ts";
 * // (await trainSplitSim(opts)).test.auc
 * ```
 */
export async function trainSplitSim(o: SplitSimOptions): Promise<SimResult> {
  if (!(Number.isInteger(o.epochs) && o.epochs >= 1)) throw new RangeError(`epochs must be an integer >= 1, got ${o.epochs}`);
  if (o.clinics.length < 1 || o.clinics.some((c) => c.length === 0)) {
    throw new RangeError(`clinics must be one or more non-empty index lists, got sizes [${o.clinics.map((c) => c.length)}]`);
  }
  if (o.cuts.length > 2) throw new RangeError(`cuts must name 0, 1 (vanilla) or 2 (U-shaped) tensors, got ${o.cuts.length}`);
  const segments = compileModel(o.model, { loss: o.loss, seed: o.seed, cuts: o.cuts });
  const pipe = await Pipeline.create(o.engine, segments);
  const runners = pipe.runners;
  const opts: Optimizer[] = segments.map(() => createOptimizer(o.optimizer));
  const mode = o.cuts.length === 0 ? "central" : o.cuts.length === 1 ? "vanilla" : "ushaped";
  // Which segments the clinic runs: all (central), the front (vanilla), front + head (U).
  const clinicSegs = mode === "central" ? [0] : mode === "vanilla" ? [0] : [0, 2];
  const serverSegs = mode === "vanilla" ? [1] : mode === "ushaped" ? [1] : [];
  const links = o.clinics.map(() => new WireLink(o.codec));
  const keys = o.clinics.map(() => generateStaticKeyPair());
  // The relay's envelope as the runtime makes it (runtime/client/raw_side/weight_relay.ts).
  const aad = new TextEncoder().encode(`splitgate/clinic-weights/v2;mode=${mode}`);
  const relayRun = runId(generateStaticKeyPair().publicKey);
  let relaySeq = 0;
  const clinicSeconds = o.clinics.map(() => 0);
  let serverSeconds = 0;
  const relayUp = o.clinics.map(() => 0), relayDown = o.clinics.map(() => 0);
  const rng = new Rng(o.seed);
  const history: SimEpoch[] = [];
  let best: { epoch: number; score: number; weights: Map<string, Tensor> } | undefined;
  const forward = (x: Record<string, Tensor>) => pipe.infer(x);
  const t0 = performance.now();
  let previous = -1;
  const timed = async <T>(who: number, f: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    const r = await f();
    const dt = (performance.now() - s) / 1000;
    if (who < 0) serverSeconds += dt;
    else clinicSeconds[who] += dt;
    return r;
  };

  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const e0 = performance.now();
    let lossSum = 0, seen = 0;
    // Each clinic's batches for this epoch, drawn up front in clinic order (the same
    // draws as whole-pass turns), then consumed in turns of `turnBatches`.
    const queues = o.clinics.map((c) => [...batches(c, o.batchSize, rng)]);
    const turn = o.turnBatches ?? Infinity;
    while (queues.some((q) => q.length > 0)) {
      for (let k = 0; k < o.clinics.length; k++) {
        if (queues[k].length === 0) continue;
        if (previous >= 0 && previous !== k) {
          // Relay: the previous clinic seals its state to clinic k; it travels up to the
          // server and down to k. In process, the runners carry on with the same state.
          const state = collectSegmentState(
            clinicSegs.map((i, j) => ({ role: j === 0 ? "front" as const : "head" as const, runner: runners[i], optimizer: opts[i] })),
          );
          const header = { sender: `clinic-${previous}`, recipient: `clinic-${k}`, run: relayRun, epoch, seq: ++relaySeq };
          const plaintext = writeNpz(state, { level: 1 });
          const blob = sealEnvelope({ sender: keys[previous], recipientPublicKey: keys[k].publicKey, header, plaintext, context: aad });
          const atServer = links[previous].upBlob(blob);
          relayUp[previous] += atServer.length;
          const atClinic = links[k].downBlob(atServer);
          relayDown[k] += atClinic.length;
          // the next clinic can open it (and only it), knowing who sealed it
          openEnvelope({ recipient: keys[k], recipientName: header.recipient, run: relayRun, senderKey: () => keys[previous].publicKey, blob: atClinic, context: aad });
        }
        previous = k;
        for (const idx of queues[k].splice(0, turn)) {
          const b = o.augment ? o.augment(o.data.train.take(idx), rng) : o.data.train.take(idx);
          const loss = await step(mode, k, b);
          lossSum += loss * idx.length;
          seen += idx.length;
        }
      }
    }
    const val = await evaluate(forward, o.data.val, o.loss, o.evalBatchSize);
    const test = await evaluate(forward, o.data.test, o.loss, o.evalBatchSize);
    const rec: SimEpoch = {
      epoch,
      trainLoss: lossSum / seen,
      val: strip(val),
      test: strip(test),
      seconds: (performance.now() - e0) / 1000,
    };
    history.push(rec);
    const score = o.loss === "mse" || Number.isNaN(val.auc) ? -val.loss : val.auc;
    if (!best || score > best.score) best = { epoch, score, weights: snapshot(pipe.weights()) };
    o.onEpoch?.(rec);
  }
  pipe.load(best!.weights);
  const test = await evaluate(forward, o.data.test, o.loss, o.evalBatchSize);
  await pipe.release();

  const E = o.epochs;
  const clinics: ClinicReport[] = o.clinics.map((idx, k) => {
    const sizes = batchSizes(idx.length, o.batchSize);
    return {
      clinic: k,
      samples: idx.length,
      batchesPerEpoch: sizes.length,
      bytesUpPerEpoch: links[k].bytesUp / E,
      bytesDownPerEpoch: links[k].bytesDown / E,
      relayUpPerEpoch: relayUp[k] / E,
      relayDownPerEpoch: relayDown[k] / E,
      flopsPerEpoch: sizes.reduce((a, b) => a + clinicSegs.reduce((s, i) => s + segmentStepFlops(segments[i], b), 0), 0),
      secondsPerEpoch: clinicSeconds[k] / E,
      workingSetBytes: workingSetBytes(clinicSegs.map((i) => segments[i]), Math.min(o.batchSize, idx.length), o.optimizer),
    };
  });
  const allSizes = o.clinics.flatMap((idx) => batchSizes(idx.length, o.batchSize));
  return {
    history,
    bestEpoch: best!.epoch,
    test: strip(test),
    clinics,
    server: {
      flopsPerEpoch: allSizes.reduce((a, b) => a + serverSegs.reduce((s, i) => s + segmentStepFlops(segments[i], b), 0), 0),
      secondsPerEpoch: serverSeconds / E,
    },
    wireSeconds: links.reduce((a, l) => a + l.seconds, 0),
    seconds: (performance.now() - t0) / 1000,
  };

  /** One mini-batch of clinic `k` through the split, every crossing over the wire. */
  async function step(m: typeof mode, k: number, b: Batch): Promise<number> {
    const link = links[k];
    if (m === "central") {
      return await timed(k, async () => {
        const r = await runners[0].step(b.inputs, b.target);
        opts[0].step(runners[0].params, r.paramGrads);
        return r.loss;
      });
    }
    const [front, server] = [runners[0], runners[1]];
    const cut = segments[0].outputs[0].name;
    const f = await timed(k, () => front.forward(b.inputs));
    let gradCut: Tensor;
    let loss: number;
    if (m === "vanilla") {
      const target = segments[1].targetName!;
      const got = link.up({ [cut]: f.outputs[cut], [target]: b.target });
      const r = await timed(-1, async () => {
        const r = await server.step({ [cut]: got[cut] }, got[target]);
        opts[1].step(server.params, r.paramGrads);
        return r;
      });
      loss = r.loss;
      gradCut = link.down({ [cut]: r.inputGrads[cut] })[cut];
    } else {
      const head = runners[2];
      const hin = segments[1].outputs[0].name;
      const a = link.up({ [cut]: f.outputs[cut] });
      const mid = await timed(-1, () => server.forward({ [cut]: a[cut] }));
      const h = link.down({ [hin]: mid.outputs[hin] });
      const r = await timed(k, async () => {
        const r = await head.step({ [hin]: h[hin] }, b.target);
        opts[2].step(head.params, r.paramGrads);
        return r;
      });
      loss = r.loss;
      const g = link.up({ [hin]: r.inputGrads[hin] });
      const sb = await timed(-1, async () => {
        const sb = await server.backward(mid.saved, { [hin]: g[hin] });
        opts[1].step(server.params, sb.paramGrads);
        return sb;
      });
      gradCut = link.down({ [cut]: sb.inputGrads[cut] })[cut];
    }
    await timed(k, async () => {
      const r = await front.backward(f.saved, { [cut]: gradCut });
      opts[0].step(front.params, r.paramGrads);
    });
    return loss;
  }
}

function strip(m: Metrics): Metrics {
  return { loss: m.loss, auc: m.auc, accuracy: m.accuracy, samples: m.samples };
}
