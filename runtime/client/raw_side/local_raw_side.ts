/**
 * The clinic's raw-data side in-process ({@linkcode LocalRawSide}): the only code that touches
 * patient records. It owns the records, the clinic's segments (the front, and in U-shape the
 * head with its loss), their optimizers, the labels, the seeded batch order and the clinic's
 * checkpoints; it hands out cut-layer activations and takes back cut gradients, behind the
 * {@linkcode RawSide} API (`api.ts`). It serves tests directly and is the body of the
 * sandboxed process (`main.ts`), which `process.ts` proxies.
 *
 * It is a facade over one file per concern: `step_ledger.ts` (retries never step an optimizer
 * twice), `defences.ts` (noise, NoPeek, label protection), `clinic_checkpoint.ts`,
 * `weight_relay.ts` (sealed hand-off to the next clinic), `model_export.ts`, and
 * `input_checks.ts` for what comes from outside.
 *
 * @example
 * ```ts
 * import { LocalRawSide, type LocalRawSideConfig } from "./local_raw_side.ts";
 * import type { Tensor } from "../../../models/tensor.ts";
 * async function oneStep(config: LocalRawSideConfig, server: (a: Tensor, y: Tensor) => Promise<Tensor>) {
 *   const side = await LocalRawSide.create(config);
 *   const { activation, labels } = await side.forward("1:0", 1, 0);
 *   await side.backward("1:0", await server(activation, labels!));
 *   await side.close();
 * }
 * ```
 * @module
 */
import type { Model } from "../../../models/graph/ir.ts";
import type { LossKind } from "../../../models/grad/loss.ts";
import type { Tensor } from "../../../models/tensor.ts";
import { type CompiledSegment, compileModel } from "../../../models/train/compile.ts";
import { createOptimizer, type OptimizerConfig } from "../../../models/train/optimizer.ts";
import type { KeyPair } from "../../../crypto/noise/dh.ts";
import type { Rng } from "../../data/rng.ts";
import type { Batch, TensorDataset } from "../../data/tensor_dataset.ts";
import type { Engine } from "../../engine/mod.ts";
import { SegmentRunner } from "../../train/segment_runner.ts";
import type { DefenceConfig } from "../../privacy/defence_config.ts";
import { writeFileAtomic } from "../../fs/atomic_file.ts";
import { augmentRng, batchIndices, stepsPerEpoch } from "../batch_order.ts";
import type { SegmentSlot } from "../segment_state.ts";
import type { RawSide, RawSideInfo, RawSideMode, WeightsRecipient } from "./api.ts";
import { checkpointDir, type CheckpointPlace, restoreClinicCheckpoint, saveClinicCheckpoint } from "./clinic_checkpoint.ts";
import { checkNoPeekInput, CutDefences, prepareDefences } from "./defences.ts";
import { RawSideError } from "./error.ts";
import { checkIndex, checkStepId, checkTensor, staticDims } from "./input_checks.ts";
import type { TablePreprocessing } from "../../../models/train/table_preprocessing.ts";
import { assembleModel, serverWeightNames } from "./model_export.ts";
import { type HeadResult, type PendingStep, StepLedger, type StepReply } from "./step_ledger.ts";
import { HijackWatch } from "./hijack_watch.ts";
import { isNewer, openWeights, type RelayLedger, sealWeights } from "./weight_relay.ts";
import { Int8Front } from "./int8_front.ts";
import { SecureFront, type SecureFrontCall, type SecureFrontResult } from "./secure_front.ts";

/**
 * Configuration of a {@linkcode LocalRawSide}.
 *
 * @example
 * ```ts
 * import type { LocalRawSideConfig } from "./local_raw_side.ts";
 * import type { Model } from "../../../models/graph/ir.ts";
 * import type { TensorDataset } from "../../data/tensor_dataset.ts";
 * import type { Engine } from "../../engine/mod.ts";
 * function config(data: TensorDataset, model: Model, engine: Engine): LocalRawSideConfig {
 *   return { clinic: "a", data: { train: data, val: data, test: data }, model, cuts: ["cut"], mode: "vanilla",
 *     loss: "bce", optimizer: { kind: "sgd", lr: 0.05 }, seed: 0, batchSize: 64, engine };
 * }
 * ```
 */
export interface LocalRawSideConfig {
  /** This clinic's name (key name; used in checkpoint file names). */
  clinic: string;
  /** This clinic's records, already partitioned by the caller. */
  data: { train: TensorDataset; val: TensorDataset; test: TensorDataset };
  /** The whole model; the clinic runs segment 0 and, in U-shape, the last segment. */
  model: Model;
  /** Cut tensors: one for vanilla, two for U-shape. */
  cuts: readonly string[];
  mode: RawSideMode;
  loss: LossKind;
  optimizer: OptimizerConfig;
  /** Seed of the batch order and augmentation (and of `compileModel`). */
  seed: number;
  batchSize: number;
  /** Rows per evaluation batch (default 256). */
  evalBatchSize?: number;
  /** The engine the segments run on (wasm in the sandbox); the caller disposes it. */
  engine: Engine;
  /** Directory of this clinic's checkpoints (needed by `checkpoint`/`restore`). */
  checkpointDir?: string;
  /** This clinic's static key pair (needed by `exportWeights` and `importWeights`). */
  keyPair?: KeyPair;
  /** Applied to each training batch (e.g. random image shift) with that batch's own generator. */
  augment?: (batch: Batch, rng: Rng) => Batch;
  /** The clinic's policy: whether `exportModel` may assemble the full model (default false). */
  allowExport?: boolean;
  /** A table's scaling and vocabularies, put inside the exported model (it then takes raw columns). */
  exportPreprocessing?: TablePreprocessing;
  /** Privacy defences at the cut (default none); checked with `parseDefenceConfig`. */
  defence?: DefenceConfig;
  /**
   * Quantise the cut activation (and dequantise its gradient) inside the front's graphs, its
   * int8 record written at DEFLATE `level` (`int8_front.ts`; the clinic codec is then int8).
   * Ignored when a noise or NoPeek defence changes the activation after the graph. Default off.
   */
  int8Cut?: { level: number };
}
/**
 * Checks the scalar settings of a config: mode and cut count, batch sizes, seed, a non-empty
 * training split.
 */
function checkSettings(config: LocalRawSideConfig, bad: (msg: string) => RawSideError): void {
  if (config.mode !== "vanilla" && config.mode !== "ushaped") {
    throw bad(`mode must be "vanilla" or "ushaped", got ${JSON.stringify(config.mode)}`);
  }
  const wantCuts = config.mode === "vanilla" ? 1 : 2;
  if (config.cuts.length !== wantCuts) {
    throw bad(`mode ${config.mode} needs ${wantCuts} cut(s), got ${config.cuts.length}`);
  }
  if (!Number.isSafeInteger(config.batchSize) || config.batchSize < 1) {
    throw bad(`batchSize must be an integer >= 1, got ${config.batchSize}`);
  }
  if (
    config.evalBatchSize !== undefined &&
    (!Number.isSafeInteger(config.evalBatchSize) || config.evalBatchSize < 1)
  ) {
    throw bad(`evalBatchSize must be an integer >= 1, got ${config.evalBatchSize}`);
  }
  if (!Number.isSafeInteger(config.seed)) {
    throw bad(`seed must be a safe integer, got ${config.seed}`);
  }
  if (config.data.train.size < 1) throw bad("the training split is empty");
}

/** Refuses data whose splits lack an input of the front segment. */
function checkDataInputs(config: LocalRawSideConfig, front: CompiledSegment, bad: (msg: string) => RawSideError): void {
  for (const split of ["train", "val", "test"] as const) {
    for (const i of front.inputs) {
      if (!(i.name in config.data[split].inputs)) {
        throw bad(
          `the ${split} split has no input ${JSON.stringify(i.name)} (it has ${
            Object.keys(config.data[split].inputs).join(", ")
          })`,
        );
      }
    }
  }
}

/** Runs `f`, turning any error into `bad(its message)`. */
function orBad<T>(f: () => T, bad: (msg: string) => RawSideError): T {
  try {
    return f();
  } catch (e) {
    throw bad((e as Error).message);
  }
}

/** The compiled pieces a {@linkcode LocalRawSide} is built from. */
interface Parts {
  front: SegmentSlot;
  head?: SegmentSlot;
  serverNames: ReadonlySet<string>;
  defence: DefenceConfig;
  int8?: Int8Front;
}

/**
 * The in-process raw-data side. Create with {@linkcode LocalRawSide.create}.
 *
 * @example
 * ```ts
 * import { LocalRawSide, type LocalRawSideConfig } from "./local_raw_side.ts";
 * async function steps(config: LocalRawSideConfig): Promise<number> {
 *   const side = await LocalRawSide.create(config);
 *   try {
 *     return (await side.info()).stepsPerEpoch;
 *   } finally {
 *     await side.close();
 *   }
 * }
 * ```
 */
export class LocalRawSide implements RawSide {
  readonly #c: LocalRawSideConfig;
  readonly #front: SegmentSlot;
  readonly #head?: SegmentSlot;
  readonly #cutName: string;
  readonly #headInputName?: string;
  readonly #inputNames: string[];
  readonly #evalBatchSize: number;
  /** Parameter and buffer names of the segment(s) the server runs (what `exportModel` needs from it). */
  readonly #serverNames: ReadonlySet<string>;
  readonly #steps = new StepLedger();
  /** Sealing counter and last accepted relayed weights per sender; saved with each checkpoint. */
  readonly #relay: RelayLedger = { seq: 0, accepted: new Map() };
  #secure: SecureFront | undefined;
  readonly #defences: CutDefences;
  /** The hijack guard's decoys (`defence.hijackGuard`, vanilla only). */
  readonly #watch?: HijackWatch;
  /** The front with its cut quantised in the graph (`config.int8Cut`), over the same weights. */
  readonly #int8?: Int8Front;
  #closed = false;

  private constructor(c: LocalRawSideConfig, parts: Parts) {
    this.#c = c;
    this.#defences = new CutDefences(parts.defence, c.seed, parts.front.runner, c.keyPair);
    this.#serverNames = parts.serverNames;
    this.#front = parts.front;
    this.#head = parts.head;
    this.#int8 = parts.int8;
    this.#cutName = parts.front.runner.segment.outputs[0].name;
    this.#headInputName = parts.head?.runner.segment.inputs[0].name;
    this.#inputNames = parts.front.runner.segment.inputs.map((i) => i.name);
    this.#evalBatchSize = c.evalBatchSize ?? 256;
    if (parts.defence.hijackGuard) this.#watch = new HijackWatch(parts.defence.hijackGuard, c.seed);
  }

  /**
   * Compiles the model and binds the clinic's segments to the engine.
   *
   * @throws {RawSideError} `CONFIG_INVALID` for a cut count that does not fit the mode, data
   *   without the model's inputs, a bad batch size or seed, or defences that do not apply
   * @example
   * ```ts
   * import { LocalRawSide, type LocalRawSideConfig } from "./local_raw_side.ts";
   * function ushaped(config: LocalRawSideConfig, cuts: string[]) {
   *   return LocalRawSide.create({ ...config, mode: "ushaped", cuts });
   * }
   * ```
   */
  static async create(config: LocalRawSideConfig): Promise<LocalRawSide> {
    const bad = (msg: string) =>
      new RawSideError("CONFIG_INVALID", `clinic ${JSON.stringify(config.clinic)}: ${msg}`);
    checkSettings(config, bad);
    const { defence, model } = orBad(() => prepareDefences(config.defence, config.mode, config.model), bad);
    const segments = compileModel(model, { loss: config.loss, cuts: config.cuts, seed: config.seed });
    const frontSeg = segments[0];
    orBad(() => checkNoPeekInput(defence, frontSeg), bad);
    checkDataInputs(config, frontSeg, bad);
    const front: SegmentSlot = {
      role: "front",
      runner: await SegmentRunner.create(config.engine, frontSeg),
      optimizer: createOptimizer(config.optimizer),
    };
    const head: SegmentSlot | undefined = config.mode === "ushaped"
      ? {
        role: "head",
        runner: await SegmentRunner.create(config.engine, segments[segments.length - 1]),
        optimizer: createOptimizer(config.optimizer),
      }
      : undefined;
    const serverNames = serverWeightNames(segments, config.mode);
    // The graph cannot quantise what a defence changes after it.
    // The guard's decoys reuse the real step's float activation: the JavaScript codec serves them.
    const int8 = config.int8Cut && !defence.noise && !defence.nopeek && !defence.hijackGuard
      ? await Int8Front.create(config.engine, segments, front.runner, config.int8Cut.level)
      : undefined;
    // The model as this clinic runs it (with its input defence), so that an export predicts
    // as the trained clinic did.
    return new LocalRawSide({ ...config, model }, { front, head, serverNames, defence, int8 });
  }

  /**
   * Loads the clinic segments' sessions now (forward, backward, inference; the head's step),
   * so the first training step of a turn does not pay for building them — the same warm-up
   * central training gets.
   *
   * @example
   * ```ts
   * import type { LocalRawSide } from "./local_raw_side.ts";
   * async function ready(side: LocalRawSide) { await side.warm(); }
   * ```
   */
  async warm(): Promise<void> {
    for (const slot of this.#slots()) await slot.runner.warm();
    await this.#int8?.runner.warm();
  }

  #slots(): SegmentSlot[] {
    return this.#head ? [this.#front, this.#head] : [this.#front];
  }

  #place(): CheckpointPlace {
    return { dir: this.#c.checkpointDir, clinic: this.#c.clinic, mode: this.#c.mode };
  }

  #open(): void {
    if (this.#closed) {
      throw new RawSideError(
        "CLOSED",
        `raw side of clinic ${JSON.stringify(this.#c.clinic)} is closed`,
      );
    }
  }

  #needHead(method: string): SegmentSlot {
    if (!this.#head) {
      throw new RawSideError(
        "WRONG_MODE",
        `${method}() needs mode ushaped; clinic ${JSON.stringify(this.#c.clinic)} runs vanilla`,
      );
    }
    return this.#head;
  }

  /** {@inheritDoc RawSide.info} */
  // deno-lint-ignore require-await
  async info(): Promise<RawSideInfo> {
    const { clinic, data, mode, batchSize } = this.#c;
    return {
      clinic,
      trainSize: data.train.size,
      valSize: data.val.size,
      testSize: data.test.size,
      mode,
      stepsPerEpoch: stepsPerEpoch(data.train.size, batchSize),
      inputNames: [...this.#inputNames],
      batchSize,
      evalBatchSize: this.#evalBatchSize,
      ...(this.#watch ? { decoys: { ...this.#watch.schedule } } : {}),
    };
  }

  /** {@inheritDoc RawSide.forward} */
  async forward(stepId: string, epoch: number, batch: number, decoy = false): Promise<StepReply> {
    this.#open();
    checkStepId(stepId);
    checkIndex(epoch, "epoch");
    checkIndex(batch, "batch");
    const known = this.#steps.get(stepId);
    if (known) {
      if (known.epoch !== epoch || known.batch !== batch || (known.decoy === true) !== decoy) {
        const what = (d: boolean | undefined) => (d ? "the decoy of " : "");
        throw new RawSideError(
          "STEP_MISMATCH",
          `step ${
            JSON.stringify(stepId)
          } was ${what(known.decoy)}epoch ${known.epoch} batch ${known.batch}, now asked for ${what(decoy)}epoch ${epoch} batch ${batch}`,
        );
      }
      // A retried forward must not run the front again (BatchNorm statistics would move twice).
      const reply = this.#steps.replyOf(stepId);
      if (reply) return reply;
      throw new RawSideError(
        "UNKNOWN_STEP",
        `step ${JSON.stringify(stepId)} is applied and its activation no longer kept`,
      );
    }
    if (decoy) return await this.#decoyForward(stepId, epoch, batch);
    this.#defences.checkEpoch(epoch);
    const { data, batchSize, seed, augment } = this.#c;
    let idx: Uint32Array;
    try {
      idx = batchIndices(seed, epoch, data.train.size, batchSize, batch);
    } catch (e) {
      throw new RawSideError("OUT_OF_RANGE", (e as Error).message);
    }
    let b = data.train.take(idx);
    if (augment) b = augment(b, augmentRng(seed, epoch, batch));
    const inputs: Record<string, Tensor> = {};
    for (const n of this.#inputNames) inputs[n] = b.inputs[n];
    const f = this.#int8
      ? await this.#int8.forward(inputs)
      : await this.#front.runner.forward(inputs).then((r) => ({ activation: r.outputs[this.#cutName], saved: r.saved }));
    const clean = f.activation;
    const activation = this.#defences.sendable(clean, `train/${epoch}/${batch}`);
    const reply = this.#c.mode === "vanilla" ? { activation, labels: this.#defences.labelsToSend(b.target, idx) } : { activation };
    const x = this.#defences.nopeekInput;
    this.#steps.addPending(stepId, {
      epoch,
      batch,
      saved: f.saved,
      target: b.target,
      activation: clean,
      x: x ? inputs[x] : undefined,
      reply,
    });
    if (this.#watch?.follows(epoch, batch)) this.#watch.keepReply(epoch, batch, reply);
    return reply;
  }

  /**
   * The decoy of batch `batch` of `epoch` (`hijack_watch.ts`): the regular step's reply with
   * labels flipped; after a restart that lost it, the batch's inference-mode activation.
   */
  async #decoyForward(stepId: string, epoch: number, batch: number): Promise<StepReply> {
    const watch = this.#watch;
    if (!watch) {
      throw new RawSideError("WRONG_MODE", `decoy step ${JSON.stringify(stepId)}: clinic ${JSON.stringify(this.#c.clinic)} has no defence.hijackGuard`);
    }
    if (!watch.follows(epoch, batch)) {
      throw new RawSideError("STEP_MISMATCH", `decoy step ${JSON.stringify(stepId)}: batch ${batch} of epoch ${epoch} has no decoy in the schedule`);
    }
    let regular = watch.regularReply(epoch, batch);
    if (!regular) {
      const { data, batchSize, seed } = this.#c;
      let idx: Uint32Array;
      try {
        idx = batchIndices(seed, epoch, data.train.size, batchSize, batch);
      } catch (e) {
        throw new RawSideError("OUT_OF_RANGE", (e as Error).message);
      }
      const b = data.train.take(idx);
      const inputs: Record<string, Tensor> = {};
      for (const n of this.#inputNames) inputs[n] = b.inputs[n];
      const z = (await this.#front.runner.infer(inputs))[this.#cutName];
      regular = { activation: this.#defences.sendable(z, `train/${epoch}/${batch}`), labels: this.#defences.labelsToSend(b.target, idx) };
    }
    const reply = watch.decoyOf(epoch, batch, regular);
    this.#steps.addPending(stepId, { epoch, batch, saved: {}, target: reply.labels!, activation: reply.activation, reply, decoy: true });
    return reply;
  }

  /** A decoy's backward: score its gradient (never applied), mark it done, then raise any alarm. */
  #decoyBackward(stepId: string, entry: PendingStep, cutGrad: Tensor): void {
    checkTensor(cutGrad, "cut gradient", entry.activation.dims);
    this.#steps.markDone(stepId);
    this.#watch!.score(stepId, entry.epoch, entry.batch, cutGrad);
  }

  /** {@inheritDoc RawSide.head} */
  async head(stepId: string, headInput: Tensor): Promise<HeadResult> {
    this.#open();
    const head = this.#needHead("head");
    checkStepId(stepId);
    const entry = this.#steps.get(stepId);
    if (entry?.state !== "pending") {
      if (entry?.head) return entry.head; // applied: its first result
      throw new RawSideError(
        "UNKNOWN_STEP",
        `no forward pass is waiting for step ${JSON.stringify(stepId)}`,
      );
    }
    if (entry.head) return entry.head; // retried: the head optimizer already stepped
    checkTensor(headInput, "head input", staticDims(head.runner.segment, 0), entry.target.dims[0]);
    const r = await head.runner.step({ [this.#headInputName!]: headInput }, entry.target);
    head.optimizer.step(head.runner.params, r.paramGrads);
    const g = r.inputGrads[this.#headInputName!];
    if (!g) {
      throw new RawSideError("REMOTE", "the head's step graph has no input gradient");
    }
    entry.head = { loss: r.loss, gradHeadInput: this.#defences.protectHeadGradient(g, entry.target, `${entry.epoch}/${entry.batch}`) };
    return entry.head;
  }

  /** {@inheritDoc RawSide.backward} */
  async backward(stepId: string, cutGrad: Tensor): Promise<void> {
    this.#open();
    checkStepId(stepId);
    const entry = this.#steps.get(stepId);
    if (entry?.state === "done") return; // retried: never apply the optimizer twice
    if (!entry) {
      throw new RawSideError(
        "UNKNOWN_STEP",
        `no forward pass is waiting for step ${JSON.stringify(stepId)}`,
      );
    }
    if (this.#head && !entry.head) {
      throw new RawSideError(
        "OUT_OF_ORDER",
        `step ${JSON.stringify(stepId)}: head() must run before backward() in U-shape`,
      );
    }
    if (entry.decoy) return this.#decoyBackward(stepId, entry, cutGrad);
    let b;
    if (this.#int8) {
      b = await this.#int8.backward(entry.saved, cutGrad, entry.activation.dims);
    } else {
      checkTensor(cutGrad, "cut gradient", entry.activation.dims);
      const g = await this.#defences.withNoPeek(entry, cutGrad);
      b = await this.#front.runner.backward(entry.saved, { [this.#cutName]: g });
    }
    // The guard keeps the real step's gradient (checked above) to score the decoy against.
    if (this.#watch?.follows(entry.epoch, entry.batch)) this.#watch.keepGrad(entry.epoch, entry.batch, cutGrad);
    this.#front.optimizer.step(this.#front.runner.params, b.paramGrads);
    this.#steps.markDone(stepId);
  }

  /** {@inheritDoc RawSide.evalForward} */
  async evalForward(
    split: "val" | "test",
    batch: number,
  ): Promise<{ activation: Tensor; labels: Tensor }> {
    this.#open();
    if (split !== "val" && split !== "test") {
      throw new RawSideError(
        "OUT_OF_RANGE",
        `split must be "val" or "test", got ${JSON.stringify(split)}`,
      );
    }
    checkIndex(batch, "batch");
    const ds = this.#c.data[split];
    const n = this.#evalBatchSize, start = batch * n;
    if (start >= ds.size) {
      throw new RawSideError(
        "OUT_OF_RANGE",
        `${split} batch ${batch} is out of range: ${split} has ${
          Math.ceil(ds.size / n)
        } batch(es) of ${n}`,
      );
    }
    const idx = Array.from({ length: Math.min(n, ds.size - start) }, (_, k) => start + k);
    const b = ds.take(idx);
    const inputs: Record<string, Tensor> = {};
    for (const name of this.#inputNames) inputs[name] = b.inputs[name];
    const activation = this.#int8
      ? await this.#int8.infer(inputs)
      : (await this.#front.runner.infer(inputs))[this.#cutName];
    // Evaluation too: the server must never see a clean activation when noise is on.
    return { activation: this.#defences.sendable(activation, `${split}/${batch}`), labels: b.target };
  }

  /** {@inheritDoc RawSide.evalHead} */
  async evalHead(headInput: Tensor): Promise<Tensor> {
    this.#open();
    const head = this.#needHead("evalHead");
    checkTensor(headInput, "head input", staticDims(head.runner.segment, 0));
    const out = await head.runner.infer({ [this.#headInputName!]: headInput });
    return out[head.runner.segment.outputs[0].name];
  }

  /**
   * {@inheritDoc RawSide.checkpoint}
   *
   * The format and its commit point: `clinic_checkpoint.ts`.
   */
  async checkpoint(epoch: number): Promise<void> {
    this.#open();
    checkIndex(epoch, "epoch");
    await saveClinicCheckpoint(this.#place(), epoch, this.#slots(), this.#relay);
  }

  /** {@inheritDoc RawSide.restore} */
  async restore(): Promise<{ epoch: number } | null> {
    this.#open();
    const r = await restoreClinicCheckpoint(this.#place(), this.#slots());
    if (!r) return null;
    // The steps in flight belonged to the weights just replaced.
    this.#steps.clear();
    // The ledger only moves forward: a rollback of the weights is not a rollback of what was
    // accepted or sealed (the checkpoint's ledger is never newer than this process's).
    this.#relay.seq = Math.max(this.#relay.seq, r.relay.seq);
    for (const [who, rec] of r.relay.accepted) {
      if (isNewer(rec, this.#relay.accepted.get(who))) this.#relay.accepted.set(who, rec);
    }
    return { epoch: r.epoch };
  }

  /** {@inheritDoc RawSide.exportWeights} */
  // deno-lint-ignore require-await
  async exportWeights(to: WeightsRecipient, binding: { run: Uint8Array; epoch: number }): Promise<Uint8Array> {
    this.#open();
    checkIndex(binding.epoch, "epoch");
    const seq = this.#relay.seq + 1;
    const { clinic, keyPair, mode } = this.#c;
    const sealed = sealWeights(this.#slots(), mode, { me: clinic, keyPair, to, run: binding.run, epoch: binding.epoch, seq });
    this.#relay.seq = seq;
    return sealed;
  }

  /** {@inheritDoc RawSide.importWeights} */
  // deno-lint-ignore require-await
  async importWeights(
    sealed: Uint8Array,
    from: { run: Uint8Array; peers: ReadonlyMap<string, Uint8Array>; mix?: number },
  ): Promise<{ sender: string; epoch: number; seq: number }> {
    this.#open();
    const { clinic, keyPair, mode } = this.#c;
    const got = openWeights(this.#slots(), mode, {
      me: clinic,
      keyPair,
      run: from.run,
      peers: from.peers,
      accepted: this.#relay.accepted,
      mix: from.mix,
    }, sealed);
    this.#relay.accepted.set(got.sender, { epoch: got.epoch, seq: got.seq });
    return got;
  }

  /** {@inheritDoc RawSide.secureFront} */
  secureFront(call: SecureFrontCall): Promise<SecureFrontResult> {
    this.#open();
    this.#secure ??= new SecureFront(this.#c.clinic, this.#c.keyPair);
    return this.#secure.call(this.#slots(), call);
  }

  /**
   * {@inheritDoc RawSide.exportModel}
   *
   * The checks of the server's weights: `model_export.ts`. The file is
   * `<checkpointDir>/<clinic>.export.onnx`, written atomically: the checkpoint directory is
   * the only place this process may write.
   */
  async exportModel(serverWeights: Uint8Array): Promise<{ file: string; bytes: number }> {
    this.#open();
    if (this.#c.allowExport !== true) {
      throw new RawSideError(
        "EXPORT_FORBIDDEN",
        `clinic ${JSON.stringify(this.#c.clinic)}: policy.allowExport is false; the full model is not assembled`,
      );
    }
    const dir = checkpointDir(this.#place());
    const bytes = assembleModel(this.#c.model, this.weights(), this.#serverNames, serverWeights, this.#c.exportPreprocessing);
    const file = `${this.#c.clinic}.export.onnx`;
    await writeFileAtomic(`${dir}/${file}`, bytes);
    return { file, bytes: bytes.length };
  }

  /**
   * A copy of the clinic segments' parameters and buffers by initializer name (for reports,
   * tests and a policy-permitted full-model export; never sent anywhere by the raw side).
   *
   * @example
   * ```ts
   * import type { LocalRawSide } from "./local_raw_side.ts";
   * function names(side: LocalRawSide): string[] { return [...side.weights().keys()]; }
   * ```
   */
  weights(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const { runner } of this.#slots()) {
      for (const m of [runner.params, runner.buffers]) {
        for (const [k, v] of m) {
          out.set(k, { dtype: v.dtype, dims: [...v.dims], data: v.data.slice() } as Tensor);
        }
      }
    }
    return out;
  }

  /**
   * The hijack guard's decoy scores so far (empty without `defence.hijackGuard`); for reports,
   * tests and benches, never sent anywhere.
   *
   * @example
   * ```ts
   * import type { LocalRawSide } from "./local_raw_side.ts";
   * function lowest(side: LocalRawSide): number { return Math.min(...side.guardScores().map((s) => s.score)); }
   * ```
   */
  guardScores(): { step: string; score: number }[] {
    return [...(this.#watch?.history ?? [])];
  }

  /** {@inheritDoc RawSide.close} */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#steps.clear();
    for (const { runner } of this.#slots()) await runner.release();
    await this.#int8?.runner.release();
    await this.#defences.release();
  }
}
